//! What the service's tests share: the CI-vs-skip rule for a missing
//! PostgreSQL, a PostgreSQL database of the test's own (dropped afterwards),
//! tokens as the app gets them, and the service run in-process over real HTTP
//! on 127.0.0.1 on SQLite (a temp dir) or PostgreSQL with a manual clock so
//! tests can move time. [`process`] runs the real binary as separate processes.
//! Each test binary uses only some of this.
#![allow(dead_code)]

pub mod process;

use serde_json::{json, Value};
use softtoken_core::{Algorithm, Digits, ManualClock, Policy, Secret, Totp};
use softtoken_server::crypto::MasterKeys;
use softtoken_server::{app, IssueLimits, Limits, Store};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// 2023-11-14 22:13:30 UTC, at the start of a 30-second step.
pub const START: u64 = 1_700_000_010;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// SQLite in a temporary directory.
    Sqlite,
    /// PostgreSQL: DATABASE_URL or the machine's server.
    Postgres,
}

/// Whether this runs in CI, where a missing PostgreSQL fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Fails in CI, skips loudly elsewhere: returns `None` so the test can `return`.
pub fn unavailable<T>(what: &str) -> Option<T> {
    if in_ci() {
        panic!("{what} (CI is set: this test must run)");
    }
    eprintln!("\n!!!!! SKIPPED: {what}; set DATABASE_URL or run scripts/setup.sh !!!!!\n");
    None
}

/// The PostgreSQL server for tests: DATABASE_URL or the machine's on 127.0.0.1:5432.
pub fn postgres_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A PostgreSQL database of the test's own, dropped (with FORCE) when this is
/// dropped, even by a panic.
pub struct PgDatabase {
    admin_url: String,
    /// The database's name.
    pub name: String,
    /// The database's URL.
    pub url: String,
}

impl PgDatabase {
    /// Creates a fresh, uniquely named database on `admin_url`'s server, or
    /// `None` when it is unreachable (outside CI; see [`unavailable`]).
    pub async fn create(admin_url: &str) -> Option<Self> {
        use sqlx::Connection;
        let mut admin = match sqlx::PgConnection::connect(admin_url).await {
            Ok(c) => c,
            Err(e) => {
                return unavailable(&format!("PostgreSQL at {admin_url} is unreachable: {e}"))
            }
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "softtoken_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        Some(Self {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_string(),
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A token as the app got it from the service.
#[derive(Debug, Clone)]
pub struct Token {
    /// Its serial.
    pub serial: String,
    totp: Totp,
}

impl Token {
    /// The token in an issuance answer (`POST /v1/tokens`).
    pub fn from_issued(body: &Value) -> Self {
        let secret = Secret::from_base32(body["secret"].as_str().expect("secret")).expect("base32");
        Self {
            serial: body["serial"].as_str().expect("serial").to_string(),
            totp: Totp::new(&secret, Algorithm::Sha1, Digits::SIX, 30).expect("totp"),
        }
    }

    /// Its code at `time`.
    pub fn code_at(&self, time: u64) -> String {
        self.totp.at(time).expect("code").value.to_string()
    }

    /// A six-digit code that is wrong for every step within five of `time`;
    /// different `salt`s give (mostly) different codes.
    pub fn wrong_at(&self, time: u64, salt: u32) -> String {
        let right: u32 = self.code_at(time).parse().expect("digits");
        (1..)
            .map(|d: u32| format!("{:06}", (right + d * 7919 + salt) % 1_000_000))
            .find(|w| (-5i64..=5).all(|k| self.code_at((time as i64 + k * 30) as u64) != *w))
            .expect("a wrong code")
    }
}

/// The outcome's name in an answer ("" when there is none).
pub fn outcome(answer: &Value) -> String {
    answer["outcome"].as_str().unwrap_or_default().to_string()
}

/// A running service with two banks.
pub struct Server {
    /// http://127.0.0.1:PORT
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The clock the service reads.
    pub clock: Arc<ManualClock>,
    /// Bank A's keys.
    pub bank: String,
    /// Bank A's branch key.
    pub branch: String,
    /// Bank B's key.
    pub other_bank: String,
    /// Bank B's branch key.
    pub other_branch: String,
    /// The store, for looking at the database directly.
    pub store: Arc<Store>,
    /// The test's PostgreSQL database, on PostgreSQL.
    pub pg_name: Option<String>,
    server: tokio::task::JoinHandle<()>,
    _pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Options for a test server.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Lockout threshold.
    pub lockout: u32,
    /// Issuance limits.
    pub issue: IssueLimits,
    /// Body and time limits.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            lockout: 10,
            issue: IssueLimits {
                per_minute: 10_000,
                burst: 10_000,
            },
            limits: Limits::default(),
        }
    }
}

/// Starts the service on `db`, or `None` (with a loud message) when PostgreSQL is unreachable outside CI.
pub async fn start(db: Db) -> Option<Server> {
    start_with(db, Options::default()).await
}

/// Starts the service on `db` with `options`.
pub async fn start_with(db: Db, options: Options) -> Option<Server> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, pg) = match db {
        Db::Sqlite => (
            format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
            None,
        ),
        Db::Postgres => {
            let pg = PgDatabase::create(&postgres_url()).await?;
            (pg.url.clone(), Some(pg))
        }
    };
    let (keys, _) = MasterKeys::load_or_create(&dir.path().join("master.key")).expect("keys");
    let clock = Arc::new(ManualClock::new(START));
    let policy = Policy::new(1, 1, options.lockout, 5).expect("policy");
    let pool = if db == Db::Sqlite { 1 } else { 8 };
    let store = Arc::new(
        Store::connect(&url, keys, policy, pool)
            .await
            .expect("connect")
            .with_clock(clock.clone()),
    );
    let (bank, branch) = store.add_bank("Bank A").await.expect("bank A");
    let (other_bank, other_branch) = store.add_bank("Bank B").await.expect("bank B");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let service = app(store.clone(), options.issue, options.limits, false);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, service).await;
    });
    Some(Server {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        clock,
        bank: bank.to_string(),
        branch: branch.to_string(),
        other_bank: other_bank.to_string(),
        other_branch: other_branch.to_string(),
        store,
        server,
        pg_name: pg.as_ref().map(|p| p.name.clone()),
        _pg: pg,
        _dir: dir,
    })
}

