//! Every flow of the bank guide (B1–B9, T5–T7) end to end over HTTP, the same
//! tests on SQLite and on PostgreSQL.

mod common;

use common::{outcome, Server};
use serde_json::json;

both!(
    b1_register_with_serial_and_current_code,
    |s: Server| async move {
        let token = s.issue().await;
        let code = token.code_at(s.now());
        let unknown = s
            .op(
                &s.bank,
                "c1",
                "register",
                json!({"serial": "SSTA 0000 0000", "code": code}),
            )
            .await;
        assert_eq!(outcome(&unknown), "unknown_serial");
        assert_eq!(
            unknown["attempts_left"], 9,
            "an unknown serial is a failed attempt"
        );
        // The serial as a person types it: grouped, lower case.
        let grouped = format!(
            "{} {} {}",
            &token.serial[..4].to_lowercase(),
            &token.serial[4..8],
            &token.serial[8..]
        );
        let answer = s
            .op(
                &s.bank,
                "c1",
                "register",
                json!({"serial": grouped, "code": code}),
            )
            .await;
        assert_eq!(outcome(&answer), "accepted");
        let status = s.status("c1").await;
        assert_eq!(status["serial"], token.serial.as_str());
        assert_eq!(status["state"], "active");
        assert_eq!(
            (
                status["failures"].as_u64(),
                status["attempts_left"].as_u64()
            ),
            (Some(0), Some(10))
        );
        s.next_step();
        assert_eq!(s.register("c1", &token).await, "already_registered");
    }
);

both!(
    b2_login_with_the_current_code_once,
    |s: Server| async move {
        let token = s.issue().await;
        assert_eq!(s.register("c", &token).await, "accepted");
        let used = token.code_at(s.now());
        assert_eq!(
            s.login("c", &used).await,
            "replayed",
            "the registration used this step"
        );
        s.next_step();
        let code = token.code_at(s.now());
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(s.login("c", &spaced).await, "accepted");
        assert_eq!(s.login("c", &code).await, "replayed");
        assert_eq!(
            s.login("c", &used).await,
            "replayed",
            "older than the last accepted step"
        );
        assert_eq!(s.login("nobody", &code).await, "not_registered");
    }
);

both!(b3_stop_using_then_register_again, |s: Server| async move {
    let token = s.issue().await;
    s.register("c", &token).await;
    s.next_step();
    let code = token.code_at(s.now());
    assert_eq!(
        outcome(&s.op(&s.bank, "c", "stop", json!({"code": code})).await),
        "accepted"
    );
    assert_eq!(s.status("c").await["state"], "stopped");
    s.next_step();
    assert_eq!(s.login("c", &token.code_at(s.now())).await, "stopped");
    // The code that stopped the token cannot register it again: used up for the token.
    let again = s
        .op(
            &s.bank,
            "c",
            "register",
            json!({"serial": token.serial, "code": code}),
        )
        .await;
    assert_eq!(outcome(&again), "replayed");
    s.next_step();
    assert_eq!(s.register("c", &token).await, "accepted");
});

both!(
    b4_lockout_at_exactly_ten_until_the_branch_unlocks,
    |s: Server| async move {
        let token = s.issue().await;
        s.register("c", &token).await;
        s.next_step();
        let wrong = token.wrong_at(s.now(), 0);
        for left in (0..10).rev() {
            let answer = s.op(&s.bank, "c", "login", json!({"code": wrong})).await;
            assert_eq!(outcome(&answer), "wrong_code");
            assert_eq!(answer["attempts_left"], left);
        }
        assert_eq!(
            s.login("c", &token.code_at(s.now())).await,
            "locked",
            "even the right code"
        );
        let status = s.status("c").await;
        assert_eq!(
            (status["state"].as_str(), status["failures"].as_u64()),
            (Some("locked"), Some(10))
        );
        // The bank's key cannot unlock: that is the branch's.
        let (code, body) = s
            .post("/v1/contracts/c/unlock", Some(&s.bank), json!({}))
            .await;
        assert_eq!(code, 401, "{body}");
        assert!(body["error"].as_str().unwrap().contains("branch"));
        assert_eq!(
            s.branch_action("c", "unlock", Some("Hanako")).await,
            "accepted"
        );
        assert_eq!(s.branch_action("c", "unlock", None).await, "not_applicable");
        assert_eq!(s.login("c", &token.code_at(s.now())).await, "accepted");
        let events = s.audit("c").await;
        let unlock = events.iter().find(|e| e["event"] == "unlock").unwrap();
        assert_eq!(unlock["staff"], "Hanako");
    }
);

