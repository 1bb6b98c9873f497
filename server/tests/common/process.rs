//! The real `softtoken-server` binary as separate processes on 127.0.0.1:
//! started, killed with SIGKILL, started again; its data directories (SQLite
//! inside, or a [`super::PgDatabase`]); HTTP calls and the real clock.

use super::{outcome, Token};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_softtoken-server");

/// Where a server keeps its state: a data directory (master key, SQLite file) and maybe a PostgreSQL URL.
#[derive(Debug, Clone)]
pub struct Place {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The PostgreSQL URL, or `None` for SQLite in the data directory.
    pub database: Option<String>,
}

impl Place {
    fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data-dir").arg(&self.data_dir);
        c.env_remove("DATABASE_URL");
        if let Some(url) = &self.database {
            c.arg("--database").arg(url);
        }
        c
    }

    /// Adds a bank with the binary's `add-bank NAME --json`: its bank key and branch key.
    pub fn add_bank(&self, name: &str) -> (String, String) {
        let out = self
            .command()
            .args(["add-bank", name, "--json"])
            .stdin(Stdio::null())
            .output()
            .expect("run softtoken-server add-bank");
        assert!(
            out.status.success(),
            "add-bank failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let keys: Value = serde_json::from_slice(&out.stdout).expect("add-bank --json prints JSON");
        (
            keys["bank_key"].as_str().expect("bank_key").to_string(),
            keys["branch_key"].as_str().expect("branch_key").to_string(),
        )
    }

    /// The servers' log (stderr), appended to `server.log` in the data directory.
    fn log_file(&self) -> Stdio {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("server.log"))
            .map_or_else(|_| Stdio::inherit(), Stdio::from)
    }

    /// Starts a server on a free loopback port (its log goes to `server.log` in the data directory).
    pub fn spawn(&self, extra: &[&str]) -> Proc {
        let mut child = self
            .command()
            .args(["--listen", "127.0.0.1:0"])
            .args(["--issue-per-minute", "1000000", "--issue-burst", "1000000"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(self.log_file())
            .spawn()
            .expect("start softtoken-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read the start-up line");
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("no http:// address in the start-up line {first:?}")
            })
            .to_string();
        Proc { child, base }
    }
}

/// A running server process; killed (SIGKILL) when dropped.
pub struct Proc {
    child: Child,
    /// http://127.0.0.1:PORT
    pub base: String,
}

impl Proc {
    /// kill -9, and waits for the process to be gone.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The time now, Unix seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Sleeps to the start of the next 30-second step when fewer than `seconds` remain in this one.
pub fn wait_for_room(seconds: u64) {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    let into = t.as_secs_f64() % 30.0;
    if 30.0 - into < seconds as f64 {
        std::thread::sleep(Duration::from_secs_f64(30.0 - into + 0.05));
    }
}

/// An HTTP client for one server.
#[derive(Debug, Clone)]
pub struct Api {
    /// The client.
    pub client: reqwest::Client,
    /// http://127.0.0.1:PORT
    pub base: String,
}

/// What came back: a status and a JSON body, or no answer at all (connection refused, reset, timeout).
pub type Reply = Result<(u16, Value), String>;

impl Api {
    /// A client for `base`.
    pub fn new(base: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("client"),
            base: base.to_string(),
        }
    }

    /// A request: the status and JSON body, or why there was none.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let retry_header = response
            .headers()
            .contains_key(reqwest::header::RETRY_AFTER);
        let text = response.text().await.map_err(|e| e.to_string())?;
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({e}) with status {status}: {text}"));
        if status == 503 {
            assert!(
                value["error"].as_str().is_some_and(|m| !m.is_empty()),
                "a 503 without a message: {value}"
            );
            assert!(retry_header, "a 503 without Retry-After: {value}");
        }
        Ok((status, value))
    }

    /// POST to a contract's operation with `key`.
    pub async fn op(&self, key: &str, contract: &str, op: &str, body: Value) -> Reply {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/contracts/{contract}/{op}"),
            Some(key),
            Some(body),
        )
        .await
    }

    /// A login's outcome, asserting a 200.
    pub async fn login(&self, key: &str, contract: &str, code: &str) -> String {
        let (status, body) = self
            .op(key, contract, "login", json!({"code": code}))
            .await
            .expect("an answer");
        assert_eq!(status, 200, "login: {body}");
        outcome(&body)
    }

    /// Issues a token to an app.
    pub async fn issue(&self) -> Token {
        let (status, body) = self
            .call(reqwest::Method::POST, "/v1/tokens", None, Some(json!({})))
            .await
            .expect("an answer");
        assert_eq!(status, 201, "{body}");
        Token::from_issued(&body)
    }

    /// Registers `token` to `contract` with its code of the step before `time`'s (so that step stays free for a login).
    ///
    /// The registration must happen in `time`'s step; a login with the code of
    /// `time` then stays right (one step back) until the end of the next step.
    pub async fn register_previous(&self, key: &str, contract: &str, token: &Token, time: u64) {
        let code = token.code_at(time - 30);
        let (status, body) = self
            .op(
                key,
                contract,
                "register",
                json!({"serial": token.serial, "code": code}),
            )
            .await
            .expect("an answer");
        assert_eq!(
            (status, outcome(&body)),
            (200, "accepted".to_string()),
            "{body}"
        );
    }

    /// The contract's status.
    pub async fn status(&self, key: &str, contract: &str) -> Value {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/contracts/{contract}"),
                Some(key),
                None,
            )
            .await
            .expect("an answer");
        assert_eq!(status, 200, "status: {body}");
        body
    }

    /// The contract's audit events (branch key).
    pub async fn audit(&self, branch: &str, contract: &str) -> Vec<Value> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/contracts/{contract}/audit"),
                Some(branch),
                None,
            )
            .await
            .expect("an answer");
        assert_eq!(status, 200, "audit: {body}");
        body["events"].as_array().expect("events").clone()
    }

    /// Waits (bounded) until `/healthz` answers 200.
    pub async fn wait_healthy(&self, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if let Ok((200, _)) = self
                .call(reqwest::Method::GET, "/healthz", None, None)
                .await
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

/// A temporary data directory.
pub fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `path` as a string.
pub fn text(path: &Path) -> String {
    path.display().to_string()
}
