//! Two `softtoken-server` processes on one PostgreSQL database: acceptance and
//! lockout are decided in the database, so they hold across processes.

mod common;

use common::process::{data_dir, now, wait_for_room, Api, Place, Proc};
use common::{outcome, PgDatabase};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Rounds, each with a fresh token and contract.
const ROUNDS: usize = 3;

/// Two healthy server processes on one fresh PostgreSQL database with one bank; the database,
/// the data directory and the processes last as long as this does.
struct TwoProcesses {
    apis: [Api; 2],
    bank: String,
    branch: String,
    _processes: [Proc; 2],
    _dir: tempfile::TempDir,
    _db: PgDatabase,
}

/// Starts [`TwoProcesses`] for a bank named `bank`, or `None` without PostgreSQL (outside CI).
async fn two_processes(bank: &str) -> Option<TwoProcesses> {
    let db = PgDatabase::create(&common::postgres_url()).await?;
    let dir = data_dir();
    let place = Place {
        data_dir: dir.path().to_path_buf(),
        database: Some(db.url.clone()),
    };
    let (bank, branch) = place.add_bank(bank);
    let processes = [place.spawn(&[]), place.spawn(&[])];
    assert_ne!(processes[0].base, processes[1].base);
    let apis = [Api::new(&processes[0].base), Api::new(&processes[1].base)];
    for api in &apis {
        assert!(api.wait_healthy(std::time::Duration::from_secs(10)).await);
    }
    Some(TwoProcesses {
        apis,
        bank,
        branch,
        _processes: processes,
        _dir: dir,
        _db: db,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_one_postgres_accept_once_and_lock_at_exactly_ten() {
    let Some(two) = two_processes("Two Process Bank").await else {
        return;
    };
    let TwoProcesses {
        apis, bank, branch, ..
    } = &two;
    for round in 0..ROUNDS {
        let contract = format!("c{round}");
        let token = apis[round % 2].issue().await;
        // Registration and the logins fall in one step: the registration takes
        // the previous step's code, the logins the current one.
        wait_for_room(3);
        let step_time = now();
        apis[(round + 1) % 2]
            .register_previous(bank, &contract, &token, step_time)
            .await;
        let code = token.code_at(step_time);

        // 16 clients, 8 at each process, the same right code at once.
        let gate = Arc::new(tokio::sync::Barrier::new(16));
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (api, gate, bank, contract, code) = (
                apis[i % 2].clone(),
                gate.clone(),
                bank.clone(),
                contract.clone(),
                code.clone(),
            );
            tasks.push(tokio::spawn(async move {
                gate.wait().await;
                api.login(&bank, &contract, &code).await
            }));
        }
        let mut outcomes = BTreeMap::<String, usize>::new();
        for t in tasks {
            *outcomes.entry(t.await.expect("task")).or_default() += 1;
        }
        eprintln!("round {round}: 16 same right codes across two processes: {outcomes:?}");
        assert_eq!(outcomes.get("accepted"), Some(&1), "{outcomes:?}");
        assert_eq!(outcomes.get("replayed"), Some(&15), "{outcomes:?}");

        // 40 wrong codes across both at once: exactly 10 counted, then locked.
        let gate = Arc::new(tokio::sync::Barrier::new(40));
        let mut tasks = Vec::new();
        for i in 0..40u32 {
            let wrong = token.wrong_at(now(), i);
            let (api, gate, bank, contract) = (
                apis[i as usize % 2].clone(),
                gate.clone(),
                bank.clone(),
                contract.clone(),
            );
            tasks.push(tokio::spawn(async move {
                gate.wait().await;
                let (status, body) = api
                    .op(&bank, &contract, "login", json!({"code": wrong}))
                    .await
                    .expect("an answer");
                assert_eq!(status, 200, "{body}");
                (outcome(&body), body["attempts_left"].as_u64())
            }));
        }
        let mut outcomes = BTreeMap::<String, usize>::new();
        let mut attempts_left = Vec::new();
        for t in tasks {
            let (o, left) = t.await.expect("task");
            if o == "wrong_code" {
                attempts_left.push(left.expect("attempts_left with wrong_code"));
            }
            *outcomes.entry(o).or_default() += 1;
        }
        attempts_left.sort_unstable();
        eprintln!("round {round}: 40 wrong codes across two processes: {outcomes:?}");
        assert_eq!(outcomes.get("wrong_code"), Some(&10), "{outcomes:?}");
        assert_eq!(outcomes.get("locked"), Some(&30), "{outcomes:?}");
        assert_eq!(
            attempts_left,
            (0..10).collect::<Vec<u64>>(),
            "each count of attempts left answered exactly once"
        );
        for api in apis {
            let status = api.status(bank, &contract).await;
            assert_eq!(status["state"], "locked", "{status}");
            assert_eq!(status["failures"], 10, "{status}");
            assert_eq!(status["attempts_left"], 0, "{status}");
        }
        // The audit has the ten failures and the one acceptance, no more.
        let events = apis[0].audit(branch, &contract).await;
        let count = |o: &str| events.iter().filter(|e| e["outcome"] == o).count();
        assert_eq!(count("wrong_code"), 10, "{events:?}");
        assert_eq!(
            count("accepted"),
            2,
            "the registration and one login: {events:?}"
        );
        // Locked means locked at both, even for the right code of a later step.
        for api in apis {
            let next = token.code_at(now() + 30);
            assert_eq!(api.login(bank, &contract, &next).await, "locked");
        }
    }
}

/// What one process remembers of a contract between code checks never outlives a change made
/// through the other: a code accepted there, a suspension, failures counted there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_never_decides_on_what_the_other_changed() {
    let Some(two) = two_processes("Two Views Bank").await else {
        return;
    };
    let TwoProcesses {
        apis: [a, b],
        bank,
        branch,
        ..
    } = &two;
    let token = a.issue().await;
    wait_for_room(5);
    let t = now();
    a.register_previous(bank, "c", &token, t).await;
    assert_eq!(a.login(bank, "c", &token.code_at(t)).await, "accepted");
    // The next step's code, accepted at B, is a replay at A, which last saw the step before.
    let next = token.code_at(t + 30);
    assert_eq!(b.login(bank, "c", &next).await, "accepted");
    assert_eq!(a.login(bank, "c", &next).await, "replayed");

    let branch_op = |api: &Api, op: &'static str| {
        let (api, branch) = (api.clone(), branch.clone());
        async move {
            let (status, body) = api
                .op(&branch, "c", op, json!({}))
                .await
                .expect("an answer");
            assert_eq!(status, 200, "{op}: {body}");
        }
    };
    branch_op(b, "suspend").await;
    assert_eq!(
        a.login(bank, "c", &token.wrong_at(now(), 1)).await,
        "suspended"
    );
    branch_op(b, "resume").await;

    // Three failures counted at B, then one at A: A counts on from B's three.
    let mut left = None;
    for i in 0..3 {
        let (_, body) = b
            .op(
                bank,
                "c",
                "login",
                json!({"code": token.wrong_at(now(), i)}),
            )
            .await
            .expect("an answer");
        assert_eq!(outcome(&body), "wrong_code", "{body}");
        left = body["attempts_left"].as_u64();
    }
    let (_, body) = a
        .op(
            bank,
            "c",
            "login",
            json!({"code": token.wrong_at(now(), 3)}),
        )
        .await
        .expect("an answer");
    assert_eq!(outcome(&body), "wrong_code", "{body}");
    assert_eq!(
        body["attempts_left"].as_u64(),
        left.map(|l| l - 1),
        "{body}"
    );
    let status = a.status(bank, "c").await;
    assert_eq!(status["failures"], 4, "{status}");
}
