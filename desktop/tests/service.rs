//! The desktop token against the token service: the real `softtoken-server`
//! for what succeeds, and a tiny HTTP responder on loopback for the answers a
//! real service gives rarely or never (429, garbled replies, another web
//! server's pages).

mod common;

use common::{command, ok, Store as TempDir};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

impl TempDir {
    fn vault_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.vault()).ok()
    }
}

/// Runs `softtoken` on `store`, with `service` as SOFTTOKEN_SERVICE when given.
fn softtoken(store: &TempDir, service: Option<&str>, args: &[&str]) -> Output {
    command(Some(&store.0), service, args)
        .stdin(Stdio::null())
        .output()
        .expect("softtoken runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts a failure with exit 1 and one line on stderr containing `needle`.
fn fails(o: &Output, needle: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(o)).expect("JSON on stdout")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

// ---------------------------------------------------------------------------
// The real service.

/// The `softtoken-server` binary: `SOFTTOKEN_SERVER_BIN`, or the one built beside this test.
fn server_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("SOFTTOKEN_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = dir.join(format!("softtoken-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p softtoken-server) or set SOFTTOKEN_SERVER_BIN",
        bin.display()
    );
    bin
}

/// A `softtoken-server` on a free loopback port with an embedded database in a temporary directory.
struct Server {
    child: Child,
    url: String,
    _data: TempDir,
}

/// The first `127.0.0.1:PORT` (port not 0) in a line the server printed.
fn bound_address(line: &str) -> Option<String> {
    let at = line.find("127.0.0.1:")?;
    let port: String = line[at + 10..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    match port.parse::<u16>() {
        Ok(p) if p != 0 => Some(format!("127.0.0.1:{p}")),
        _ => None,
    }
}

impl Server {
    /// A server on a fresh data directory.
    fn start(name: &str) -> Self {
        let data = TempDir::new("service", &format!("server-{name}"));
        std::fs::create_dir_all(&data.0).expect("data dir");
        Self::start_in(data, &[])
    }

    /// A server on `data` with more options; it has printed its address when this returns.
    fn start_in(data: TempDir, options: &[&str]) -> Self {
        let mut child = Command::new(server_bin())
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data.0)
            .args(options)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("softtoken-server starts");
        let stdout = child.stdout.take().expect("server stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Reads to the end, so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = bound_address(&line) {
                    let _ = tx.send(address);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => Server {
                child,
                url: format!("http://{address}"),
                _data: data,
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("softtoken-server printed no 127.0.0.1:PORT address within 60 s");
            }
        }
    }

    /// Adds a bank with `softtoken-server add-bank NAME --json` and returns its bank key.
    fn add_bank(data: &TempDir, name: &str) -> String {
        let out = Command::new(server_bin())
            .args(["add-bank", name, "--json", "--data-dir"])
            .arg(&data.0)
            .env_remove("DATABASE_URL")
            .output()
            .expect("add-bank runs");
        assert!(out.status.success(), "add-bank: {}", text(&out.stderr));
        let keys: serde_json::Value = serde_json::from_slice(&out.stdout).expect("add-bank JSON");
        keys["bank_key"].as_str().expect("bank_key").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bank's call: POST JSON with its key; the status and the JSON answer.
fn bank_post(url: &str, key: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let mut response = agent
        .post(url)
        .header("authorization", &format!("Bearer {key}"))
        .header("content-type", "application/json")
        .send(body.to_string())
        .expect("the service answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("a body");
    (status, serde_json::from_str(&text).expect("a JSON answer"))
}

#[test]
fn first_run_provisions_and_the_bank_accepts_the_code() {
    let data = TempDir::new("service", "bank-data");
    std::fs::create_dir_all(&data.0).expect("data dir");
    let bank_key = Server::add_bank(&data, "Example Bank");
    let server = Server::start_in(data, &[]);
    let store = TempDir::new("service", "bank-store");
    let shown = json(&softtoken(&store, Some(&server.url), &["show", "--json"]))[0].clone();
    assert_eq!(shown["origin"], "service");
    let serial = shown["serial"].as_str().expect("serial").to_string();
    assert!(serial.starts_with("SSTD") && serial.len() == 12, "{serial}");
    // The bank registers the token with the code shown, then logs in with the next one.
    let contract = format!("{}/v1/contracts/C-1001", server.url);
    let (status, answer) = bank_post(
        &format!("{contract}/register"),
        &bank_key,
        serde_json::json!({"serial": serial, "code": shown["code"]}),
    );
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    let (_, answer) = bank_post(
        &format!("{contract}/login"),
        &bank_key,
        serde_json::json!({"code": shown["next_code"]}),
    );
    assert_eq!(answer["outcome"], "accepted", "{answer}");
    let (_, answer) = bank_post(
        &format!("{contract}/login"),
        &bank_key,
        serde_json::json!({"code": shown["next_code"]}),
    );
    assert_eq!(answer["outcome"], "replayed", "{answer}");
}

#[test]
fn provision_gets_another_token_and_sync_time_reads_the_service_clock() {
    let server = Server::start("more");
    let store = TempDir::new("service", "more-store");
    let first = softtoken(&store, Some(&server.url), &[]);
    ok(&first);
    let err = text(&first.stderr);
    assert!(
        err.contains("Got a new token from the token service at"),
        "{err}"
    );
    assert!(!err.contains("offline"), "{err}");
    let out = ok(&softtoken(&store, Some(&server.url), &["provision"]));
    assert!(out.starts_with("Got token SSTD "), "{out}");
    let list = json(&softtoken(&store, None, &["list", "--json"]));
    let tokens = list.as_array().expect("a list");
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|t| t["origin"] == "service"));
    assert_ne!(tokens[0]["serial"], tokens[1]["serial"]);
    // The service runs on this machine's clock: the offset is 0.
    let out = ok(&softtoken(&store, Some(&server.url), &["sync-time"]));
    assert_eq!(
        out.trim(),
        format!(
            "Clock offset: +0 s (from the token service at {})",
            server.url
        )
    );
    // The second run shows the stored tokens and asks the service nothing.
    drop(server);
    let again = softtoken(&store, Some("http://127.0.0.1:9"), &[]);
    assert_eq!(ok(&again).lines().count(), 2);
    assert_eq!(text(&again.stderr), "");
}

// ---------------------------------------------------------------------------
// A tiny HTTP responder for answers a real service does not give.

/// Answers every request on a loopback port with the same bytes (at most 16 requests, 30 s).
struct Responder {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn read_request(stream: &mut TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    let header_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || data.len() > 64 * 1024 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..header_end]).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while data.len() < header_end + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    Some(head)
}

