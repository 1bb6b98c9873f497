//! kill -9 during a load run, then start again on the same database (SQLite
//! and PostgreSQL): nothing acknowledged is lost, nothing accepted is accepted
//! again.

mod common;

use common::process::{data_dir, now, wait_for_room, Api, Place};
use common::{outcome, PgDatabase, Token};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Contracts bound before the load, logged in during it.
const LOGINS: usize = 24;
/// Contracts bound before the load, sent only wrong codes during it.
const LOCKS: usize = 6;
/// Contracts registered during the load.
const REGISTERS: usize = 24;
/// Wrong codes sent per lock contract (more than the threshold of 10).
const WRONG_EACH: usize = 14;
/// Acknowledged answers after which the server is killed.
const KILL_AFTER: usize = 60;

/// One request of the load run.
#[derive(Debug, Clone)]
enum Op {
    Login {
        contract: String,
        code: String,
    },
    Wrong {
        contract: String,
        code: String,
    },
    Register {
        contract: String,
        serial: String,
        code: String,
    },
}

/// What the load saw per contract: acknowledged (200) outcomes.
type Seen = Arc<Mutex<BTreeMap<String, Vec<(String, Option<u64>)>>>>;

async fn kill_and_restart(place: Place) {
    let (bank, branch) = place.add_bank("Restart Bank");
    let mut server = place.spawn(&[]);
    let api = Api::new(&server.base);
    let mut tokens: Vec<Token> = Vec::new();
    for _ in 0..LOGINS + LOCKS + REGISTERS {
        tokens.push(api.issue().await);
    }
    // The registrations fall in this step; the load's codes (this step's)
    // stay in the window until the end of the next, well after the restart.
    wait_for_room(5);
    let step_time = now();
    for (i, token) in tokens[..LOGINS + LOCKS].iter().enumerate() {
        api.register_previous(&bank, &format!("a{i}"), token, step_time)
            .await;
    }
    // Two contracts locked before the load: the lockout must survive the kill.
    for (i, token) in tokens[LOGINS..LOGINS + 2].iter().enumerate() {
        let c = format!("a{}", LOGINS + i);
        for k in 0..10u32 {
            let (st, answer) = api
                .op(
                    &bank,
                    &c,
                    "login",
                    json!({"code": token.wrong_at(step_time, 200 + k)}),
                )
                .await
                .expect("an answer");
            assert_eq!(
                (st, outcome(&answer)),
                (200, "wrong_code".into()),
                "{answer}"
            );
        }
        assert_eq!(api.status(&bank, &c).await["state"], "locked");
    }
    let mut ops = Vec::new();
    for (i, token) in tokens[..LOGINS].iter().enumerate() {
        // Each right code twice: at most one acceptance.
        for _ in 0..2 {
            ops.push(Op::Login {
                contract: format!("a{i}"),
                code: token.code_at(step_time),
            });
        }
    }
    for (i, token) in tokens[LOGINS..LOGINS + LOCKS].iter().enumerate() {
        for k in 0..WRONG_EACH {
            ops.push(Op::Wrong {
                contract: format!("a{}", LOGINS + i),
                code: token.wrong_at(step_time, k as u32),
            });
        }
    }
    for (j, token) in tokens[LOGINS + LOCKS..].iter().enumerate() {
        ops.push(Op::Register {
            contract: format!("b{j}"),
            serial: token.serial.clone(),
            code: token.code_at(step_time),
        });
    }
    // Interleave the kinds so the kill falls in the middle of each.
    let n = ops.len();
    let mut order: Vec<usize> = (0..n).map(|i| (i * 37 + 11) % n).collect();
    if order
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        != n
    {
        order = (0..n).collect();
    }
    let queue: Arc<Vec<Op>> = Arc::new(order.into_iter().map(|i| ops[i].clone()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let unanswered = Arc::new(AtomicUsize::new(0));
    let seen: Seen = Arc::default();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (api, bank, queue, next, acked, unanswered, seen) = (
            api.clone(),
            bank.clone(),
            queue.clone(),
            next.clone(),
            acked.clone(),
            unanswered.clone(),
            seen.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(op) = queue.get(i) else { break };
                let (contract, op_name, body) = match op {
                    Op::Login { contract, code } | Op::Wrong { contract, code } => {
                        (contract, "login", json!({"code": code}))
                    }
                    Op::Register {
                        contract,
                        serial,
                        code,
                    } => (
                        contract,
                        "register",
                        json!({"serial": serial, "code": code}),
                    ),
                };
                match api.op(&bank, contract, op_name, body).await {
                    Ok((200, answer)) => {
                        seen.lock()
                            .expect("lock")
                            .entry(contract.clone())
                            .or_default()
                            .push((outcome(&answer), answer["attempts_left"].as_u64()));
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok((status, answer)) => panic!("{op:?}: {status} {answer}"),
                    Err(_) => {
                        // Killed: the request's fate is unknown.
                        unanswered.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
            }
        }));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while acked.load(Ordering::SeqCst) < KILL_AFTER && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.kill9();
    for t in tasks {
        t.await.expect("load task");
    }
    let seen = Arc::try_unwrap(seen)
        .expect("tasks done")
        .into_inner()
        .expect("lock");
    let acked = acked.load(Ordering::SeqCst);
    eprintln!(
        "killed after {acked} acknowledged answers of {}; {} requests unanswered",
        queue.len(),
        unanswered.load(Ordering::SeqCst)
    );
    assert!(
        acked >= KILL_AFTER && acked < queue.len(),
        "the kill fell during the load"
    );

    let server = place.spawn(&[]);
    let api = Api::new(&server.base);
    assert!(api.wait_healthy(Duration::from_secs(10)).await);
    let outcomes = |c: &str| seen.get(c).cloned().unwrap_or_default();
    let count = |c: &str, o: &str| outcomes(c).iter().filter(|(x, _)| x == o).count();
    let mut report = BTreeMap::<&str, usize>::new();
    // Bindings made before the load survive, and each right code was accepted at most once.
    for (i, token) in tokens[..LOGINS].iter().enumerate() {
        let c = format!("a{i}");
        let status = api.status(&bank, &c).await;
        assert_eq!(status["serial"], token.serial.as_str(), "{c}: {status}");
        assert_eq!(status["state"], "active", "{c}: {status}");
        let before = count(&c, "accepted");
        assert!(before <= 1, "{c}: {:?}", outcomes(&c));
        let again = api.login(&bank, &c, &token.code_at(step_time)).await;
        if before == 1 {
            assert_eq!(
                again, "replayed",
                "{c}: accepted before the kill, accepted again after"
            );
            *report
                .entry("logins acknowledged before the kill, replayed after")
                .or_default() += 1;
        } else {
            assert!(again == "accepted" || again == "replayed", "{c}: {again}");
            // Whichever it was, the code is used up now.
            assert_eq!(
                api.login(&bank, &c, &token.code_at(step_time)).await,
                "replayed"
            );
        }
        let events = api.audit(&branch, &c).await;
        let accepted = events.iter().filter(|e| e["outcome"] == "accepted").count();
        assert_eq!(
            accepted, 2,
            "{c}: the registration and exactly one login: {events:?}"
        );
    }
    // Acknowledged failures survive; the lockout holds at exactly ten.
    for (i, token) in tokens[LOGINS..LOGINS + LOCKS].iter().enumerate() {
        let c = format!("a{}", LOGINS + i);
        let status = api.status(&bank, &c).await;
        let failures = status["failures"].as_u64().expect("failures");
        let wrong = count(&c, "wrong_code") as u64;
        let mut lefts: Vec<u64> = outcomes(&c)
            .iter()
            .filter(|(o, _)| o == "wrong_code")
            .filter_map(|(_, l)| *l)
            .collect();
        lefts.sort_unstable();
        lefts.dedup();
        assert_eq!(
            lefts.len() as u64,
            wrong,
            "{c}: an attempts_left answered twice: {:?}",
            outcomes(&c)
        );
        assert!(
            failures >= wrong && failures <= 10,
            "{c}: {failures} failures, {wrong} acknowledged: {status}"
        );
        if i < 2 || wrong == 10 || count(&c, "locked") > 0 {
            assert_eq!(status["state"], "locked", "{c}: lockout lost: {status}");
            assert_eq!(failures, 10, "{c}: {status}");
            *report
                .entry("lockouts acknowledged before the kill, kept")
                .or_default() += 1;
        }
        // The rest of the wrong codes after the restart: locked at exactly ten.
        eprintln!("{c}: {wrong} failures acknowledged during the load, {failures} stored");
        let mut counted = failures;
        for k in 0..12u32 {
            let (st, answer) = api
                .op(
                    &bank,
                    &c,
                    "login",
                    json!({"code": token.wrong_at(step_time, 100 + k)}),
                )
                .await
                .expect("an answer");
            assert_eq!(st, 200, "{answer}");
            if outcome(&answer) == "wrong_code" {
                counted += 1;
                assert_eq!(
                    answer["attempts_left"].as_u64(),
                    Some(10 - counted),
                    "{c}: {answer}"
                );
            } else {
                assert_eq!(outcome(&answer), "locked", "{c}: {answer}");
            }
        }
        assert_eq!(counted, 10, "{c}: locked at exactly ten across the restart");
        let events = api.audit(&branch, &c).await;
        let wrong_events = events
            .iter()
            .filter(|e| e["outcome"] == "wrong_code")
            .count();
        assert_eq!(
            wrong_events, 10,
            "{c}: one audit record per counted failure: {events:?}"
        );
    }
    // Registrations acknowledged before the kill are still there, their codes used up.
    for (j, token) in tokens[LOGINS + LOCKS..].iter().enumerate() {
        let c = format!("b{j}");
        let (code, status) = api
            .call(
                reqwest::Method::GET,
                &format!("/v1/contracts/{c}"),
                Some(&bank),
                None,
            )
            .await
            .expect("an answer");
        if code == 404 {
            assert_eq!(count(&c, "accepted"), 0, "{c}: binding lost: {status}");
            continue;
        }
        assert_eq!(code, 200, "{c}: {status}");
        if count(&c, "accepted") == 1 {
            assert_eq!(
                status["serial"],
                token.serial.as_str(),
                "{c}: binding lost: {status}"
            );
            assert_eq!(status["state"], "active", "{c}: {status}");
            *report
                .entry("registrations acknowledged before the kill, kept")
                .or_default() += 1;
        }
        if status["state"] == "active" {
            assert_eq!(
                api.login(&bank, &c, &token.code_at(step_time)).await,
                "replayed",
                "{c}: the registration's code accepted again"
            );
        }
    }
    eprintln!("after the restart: {report:?}");
    assert!(!report.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_load_then_restart_sqlite() {
    let dir = data_dir();
    kill_and_restart(Place {
        data_dir: dir.path().to_path_buf(),
        database: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_load_then_restart_postgres() {
    let Some(db) = PgDatabase::create(&common::postgres_url()).await else {
        return;
    };
    let dir = data_dir();
    kill_and_restart(Place {
        data_dir: dir.path().to_path_buf(),
        database: Some(db.url.clone()),
    })
    .await;
}
