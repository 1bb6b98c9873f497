//! Bad input, concurrency, and issuance limits, on SQLite and PostgreSQL.

mod common;

use common::{outcome, Options, Server};
use serde_json::{json, Value};
use std::sync::Arc;

/// What a bank can see of the database for one contract: its status and its audit length.
async fn snapshot(s: &Server, contract: &str) -> (Value, usize) {
    (s.status(contract).await, s.audit(contract).await.len())
}

/// POSTs a 1 MiB body to `path` over a plain socket and reads the answer. The service refuses
/// it from its Content-Length alone and closes the connection unread, so the request goes out
/// in one write of its head and first kilobyte: a client still writing the rest would race the
/// early 413 and could see only the closed connection.
async fn huge_body(s: &Server, path: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        s.bank,
        1 << 20
    )
    .into_bytes();
    request.extend_from_slice(b"{\"code\": \"");
    request.resize(request.len() + 1024, b'1');
    stream.write_all(&request).await.expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, value)
}

both!(
    bad_input_is_a_4xx_with_a_message_and_changes_nothing,
    |s: Server| async move {
        let token = s.issue().await;
        s.register("c", &token).await;
        s.next_step();
        let before = snapshot(&s, "c").await;
        let login = "/v1/contracts/c/login";
        let cases: Vec<(&str, Option<&str>, Vec<u8>, u16)> = vec![
            (
                "malformed JSON",
                Some(s.bank.as_str()),
                b"{\"code\": ".to_vec(),
                400,
            ),
            (
                "not an object",
                Some(s.bank.as_str()),
                b"[1,2,3]".to_vec(),
                400,
            ),
            (
                "wrong type",
                Some(s.bank.as_str()),
                br#"{"code": 123456}"#.to_vec(),
                400,
            ),
            (
                "missing field",
                Some(s.bank.as_str()),
                br#"{}"#.to_vec(),
                400,
            ),
            (
                "unknown field",
                Some(s.bank.as_str()),
                br#"{"code": "123456", "extra": 1}"#.to_vec(),
                400,
            ),
            (
                "not UTF-8",
                Some(s.bank.as_str()),
                vec![b'{', 0xff, 0xfe, b'}'],
                400,
            ),
            (
                "long code",
                Some(s.bank.as_str()),
                format!("{{\"code\": \"{}\"}}", "1".repeat(100)).into_bytes(),
                400,
            ),
            ("no key", None, br#"{"code": "123456"}"#.to_vec(), 401),
            (
                "wrong key",
                Some("stb_0000"),
                br#"{"code": "123456"}"#.to_vec(),
                401,
            ),
            (
                "branch key on a bank route",
                Some(s.branch.as_str()),
                br#"{"code": "123456"}"#.to_vec(),
                401,
            ),
        ];
        for (what, key, body, want) in cases {
            let (status, answer) = s.raw(reqwest::Method::POST, login, key, Some(body)).await;
            assert_eq!(status, want, "{what}: {answer}");
            let message = answer["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no message: {answer}"));
            assert!(!message.is_empty(), "{what}");
        }
        let (status, answer) = huge_body(&s, login).await;
        assert_eq!(status, 413, "huge body: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
        let (status, answer) = s
            .raw(
                reqwest::Method::POST,
                "/v1/contracts/c/register",
                Some(&s.bank),
                Some(br#"{"serial": "x", "code": ["1"]}"#.to_vec()),
            )
            .await;
        assert_eq!(status, 400, "{answer}");
        let (status, answer) = s
            .raw(
                reqwest::Method::POST,
                "/v1/contracts/c/suspend",
                Some(&s.branch),
                Some(br#"{"staff": 7}"#.to_vec()),
            )
            .await;
        assert_eq!(status, 400, "{answer}");
        let (status, answer) = s
            .raw(
                reqwest::Method::POST,
                "/v1/tokens",
                None,
                Some(br#"{"platform": "android", "x": 1}"#.to_vec()),
            )
            .await;
        assert_eq!(status, 400, "{answer}");
        // serde reads a struct from an array; an optional body that is an array is still refused
        for op in ["unlock", "unbind", "suspend", "resume"] {
            for body in ["[]", " [null]", "\"x\"", "0", "\n", " "] {
                let (status, answer) = s
                    .raw(
                        reqwest::Method::POST,
                        &format!("/v1/contracts/c/{op}"),
                        Some(&s.branch),
                        Some(body.as_bytes().to_vec()),
                    )
                    .await;
                assert_eq!(status, 400, "{op} with {body}: {answer}");
            }
        }
        let (status, answer) = s
            .raw(
                reqwest::Method::POST,
                "/v1/tokens",
                None,
                Some(b"[]".to_vec()),
            )
            .await;
        assert_eq!(status, 400, "{answer}");
        let (status, answer) = s
            .raw(reqwest::Method::DELETE, login, Some(&s.bank), None)
            .await;
        assert_eq!(status, 405, "{answer}");
        let (status, answer) = s.get("/v1/contracts/never-seen", Some(&s.bank)).await;
        assert_eq!(status, 404, "{answer}");
        assert_eq!(
            snapshot(&s, "c").await,
            before,
            "nothing changed in the database"
        );
        assert_eq!(s.login("c", &token.code_at(s.now())).await, "accepted");
    }
);

both!(
    sixteen_clients_with_the_same_right_code_exactly_one_accepted,
    |s: Server| async move {
        let s = Arc::new(s);
        for round in 0..3 {
            let contract = format!("race-{round}");
            let token = s.issue().await;
            assert_eq!(s.register(&contract, &token).await, "accepted");
            s.next_step();
            let code = token.code_at(s.now());
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let (s, contract, code) = (s.clone(), contract.clone(), code.clone());
                    tokio::spawn(async move { s.login(&contract, &code).await })
                })
                .collect();
            let mut outcomes = Vec::new();
            for t in tasks {
                outcomes.push(t.await.unwrap());
            }
            let accepted = outcomes.iter().filter(|o| *o == "accepted").count();
            assert_eq!(accepted, 1, "round {round}: {outcomes:?}");
            assert!(
                outcomes.iter().all(|o| o == "accepted" || o == "replayed"),
                "{outcomes:?}"
            );
        }
    }
);

both!(
    forty_wrong_codes_lock_at_exactly_ten,
    |s: Server| async move {
        let s = Arc::new(s);
        let token = s.issue().await;
        s.register("c", &token).await;
        s.next_step();
        let wrong = token.wrong_at(s.now(), 0);
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (s, wrong) = (s.clone(), wrong.clone());
                tokio::spawn(
                    async move { s.op(&s.bank, "c", "login", json!({"code": wrong})).await },
                )
            })
            .collect();
        let mut left = Vec::new();
        let mut locked = 0;
        for t in tasks {
            let answer = t.await.unwrap();
            match outcome(&answer).as_str() {
                "wrong_code" => left.push(answer["attempts_left"].as_u64().unwrap()),
                "locked" => locked += 1,
                other => panic!("{other}"),
            }
        }
        left.sort_unstable();
        assert_eq!(
            left,
            (0..10).collect::<Vec<u64>>(),
            "each failure counted once"
        );
        assert_eq!(locked, 30);
        let status = s.status("c").await;
        assert_eq!(
            (status["state"].as_str(), status["failures"].as_u64()),
            (Some("locked"), Some(10))
        );
    }
);