both!(
    b5_token_deleted_by_mistake_branch_reissues,
    |s: Server| async move {
        let token = s.issue().await;
        s.register("c", &token).await;
        let reinstalled = s.issue().await;
        assert_ne!(reinstalled.serial, token.serial);
        s.next_step();
        assert_eq!(s.register("c", &reinstalled).await, "already_registered");
        assert_eq!(
            s.branch_action("c", "unbind", Some("Taro")).await,
            "accepted"
        );
        assert_eq!(s.status("c").await["state"], "unbound");
        assert_eq!(s.register("c", &reinstalled).await, "accepted");
        let events = s.audit("c").await;
        let text = serde_json::to_string(&events).unwrap();
        for step in 0..3 {
            let t = common::START + step * 30;
            assert!(
                !text.contains(&token.code_at(t)),
                "no code in the audit log"
            );
            assert!(
                !text.contains(&reinstalled.code_at(t)),
                "no code in the audit log"
            );
        }
        let names: Vec<&str> = events
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["register", "register", "unbind", "register"]);
        assert_eq!(events[2]["staff"], "Taro");
    }
);

both!(
    b6_device_change_with_the_old_token_working,
    |s: Server| async move {
        let old = s.issue().await;
        s.register("c", &old).await;
        let new = s.issue().await;
        s.next_step();
        let now = s.now();
        let wrong_new = s
        .op(&s.bank, "c", "exchange", json!({"old_code": old.code_at(now), "new_serial": new.serial, "new_code": new.wrong_at(now, 0)}))
        .await;
        assert_eq!(
            (outcome(&wrong_new), wrong_new["attempts_left"].as_u64()),
            ("wrong_code".into(), Some(9))
        );
        assert_eq!(
            s.status("c").await["serial"],
            old.serial.as_str(),
            "nothing moved"
        );
        // The old code was right: it is used up even though the exchange failed.
        let again = s
        .op(&s.bank, "c", "exchange", json!({"old_code": old.code_at(now), "new_serial": new.serial, "new_code": new.code_at(now)}))
        .await;
        assert_eq!(outcome(&again), "replayed");
        s.next_step();
        let now = s.now();
        let done = s
        .op(&s.bank, "c", "exchange", json!({"old_code": old.code_at(now), "new_serial": new.serial, "new_code": new.code_at(now)}))
        .await;
        assert_eq!(outcome(&done), "accepted");
        let status = s.status("c").await;
        assert_eq!(
            (status["serial"].as_str(), status["failures"].as_u64()),
            (Some(new.serial.as_str()), Some(0))
        );
        s.next_step();
        assert_eq!(s.login("c", &old.code_at(s.now())).await, "wrong_code");
        assert_eq!(s.login("c", &new.code_at(s.now())).await, "accepted");
    }
);

both!(
    b7_device_change_with_the_old_token_unavailable,
    |s: Server| async move {
        let old = s.issue().await;
        s.register("c", &old).await;
        let new = s.issue().await;
        s.next_step();
        assert_eq!(s.register("c", &new).await, "already_registered");
        assert_eq!(s.branch_action("c", "unbind", None).await, "accepted");
        assert_eq!(s.register("c", &new).await, "accepted");
        s.next_step();
        assert_eq!(s.login("c", &old.code_at(s.now())).await, "wrong_code");
    }
);

