//! The benchmark's load generator (bench/server.sh runs it): logins per second
//! and p50/p99 latency against a running softtoken-server over HTTP, closed
//! loop at a fixed concurrency, bounded in time. Figures, never assertions.
//!
//! `loadgen URL BANK_KEY right|wrong [--contracts N] [--concurrency C] [--seconds S] [--wrong-each K] [--cpu-of PID]`
//!
//! With `--cpu-of PID` (the server's process) it also prints the CPU time the
//! server, the generator itself and all processes named `postgres` (the
//! machine's whole PostgreSQL, whoever's queries) used during the timed run
//! (Linux /proc).
//!
//! Set-up: issues N tokens (the server must allow that many: a large
//! `--issue-burst`) and registers each to a contract of its own with the code
//! of the previous step, so that the current step is free for a login.
//! `right`: every contract logs in once per 30-second step with its right
//! code (the codes are computed with softtoken-core); when every contract has
//! logged in in this step the generator waits for the next step, and that wait
//! is left out of the figures (and reported). `wrong`: each contract gets at
//! most K wrong codes (K below the server's `--lockout`, so every answer is a
//! real check, not "locked"); the run ends early when all are spent.

use softtoken_core::{Algorithm, Digits, Secret, Totp};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One token bound to one contract.
struct Account {
    contract: String,
    totp: Totp,
    /// The last step this contract logged in at (right mode), +1 so that 0 means never.
    used_step: AtomicU64,
}

/// What one worker measured.
#[derive(Default)]
struct Sample {
    latencies_us: Vec<u32>,
    outcomes: BTreeMap<String, u64>,
    waited: Duration,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen URL BANK_KEY right|wrong [--contracts N] [--concurrency C] [--seconds S] [--wrong-each K] [--cpu-of PID]"
    );
    std::process::exit(2)
}

struct Options {
    base: String,
    key: String,
    right: bool,
    contracts: usize,
    concurrency: usize,
    seconds: u64,
    wrong_each: usize,
    cpu_of: Option<usize>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        usage();
    }
    let mut o = Options {
        base: args[0].trim_end_matches('/').to_string(),
        key: args[1].clone(),
        right: match args[2].as_str() {
            "right" => true,
            "wrong" => false,
            _ => usage(),
        },
        contracts: 20_000,
        concurrency: 16,
        seconds: 10,
        wrong_each: 9,
        cpu_of: None,
    };
    let mut rest = args[3..].iter();
    while let Some(flag) = rest.next() {
        let value: usize = rest
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage());
        match flag.as_str() {
            "--contracts" => o.contracts = value.max(1),
            "--concurrency" => o.concurrency = value.max(1),
            "--seconds" => o.seconds = value.clamp(1, 600) as u64,
            "--wrong-each" => o.wrong_each = value.max(1),
            "--cpu-of" => o.cpu_of = Some(value),
            _ => usage(),
        }
    }
    o
}

/// POSTs `body` with the bank key: the status and the answer's outcome.
async fn post(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: String,
) -> Result<(u16, String), String> {
    let response = client
        .post(url)
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    let outcome = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["outcome"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("http_{status}"));
    Ok((status, outcome))
}

/// Issues the tokens and registers them, `concurrency` at a time.
async fn set_up(client: &reqwest::Client, o: &Options) -> Result<Vec<Account>, String> {
    let run = format!("lg{}x{}", std::process::id(), now() % 100_000);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..o.concurrency {
        let (client, next, base, key, run, n) = (
            client.clone(),
            next.clone(),
            o.base.clone(),
            o.key.clone(),
            run.clone(),
            o.contracts,
        );
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let issued: serde_json::Value = client
                    .post(format!("{base}/v1/tokens"))
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                let (Some(serial), Some(secret)) =
                    (issued["serial"].as_str(), issued["secret"].as_str())
                else {
                    return Err(format!(
                        "issuing a token failed: {issued} (start the server with a large --issue-burst)"
                    ));
                };
                let secret = Secret::from_base32(secret).map_err(|e| e.to_string())?;
                let totp =
                    Totp::new(&secret, Algorithm::Sha1, Digits::SIX, 30).map_err(|e| e.to_string())?;
                // A step can begin between the code and its check: then try
                // again with the new step's code, on a fresh contract.
                let mut contract = String::new();
                for attempt in 0..3 {
                    contract = format!("{run}c{i}a{attempt}");
                    let code = totp.at(now() - 30).map_err(|e| e.to_string())?.value.to_string();
                    let (status, outcome) = post(
                        &client,
                        &format!("{base}/v1/contracts/{contract}/register"),
                        &key,
                        format!(r#"{{"serial":"{serial}","code":"{code}"}}"#),
                    )
                    .await?;
                    if (status, outcome.as_str()) == (200, "accepted") {
                        break;
                    }
                    if attempt == 2 {
                        return Err(format!("registering {contract}: {status} {outcome}"));
                    }
                }
                mine.push(Account {
                    contract,
                    totp,
                    used_step: AtomicU64::new(0),
                });
            }
            Ok::<_, String>(mine)
        }));
    }
    let mut accounts = Vec::with_capacity(o.contracts);
    for t in tasks {
        accounts.extend(t.await.map_err(|e| e.to_string())??);
    }
    Ok(accounts)
}