both!(
    one_code_for_a_token_at_two_contracts_is_accepted_once,
    |s: Server| async move {
        let s = Arc::new(s);
        let token = s.issue().await;
        s.register("a", &token).await;
        s.next_step();
        s.register("b", &token).await;
        s.next_step();
        let code = token.code_at(s.now());
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (s, code) = (s.clone(), code.clone());
                tokio::spawn(
                    async move { s.login(if i % 2 == 0 { "a" } else { "b" }, &code).await },
                )
            })
            .collect();
        let mut accepted = 0;
        for t in tasks {
            if t.await.unwrap() == "accepted" {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 1);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuance_is_rate_limited_per_address() {
    let options = Options {
        issue: softtoken_server::IssueLimits {
            per_minute: 1,
            burst: 3,
        },
        ..Options::default()
    };
    let s = common::start_with(common::Db::Sqlite, options)
        .await
        .unwrap();
    for _ in 0..3 {
        let (status, _) = s.post("/v1/tokens", None, json!({})).await;
        assert_eq!(status, 201);
    }
    let response = s
        .client
        .post(format!("{}/v1/tokens", s.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let header: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!((1..=60).contains(&header), "{header}");
    assert_eq!(body["retry_after"], header);
    assert!(body["error"].as_str().unwrap().contains("too many"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockout_threshold_is_configurable() {
    let options = Options {
        lockout: 3,
        ..Options::default()
    };
    let s = common::start_with(common::Db::Sqlite, options)
        .await
        .unwrap();
    let token = s.issue().await;
    s.register("c", &token).await;
    s.next_step();
    let wrong = token.wrong_at(s.now(), 0);
    for _ in 0..3 {
        assert_eq!(s.login("c", &wrong).await, "wrong_code");
    }
    assert_eq!(s.login("c", &wrong).await, "locked");
}

/// The database refuses connections for a while: 503 with a message and
/// `retry_after`, nothing half-written, and the service recovers by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_is_a_503_and_the_service_recovers() {
    use sqlx::Connection;
    let Some(s) = common::start(common::Db::Postgres).await else {
        return;
    };
    let name = s.pg_name.clone().unwrap();
    let token = s.issue().await;
    s.register("c", &token).await;
    s.next_step();
    let mut admin = sqlx::PgConnection::connect(&common::postgres_url())
        .await
        .unwrap();
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&mut admin)
        .await
        .unwrap();
    let code = token.code_at(s.now());
    for _ in 0..3 {
        let (status, body) = s
            .post(
                "/v1/contracts/c/login",
                Some(&s.bank),
                json!({"code": code}),
            )
            .await;
        assert_eq!(status, 503, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("database"),
            "{body}"
        );
        assert!(body["retry_after"].as_u64().is_some(), "{body}");
    }
    let (status, _) = s.get("/healthz", None).await;
    assert_eq!(status, 503);
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (status, _) = s.get("/healthz", None).await;
    assert_eq!(status, 200, "recovered by itself");
    assert_eq!(
        s.login("c", &code).await,
        "accepted",
        "nothing was half-written"
    );
    assert_eq!(s.login("c", &code).await, "replayed");
}

both!(
    tokens_from_outside_need_sixteen_byte_secrets,
    |s: Server| async move {
        // 10 bytes: refused (RFC 4226 R6).
        let short = "otpauth://totp/Vendor:SYMC11112222?secret=JBSWY3DPEHPK3PXPJBSW&issuer=Vendor";
        let err = s.store.import(short).await.unwrap_err().to_string();
        assert!(err.contains("at least 16 bytes"), "{err}");
        let long = "otpauth://totp/Vendor:SYMC11112222?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN&issuer=Vendor";
        assert_eq!(s.store.import(long).await.unwrap(), "SYMC11112222");
        assert!(
            s.store.import(long).await.is_err(),
            "a serial is taken once"
        );
        let secret =
            softtoken_core::Secret::from_base32("IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN").unwrap();
        let totp = softtoken_core::Totp::new(
            &secret,
            softtoken_core::Algorithm::Sha1,
            softtoken_core::Digits::SIX,
            30,
        )
        .unwrap();
        let code = totp.at(s.now()).unwrap().value.to_string();
        let answer = s
            .op(
                &s.bank,
                "vip",
                "register",
                json!({"serial": "SYMC11112222", "code": code}),
            )
            .await;
        assert_eq!(outcome(&answer), "accepted");
    }
);