both!(
    b8_stopping_before_discarding_needs_no_branch,
    |s: Server| async move {
        let old = s.issue().await;
        s.register("c", &old).await;
        s.next_step();
        let stop = s
            .op(&s.bank, "c", "stop", json!({"code": old.code_at(s.now())}))
            .await;
        assert_eq!(outcome(&stop), "accepted");
        let new = s.issue().await;
        assert_eq!(s.register("c", &new).await, "accepted");
        assert_eq!(s.status("c").await["serial"], new.serial.as_str());
    }
);

both!(
    b9_lost_device_suspended_and_resumed_by_the_branch,
    |s: Server| async move {
        let token = s.issue().await;
        s.register("c", &token).await;
        assert_eq!(
            s.branch_action("c", "suspend", Some("Jiro")).await,
            "accepted"
        );
        assert_eq!(
            s.branch_action("c", "suspend", None).await,
            "not_applicable"
        );
        s.next_step();
        let code = token.code_at(s.now());
        assert_eq!(s.login("c", &code).await, "suspended");
        assert_eq!(
            outcome(&s.op(&s.bank, "c", "stop", json!({"code": code})).await),
            "suspended"
        );
        assert_eq!(s.register("c", &token).await, "suspended");
        assert_eq!(s.status("c").await["state"], "suspended");
        assert_eq!(s.branch_action("c", "resume", None).await, "accepted");
        assert_eq!(s.login("c", &code).await, "accepted");
        // A contract the bank has no token for can be suspended too.
        assert_eq!(s.branch_action("new", "suspend", None).await, "accepted");
        assert_eq!(s.register("new", &token).await, "suspended");
        assert_eq!(
            s.branch_action("nobody", "resume", None).await,
            "not_registered"
        );
    }
);

both!(
    t5_every_installation_gets_a_new_serial_and_secret,
    |s: Server| async move {
        let mut serials = std::collections::HashSet::new();
        let mut secrets = std::collections::HashSet::new();
        for platform in ["android", "ios", "desktop"] {
            for _ in 0..5 {
                let (status, body) = s
                    .post("/v1/tokens", None, json!({"platform": platform}))
                    .await;
                assert_eq!(status, 201, "{body}");
                let serial = body["serial"].as_str().unwrap();
                let parsed =
                    softtoken_core::Serial::parse(serial).expect("a serial with a check digit");
                assert_eq!(parsed.as_str(), serial);
                let prefix = match platform {
                    "android" => "SSTA",
                    "ios" => "SSTI",
                    _ => "SSTD",
                };
                assert!(serial.starts_with(prefix), "{serial}");
                let secret = body["secret"].as_str().unwrap();
                assert_eq!(
                    softtoken_core::Secret::from_base32(secret).unwrap().len(),
                    20
                );
                assert_eq!(
                    (
                        body["algorithm"].as_str(),
                        body["digits"].as_u64(),
                        body["period"].as_u64()
                    ),
                    (Some("SHA1"), Some(6), Some(30))
                );
                assert_eq!(body["server_time"], common::START);
                let uri = softtoken_core::KeyUri::parse(body["key_uri"].as_str().unwrap()).unwrap();
                assert_eq!(uri.secret.to_base32().as_str(), secret);
                assert_eq!(uri.serial().unwrap().as_str(), serial);
                assert!(serials.insert(serial.to_string()));
                assert!(secrets.insert(secret.to_string()));
            }
        }
        let (status, body) = s.raw(reqwest::Method::POST, "/v1/tokens", None, None).await;
        assert_eq!(status, 201, "no body is the default platform: {body}");
        assert!(body["serial"].as_str().unwrap().starts_with("SSTD"));
        let (status, body) = s
            .post("/v1/tokens", None, json!({"platform": "windows"}))
            .await;
        assert_eq!(status, 400);
        assert!(
            body["error"].as_str().unwrap().contains("windows"),
            "{body}"
        );
        let (status, body) = s.get("/v1/time", None).await;
        assert_eq!(
            (status, body["server_time"].as_u64()),
            (200, Some(common::START))
        );
    }
);

