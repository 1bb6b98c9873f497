//! A bounded load generator for a running softtoken-server: logins per second
//! and p50/p99 latency at a given concurrency, with right codes (many
//! contracts, each once per time step) or wrong codes. Figures, not assertions.
//!
//! `cargo run --release -p softtoken-server --example load -- URL BANK_KEY [CONTRACTS] [CONCURRENCY] [SECONDS] [right|wrong]`
//! (start the server with a large `--issue-burst` so the set-up can issue the tokens).

use serde_json::{json, Value};
use softtoken_core::{Algorithm, Digits, Secret, Totp};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: load URL BANK_KEY [CONTRACTS] [CONCURRENCY] [SECONDS] [right|wrong]");
        std::process::exit(2);
    }
    let base = args[1].trim_end_matches('/').to_string();
    let key = args[2].clone();
    let contracts: usize = args.get(3).map_or(Ok(2000), |a| a.parse())?;
    let concurrency: usize = args.get(4).map_or(Ok(16), |a| a.parse())?;
    let seconds: u64 = args.get(5).map_or(Ok(5), |a| a.parse())?.min(60);
    let right = args.get(6).is_none_or(|m| m != "wrong");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let run = now();
    eprintln!("setting up {contracts} tokens and contracts…");
    let next = Arc::new(AtomicUsize::new(0));
    let mut setup = Vec::new();
    for _ in 0..concurrency {
        let (client, base, key, next) = (client.clone(), base.clone(), key.clone(), next.clone());
        setup.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= contracts {
                    return Ok::<_, reqwest::Error>(made);
                }
                let t: Value = client
                    .post(format!("{base}/v1/tokens"))
                    .json(&json!({}))
                    .send()
                    .await?
                    .json()
                    .await?;
                let (Some(serial), Some(secret)) = (t["serial"].as_str(), t["secret"].as_str())
                else {
                    panic!("no token: {t} (start the server with a large --issue-burst)");
                };
                let Ok(secret) = Secret::from_base32(secret) else {
                    panic!("bad secret")
                };
                let Ok(totp) = Totp::new(&secret, Algorithm::Sha1, Digits::SIX, 30) else {
                    panic!("totp")
                };
                let contract = format!("load-{run}-{i}");
                let code = totp.value_at(now()).to_string();
                client
                    .post(format!("{base}/v1/contracts/{contract}/register"))
                    .bearer_auth(&key)
                    .json(&json!({"serial": serial, "code": code}))
                    .send()
                    .await?;
                made.push((contract, totp));
            }
        }));
    }
    let mut all = Vec::new();
    for s in setup {
        all.extend(s.await??);
    }
    // Wait for the next step so every contract has a fresh code.
    let wait = 30 - now() % 30;
    eprintln!("waiting {wait} s for the next time step…");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let all = Arc::new(all);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, key, next, all) = (
            client.clone(),
            base.clone(),
            key.clone(),
            next.clone(),
            all.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if right && i >= all.len() {
                    break;
                }
                let (contract, totp) = &all[i % all.len()];
                let code = if right {
                    totp.value_at(now()).to_string()
                } else {
                    "000000".to_string()
                };
                let started = Instant::now();
                let answer: Value = client
                    .post(format!("{base}/v1/contracts/{contract}/login"))
                    .bearer_auth(&key)
                    .json(&json!({"code": code}))
                    .send()
                    .await?
                    .json()
                    .await?;
                latencies.push(started.elapsed());
                *outcomes
                    .entry(answer["outcome"].as_str().unwrap_or("error").to_string())
                    .or_default() += 1;
            }
            Ok::<_, reqwest::Error>((latencies, outcomes))
        }));
    }
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
    for w in workers {
        let (l, o) = w.await??;
        latencies.extend(l);
        for (k, v) in o {
            *outcomes.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{} logins ({}) in {elapsed:.2} s at concurrency {concurrency}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, outcomes {outcomes:?}",
        latencies.len(),
        if right { "right codes" } else { "wrong codes" },
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
    );
    Ok(())
}
