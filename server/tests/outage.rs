//! The database stopped (as by a crash) and started again under load, on a
//! private PostgreSQL cluster of the test's own (never the machine's shared
//! server): the service answers 503 with a message while it is down, writes
//! nothing by halves, and recovers by itself.

mod common;

use common::process::{self, data_dir, now, wait_for_room, Api, Place};
use common::{outcome, Token};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Contracts that log in once with a right code during the run.
const LOGINS: usize = 16;
/// Contracts sent only wrong codes during the run.
const LOCKS: usize = 4;
/// Wrong codes per lock contract.
const WRONG_EACH: usize = 14;
/// Time between two released requests.
const PACE: Duration = Duration::from_millis(60);

/// Debian's PostgreSQL server programs (the newest version installed).
fn postgres_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL cluster in a temporary directory on a free loopback port, run as `postgres` when we are root.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let exe = self.bin.join(program);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = c
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Creates and starts a cluster, or `None` (skipped loudly outside CI) without PostgreSQL's programs.
    fn create() -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            return common::unavailable(
                "PostgreSQL's server programs (initdb, pg_ctl under /usr/lib/postgresql/*/bin) are not installed",
            );
        };
        let dir = tempfile::Builder::new()
            .prefix("softtoken-outage-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres", &process::text(dir.path())])
                .status()
                .expect("chown");
            assert!(
                status.success(),
                "chown the cluster's directory to postgres"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Self {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = process::text(&cluster.data());
        cluster
            .run(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ],
            )
            .expect("initdb");
        cluster.start().expect("start the private cluster");
        Some(cluster)
    }

    fn start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=50",
            self.port,
            process::text(self.dir.path())
        );
        let log = process::text(&self.dir.path().join("postgres.log"));
        self.run(
            "pg_ctl",
            &[
                "-D",
                &process::text(&self.data()),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    /// Stops it the hard way: no checkpoint, in-flight transactions cut off (a crash, as far as clients can tell).
    fn stop(&self) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &process::text(&self.data()),
                "-m",
                "immediate",
                "-w",
                "-t",
                "60",
                "stop",
            ],
        )
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// What one request is meant to do; sent again after each 503 until it gets its answer.
#[derive(Debug, Clone)]
struct Intent {
    contract: String,
    code: String,
}

#[derive(Default)]
struct Tally {
    by_status: BTreeMap<u16, usize>,
    answers: BTreeMap<String, Vec<(String, Option<u64>)>>,
    retried: usize,
    during_outage_503: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_and_started_under_load() {
    let Some(cluster) = Cluster::create() else {
        return;
    };
    let dir = data_dir();
    let place = Place {
        data_dir: dir.path().to_path_buf(),
        database: Some(cluster.url()),
    };
    let (bank, branch) = place.add_bank("Outage Bank");
    let server = place.spawn(&["--request-timeout", "20"]);
    let api = Api::new(&server.base);
    assert!(api.wait_healthy(Duration::from_secs(10)).await);
    let mut tokens: Vec<Token> = Vec::new();
    for _ in 0..LOGINS + LOCKS {
        tokens.push(api.issue().await);
    }
    wait_for_room(5);
    let step_time = now();
    for (i, token) in tokens.iter().enumerate() {
        api.register_previous(&bank, &format!("c{i}"), token, step_time)
            .await;
    }
    let mut intents = Vec::new();
    for k in 0..WRONG_EACH.max(1) {
        for (i, token) in tokens.iter().enumerate() {
            if i < LOGINS {
                if k == 0 {
                    intents.push(Intent {
                        contract: format!("c{i}"),
                        code: token.code_at(step_time),
                    });
                }
            } else {
                intents.push(Intent {
                    contract: format!("c{i}"),
                    code: token.wrong_at(step_time, k as u32),
                });
            }
        }
    }
    // Spread the intents over the run so that many meet the outage.
    let intents = Arc::new(intents);
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let deadline = start + Duration::from_secs(45);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (api, bank, intents, next, down, tally) = (
            api.clone(),
            bank.clone(),
            intents.clone(),
            next.clone(),
            down.clone(),
            tally.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(intent) = intents.get(i) else { break };
                let release = start + PACE * i as u32;
                tokio::time::sleep_until(release.into()).await;
                loop {
                    assert!(
                        Instant::now() < deadline,
                        "the service did not recover in time"
                    );
                    let reply = api
                        .op(
                            &bank,
                            &intent.contract,
                            "login",
                            json!({"code": intent.code}),
                        )
                        .await
                        .unwrap_or_else(|e| panic!("no answer from the service: {e}"));
                    let answered = {
                        let mut t = tally.lock().expect("lock");
                        *t.by_status.entry(reply.0).or_default() += 1;
                        match reply {
                            (200, answer) => {
                                t.answers
                                    .entry(intent.contract.clone())
                                    .or_default()
                                    .push((outcome(&answer), answer["attempts_left"].as_u64()));
                                true
                            }
                            (503, _) => {
                                t.retried += 1;
                                if down.load(Ordering::SeqCst) {
                                    t.during_outage_503 += 1;
                                }
                                false
                            }
                            (status, answer) => panic!("{intent:?}: {status} {answer}"),
                        }
                    };
                    if answered {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }));
    }
    // Background traffic that needs the database too: issuance and status.
    let background = {
        let (api, bank, done) = (api.clone(), bank.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = BTreeMap::<u16, usize>::new();
            while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
                let issued = api
                    .call(reqwest::Method::POST, "/v1/tokens", None, Some(json!({})))
                    .await
                    .expect("an answer");
                let status = api
                    .call(reqwest::Method::GET, "/v1/contracts/c0", Some(&bank), None)
                    .await
                    .expect("an answer");
                for (code, body) in [issued, status] {
                    assert!(
                        [200, 201, 503].contains(&code),
                        "only success or 503 while the database comes and goes: {code} {body}"
                    );
                    *seen.entry(code).or_default() += 1;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        })
    };