both!(
    t6_one_token_for_several_contracts_and_banks,
    |s: Server| async move {
        let token = s.issue().await;
        assert_eq!(s.register("alice-savings", &token).await, "accepted");
        s.next_step();
        assert_eq!(s.register("alice-business", &token).await, "accepted");
        s.next_step();
        assert_eq!(
            s.register_with(&s.other_bank.clone(), "alice@other", &token)
                .await,
            "accepted"
        );
        s.next_step();
        let code = token.code_at(s.now());
        assert_eq!(s.login("alice-savings", &code).await, "accepted");
        // Used up for the token everywhere: at the bank's other contract and at the other bank.
        assert_eq!(s.login("alice-business", &code).await, "replayed");
        let other = s
            .op(&s.other_bank, "alice@other", "login", json!({"code": code}))
            .await;
        assert_eq!(outcome(&other), "replayed");
        s.next_step();
        let other = s
            .op(
                &s.other_bank,
                "alice@other",
                "login",
                json!({"code": token.code_at(s.now())}),
            )
            .await;
        assert_eq!(outcome(&other), "accepted");
        // Each bank sees only its own contracts.
        let (status, body) = s
            .get("/v1/contracts/alice-savings", Some(&s.other_bank))
            .await;
        assert_eq!(status, 404, "{body}");
        let (status, _) = s.get("/v1/contracts/alice@other", Some(&s.bank)).await;
        assert_eq!(status, 404);
        assert_eq!(
            s.login("alice@other", &token.code_at(s.now())).await,
            "not_registered"
        );
        let (status, _) = s
            .get("/v1/contracts/alice-savings/audit", Some(&s.other_branch))
            .await;
        assert_eq!(status, 404);
        let unlock = s
            .op(&s.other_branch, "alice-savings", "unbind", json!({}))
            .await;
        assert_eq!(outcome(&unlock), "not_registered");
        assert_eq!(s.status("alice-savings").await["state"], "active");
    }
);

both!(
    t7_one_contract_has_one_token_at_a_time,
    |s: Server| async move {
        let a = s.issue().await;
        let b = s.issue().await;
        assert_eq!(s.register("c", &a).await, "accepted");
        assert_eq!(s.register("c", &b).await, "already_registered");
        s.next_step();
        assert_eq!(s.login("c", &b.code_at(s.now())).await, "wrong_code");
        assert_eq!(s.login("c", &a.code_at(s.now())).await, "accepted");
    }
);

both!(ops_health_metrics_and_openapi, |s: Server| async move {
    let (status, body) = s.get("/healthz", None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let token = s.issue().await;
    s.register("c", &token).await;
    let text = s
        .client
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("softtoken_outcomes_total{event=\"register\",outcome=\"accepted\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "softtoken_requests_total{method=\"POST\",route=\"/v1/tokens\",status=\"201\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("softtoken_request_seconds_bucket"));
    let (status, doc) = s.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    for path in [
        "/v1/tokens",
        "/v1/time",
        "/v1/contracts/{contract}",
        "/v1/contracts/{contract}/register",
        "/v1/contracts/{contract}/login",
        "/v1/contracts/{contract}/stop",
        "/v1/contracts/{contract}/exchange",
        "/v1/contracts/{contract}/unlock",
        "/v1/contracts/{contract}/unbind",
        "/v1/contracts/{contract}/suspend",
        "/v1/contracts/{contract}/resume",
        "/v1/contracts/{contract}/audit",
        "/healthz",
        "/metrics",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let (status, body) = s.get("/no/such/route", None).await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
});