impl Server {
    /// The time now.
    pub fn now(&self) -> u64 {
        softtoken_core::Clock::now(self.clock.as_ref()).expect("time")
    }

    /// Moves to the next 30-second step.
    pub fn next_step(&self) {
        self.clock.advance(30);
    }

    /// A request with an optional key and a raw body; the status and the JSON answer.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({e}) with status {status}: {text}"));
        (status, value)
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        self.raw(
            reqwest::Method::POST,
            path,
            key,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// GET.
    pub async fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        self.raw(reqwest::Method::GET, path, key, None).await
    }

    /// The app's first start: a token from the service.
    pub async fn issue(&self) -> Token {
        let (status, body) = self
            .post("/v1/tokens", None, json!({"platform": "android"}))
            .await;
        assert_eq!(status, 201, "{body}");
        Token::from_issued(&body)
    }

    /// A bank operation's outcome (asserting 200).
    pub async fn op(&self, key: &str, contract: &str, op: &str, body: Value) -> Value {
        let (status, answer) = self
            .post(&format!("/v1/contracts/{contract}/{op}"), Some(key), body)
            .await;
        assert_eq!(status, 200, "{op}: {answer}");
        answer
    }

    /// Registers `token` to bank A's `contract` with the current code: the outcome's name.
    pub async fn register(&self, contract: &str, token: &Token) -> String {
        self.register_with(&self.bank.clone(), contract, token)
            .await
    }

    /// Registers with a given bank key.
    pub async fn register_with(&self, key: &str, contract: &str, token: &Token) -> String {
        let code = token.code_at(self.now());
        outcome(
            &self
                .op(
                    key,
                    contract,
                    "register",
                    json!({"serial": token.serial, "code": code}),
                )
                .await,
        )
    }

    /// Logs in at bank A with `code`: the outcome's name.
    pub async fn login(&self, contract: &str, code: &str) -> String {
        outcome(
            &self
                .op(&self.bank.clone(), contract, "login", json!({"code": code}))
                .await,
        )
    }

    /// A branch action at bank A.
    pub async fn branch_action(&self, contract: &str, action: &str, staff: Option<&str>) -> String {
        let body = match staff {
            Some(s) => json!({"staff": s}),
            None => json!({}),
        };
        outcome(&self.op(&self.branch.clone(), contract, action, body).await)
    }

    /// Bank A's status of `contract`.
    pub async fn status(&self, contract: &str) -> Value {
        let (status, body) = self
            .get(&format!("/v1/contracts/{contract}"), Some(&self.bank))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Bank A's audit of `contract`.
    pub async fn audit(&self, contract: &str) -> Vec<Value> {
        let (status, body) = self
            .get(
                &format!("/v1/contracts/{contract}/audit"),
                Some(&self.branch),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["events"].as_array().expect("events").clone()
    }
}

/// Runs a test body on SQLite and on PostgreSQL (one test each).
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(s) = common::start(common::Db::Sqlite).await {
                    ($body)(s).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(s) = common::start(common::Db::Postgres).await {
                    ($body)(s).await;
                }
            }
        }
    };
}