    tokio::time::sleep(Duration::from_millis(1200)).await;
    down.store(true, Ordering::SeqCst);
    cluster.stop().expect("stop PostgreSQL");
    let stopped = Instant::now();
    // While it is down: 503 with a message (Api::call checks the message and Retry-After).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, body) = api
        .call(reqwest::Method::GET, "/healthz", None, None)
        .await
        .expect("an answer while the database is down");
    assert_eq!(code, 503, "healthz while the database is down: {body}");
    let (code, body) = api
        .op(&bank, "c0", "login", json!({"code": "000000"}))
        .await
        .expect("an answer while the database is down");
    assert_eq!(code, 503, "a login while the database is down: {body}");
    eprintln!("while PostgreSQL is down: {body}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    cluster
        .start()
        .unwrap_or_else(|e| panic!("start PostgreSQL again: {e}\n{}", cluster.log()));
    down.store(false, Ordering::SeqCst);
    let restarted = Instant::now();
    let outage = restarted - stopped;
    let recovered = api.wait_healthy(Duration::from_secs(30)).await;
    assert!(
        recovered,
        "the service did not recover by itself within 30 s"
    );
    let recovery = restarted.elapsed();
    for t in tasks {
        t.await.expect("load task");
    }
    done.store(true, Ordering::SeqCst);
    let background = background.await.expect("background task");
    let tally = Arc::try_unwrap(tally)
        .ok()
        .expect("tasks done")
        .into_inner()
        .expect("lock");
    eprintln!(
        "outage {:.1} s; healthy again {:.1} s after PostgreSQL started; logins by status {:?} \
         ({} answered 503 while down, {} retries in all); background by status {background:?}",
        outage.as_secs_f64(),
        recovery.as_secs_f64(),
        tally.by_status,
        tally.during_outage_503,
        tally.retried
    );
    assert!(tally.during_outage_503 > 0, "no request met the outage");
    assert!(background.get(&503).is_some_and(|n| *n > 0));

    // Nothing half-written, nothing lost: each right code accepted once, with its audit record;
    // each lock contract locked at exactly ten, one audit record per failure.
    for (i, token) in tokens.iter().enumerate() {
        let c = format!("c{i}");
        let answers = tally.answers.get(&c).cloned().unwrap_or_default();
        let status = api.status(&bank, &c).await;
        assert_eq!(status["serial"], token.serial.as_str(), "{c}: {status}");
        let events = api.audit(&branch, &c).await;
        let count = |o: &str| events.iter().filter(|e| e["outcome"] == o).count();
        if i < LOGINS {
            assert_eq!(answers.len(), 1, "{c}: {answers:?}");
            assert!(
                answers[0].0 == "accepted" || answers[0].0 == "replayed",
                "{c}: {answers:?}"
            );
            assert_eq!(status["state"], "active", "{c}: {status}");
            assert_eq!(
                count("accepted"),
                2,
                "{c}: the registration and one login: {events:?}"
            );
            assert_eq!(
                api.login(&bank, &c, &token.code_at(step_time)).await,
                "replayed"
            );
        } else {
            let mut lefts: Vec<u64> = answers
                .iter()
                .filter(|(o, _)| o == "wrong_code")
                .filter_map(|(_, l)| *l)
                .collect();
            let wrong = lefts.len();
            lefts.sort_unstable();
            lefts.dedup();
            assert_eq!(lefts.len(), wrong, "{c}: {answers:?}");
            assert!(wrong <= 10, "{c}: {answers:?}");
            assert_eq!(status["state"], "locked", "{c}: {status}");
            assert_eq!(status["failures"], 10, "{c}: {status}");
            assert_eq!(count("wrong_code"), 10, "{c}: {events:?}");
        }
    }
    drop(server);
}