/// A wrong six-digit code for `totp` near `time` (the `k`-th such).
fn wrong_code(totp: &Totp, time: u64, k: usize) -> String {
    let right = |t: u64| totp.at(t).map(|c| c.value.to_string()).unwrap_or_default();
    let near: Vec<String> = (0..=4).map(|d| right(time + d * 30 - 60)).collect();
    (k as u64..)
        .map(|d| format!("{:06}", (d * 104_729 + 7) % 1_000_000))
        .find(|w| !near.contains(w))
        .unwrap_or_else(|| "000000".into())
}

async fn worker(
    client: reqwest::Client,
    accounts: Arc<Vec<Account>>,
    cursor: Arc<AtomicUsize>,
    o: Arc<Options>,
    end: Instant,
) -> Sample {
    let mut s = Sample::default();
    let n = accounts.len();
    while Instant::now() < end {
        let c = cursor.fetch_add(1, Ordering::Relaxed);
        let account = &accounts[c % n];
        let t = now();
        let code = if o.right {
            let step = t / 30 + 1;
            if account.used_step.swap(step, Ordering::Relaxed) == step {
                // Every contract has logged in in this step: wait for the next one.
                let wait = Duration::from_millis(30_000 - (now_ms() % 30_000) + 20);
                let wait = wait.min(end.saturating_duration_since(Instant::now()));
                tokio::time::sleep(wait).await;
                s.waited += wait;
                continue;
            }
            match account.totp.at(t) {
                Ok(code) => code.value.to_string(),
                Err(_) => continue,
            }
        } else {
            let k = c / n;
            if k >= o.wrong_each {
                break;
            }
            wrong_code(&account.totp, t, k)
        };
        let url = format!("{}/v1/contracts/{}/login", o.base, account.contract);
        let started = Instant::now();
        let answer = post(&client, &url, &o.key, format!(r#"{{"code":"{code}"}}"#)).await;
        let took = started.elapsed();
        s.latencies_us
            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        let name = match answer {
            Ok((200, outcome)) => outcome,
            Ok((status, _)) => format!("http_{status}"),
            Err(_) => "no_answer".into(),
        };
        *s.outcomes.entry(name).or_default() += 1;
    }
    s
}

/// CPU seconds (user + system) a process has used, from /proc/PID/stat (clock ticks of 1/100 s).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// CPU seconds used by every process named `postgres` (those alive now).
fn postgres_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|e| cpu_seconds(&e.file_name().to_string_lossy()))
        .sum()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

#[tokio::main]
async fn main() {
    let o = Arc::new(options());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency * 2)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| {
            eprintln!("loadgen: {e}");
            std::process::exit(1)
        });
    let setup_start = Instant::now();
    let accounts = match set_up(&client, &o).await {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("loadgen: set-up failed: {e}");
            std::process::exit(1)
        }
    };
    let setup = setup_start.elapsed();
    let cursor = Arc::new(AtomicUsize::new(0));
    let server_pid = o.cpu_of.map(|p| p.to_string());
    let cpu_before = (
        server_pid.as_deref().and_then(cpu_seconds),
        cpu_seconds("self"),
    );
    let postgres_before = postgres_cpu_seconds();
    let started = Instant::now();
    let end = started + Duration::from_secs(o.seconds);
    let mut tasks = Vec::new();
    for _ in 0..o.concurrency {
        tasks.push(tokio::spawn(worker(
            client.clone(),
            accounts.clone(),
            cursor.clone(),
            o.clone(),
            end,
        )));
    }
    let mut latencies = Vec::new();
    let mut outcomes = BTreeMap::<String, u64>::new();
    let mut waited = Duration::ZERO;
    for t in tasks {
        let Ok(s) = t.await else { continue };
        latencies.extend(s.latencies_us);
        for (k, v) in s.outcomes {
            *outcomes.entry(k).or_default() += v;
        }
        waited = waited.max(s.waited);
    }
    let elapsed = started.elapsed();
    let cpu = match (
        cpu_before,
        server_pid.as_deref().and_then(cpu_seconds),
        cpu_seconds("self"),
    ) {
        ((Some(s0), Some(g0)), Some(s1), Some(g1)) => format!(
            "; CPU in {:.1} s: server {:.1} s, load generator {:.1} s, postgres processes {:.1} s",
            elapsed.as_secs_f64(),
            s1 - s0,
            g1 - g0,
            (postgres_cpu_seconds() - postgres_before).max(0.0)
        ),
        _ => String::new(),
    };
    let busy = elapsed.saturating_sub(waited).as_secs_f64().max(1e-9);
    latencies.sort_unstable();
    let n = latencies.len();
    println!(
        "{:<5} codes: {:>7} logins in {:.1} s: {:>7.0} logins/s  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  \
         (concurrency {}, {} contracts set up in {:.1} s{}; outcomes {:?}{cpu})",
        if o.right { "right" } else { "wrong" },
        n,
        busy,
        n as f64 / busy,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        o.concurrency,
        accounts.len(),
        setup.as_secs_f64(),
        if waited.is_zero() {
            String::new()
        } else {
            format!(
                "; every contract used in a step, {:.1} s waiting left out",
                waited.as_secs_f64()
            )
        },
        outcomes
    );
}