impl Responder {
    fn answering(reply: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        listener.set_nonblocking(true).expect("nonblocking");
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut served = 0;
            while served < 16 && start.elapsed() < Duration::from_secs(30) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        if read_request(&mut stream).is_some() {
                            counted.fetch_add(1, Ordering::SeqCst);
                            let _ = stream.write_all(reply.as_bytes());
                        }
                        served += 1;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Responder { url, requests }
    }

    /// An HTTP/1.1 answer with this status line, extra headers and body.
    fn http(status: &str, headers: &str, body: &str) -> Self {
        Self::answering(format!(
            "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
    }
}

#[test]
fn no_service_issues_offline_and_says_so() {
    let store = TempDir::new("service", "offline");
    let out = softtoken(&store, None, &[]);
    ok(&out);
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("Issued a new token, serial SSTD "), "{err}");
    assert!(
        err.lines()
            .nth(1)
            .is_some_and(|l| l.contains("No token service configured")),
        "{err}"
    );
    let list = json(&softtoken(&store, None, &["list", "--json"]));
    assert_eq!(list[0]["origin"], "issued");
    for command in ["provision", "sync-time"] {
        let out = softtoken(&store, Some(" "), &[command]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(text(&out.stderr).contains("no token service configured"));
        let out = softtoken(&store, Some("tokens.example.com"), &[command]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert!(text(&out.stderr).contains("is not a token service URL"));
    }
}

#[test]
fn server_down_is_a_typed_error_and_nothing_is_stored() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.local_addr().expect("address").port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let store = TempDir::new("service", "down");
    fails(
        &softtoken(&store, Some(&url), &[]),
        &format!("cannot reach the token service at {url}"),
    );
    assert!(store.vault_bytes().is_none(), "nothing stored");
    // With a token already there, provision and sync-time change nothing either.
    ok(&softtoken(&store, None, &["clock-offset", "--", "-45"]));
    let before = store.vault_bytes();
    fails(
        &softtoken(&store, Some(&url), &["provision"]),
        "check the connection and try again",
    );
    fails(
        &softtoken(&store, Some(&url), &["sync-time"]),
        "cannot reach",
    );
    assert_eq!(store.vault_bytes(), before);
}

#[test]
fn another_web_server_is_not_the_service() {
    let store = TempDir::new("service", "wrong-url");
    for responder in [
        Responder::http(
            "404 Not Found",
            "content-type: text/html\r\n",
            "<html><h1>Not Found</h1></html>",
        ),
        Responder::http(
            "200 OK",
            "content-type: text/html\r\n",
            "<html>Sign in to the hotel Wi-Fi</html>",
        ),
        Responder::http("302 Found", "location: http://portal.example/\r\n", ""),
    ] {
        fails(
            &softtoken(&store, Some(&responder.url), &["provision"]),
            "is not a softtoken service's answer",
        );
        assert_eq!(responder.requests.load(Ordering::SeqCst), 1);
        assert!(store.vault_bytes().is_none(), "nothing stored");
    }
}

#[test]
fn rate_limited_says_when_to_try_again() {
    let store = TempDir::new("service", "limited");
    let responder = Responder::http(
        "429 Too Many Requests",
        "retry-after: 42\r\ncontent-type: application/json\r\n",
        r#"{"error":"too many tokens from this address","retry_after":42}"#,
    );
    fails(
        &softtoken(&store, Some(&responder.url), &[]),
        "try again in 42 s",
    );
    assert!(store.vault_bytes().is_none(), "nothing stored");
    let header_only = Responder::http("429 Too Many Requests", "retry-after: 7\r\n", "slow down");
    fails(
        &softtoken(&store, Some(&header_only.url), &["provision"]),
        "try again in 7 s",
    );
    assert!(store.vault_bytes().is_none(), "nothing stored");
}

#[test]
fn the_real_service_rate_limits_and_nothing_is_stored() {
    let data = TempDir::new("service", "server-limited");
    std::fs::create_dir_all(&data.0).expect("data dir");
    let server = Server::start_in(data, &["--issue-per-minute", "1", "--issue-burst", "1"]);
    let store = TempDir::new("service", "limited-real");
    ok(&softtoken(&store, Some(&server.url), &[]));
    let before = store.vault_bytes();
    let out = softtoken(&store, Some(&server.url), &["provision"]);
    fails(&out, "try again in ");
    let err = text(&out.stderr);
    let seconds: u64 = err
        .trim()
        .rsplit("try again in ")
        .next()
        .and_then(|s| s.strip_suffix(" s"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!((1..=60).contains(&seconds), "{err}");
    assert_eq!(store.vault_bytes(), before);
}

#[test]
fn garbled_replies_are_refused() {
    let store = TempDir::new("service", "garbled");
    let cut = r#"{"serial":"SSTD12345678","secret":"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP","algo"#;
    let short_secret = r#"{"serial":"SSTD00000000","secret":"JBSWY3DPEHPK3PXP","algorithm":"SHA1","digits":6,"period":30,"key_uri":"otpauth://totp/softtoken:SSTD00000000?secret=JBSWY3DPEHPK3PXP&issuer=softtoken&algorithm=SHA1&digits=6&period=30","server_time":1764345600}"#;
    for body in [cut, short_secret, "\u{0}\u{1}garbage"] {
        let responder = Responder::http("201 Created", "content-type: application/json\r\n", body);
        fails(
            &softtoken(&store, Some(&responder.url), &[]),
            "is not a softtoken service's answer",
        );
        assert!(store.vault_bytes().is_none(), "nothing stored");
    }
    // Bytes that are not HTTP at all: no answer from a service.
    let noise = Responder::answering("SSH-2.0-OpenSSH_9.6\r\n".into());
    let out = softtoken(&store, Some(&noise.url), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&noise.url),
        "{}",
        text(&out.stderr)
    );
    assert!(store.vault_bytes().is_none(), "nothing stored");
}

#[test]
fn sync_time_takes_the_services_clock() {
    let store = TempDir::new("service", "sync");
    ok(&softtoken(&store, None, &[]));
    let ahead = now() + 3600;
    let responder = Responder::http(
        "200 OK",
        "content-type: application/json\r\n",
        &format!(r#"{{"server_time":{ahead},"zone":"UTC","load":0.25}}"#),
    );
    let out = ok(&softtoken(&store, Some(&responder.url), &["sync-time"]));
    let offset: i64 = out
        .trim()
        .strip_prefix("Clock offset: ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!((3598..=3600).contains(&offset), "{offset}");
    let shown = ok(&softtoken(&store, None, &["clock-offset"]));
    assert_eq!(shown.trim(), format!("Clock offset: {offset:+} s"));
}
