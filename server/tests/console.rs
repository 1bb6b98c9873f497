//! The branch console in a real browser: headless Chromium driven over
//! WebDriver (chromedriver) by fantoccini, against the service on 127.0.0.1
//! with a temporary SQLite database and two banks. The customer's side goes
//! through the bank API. Screenshots of the main pages are saved under
//! `target/console-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/setup.sh). When
//! they are missing the tests fail in CI (env `CI` set) and are skipped
//! loudly elsewhere. Every wait is bounded.
#![cfg(unix)]

mod common;

use common::{outcome, Db, Server, Token};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One browser at a time: the machine is small and Chromium is not.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// The longest any single browser step may take.
const STEP: Duration = Duration::from_secs(20);
/// The longest a whole test may take.
const WHOLE_TEST: Duration = Duration::from_secs(180);

const STAFF: &str = "佐藤 花子";

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// chromedriver and a headless Chromium session, ended on drop.
struct Browser {
    client: Option<Client>,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium runs in chromedriver's own process group: end the whole group, so
        // no browser outlives its test (whether it passed, panicked or timed out).
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium; `None` (loudly) when not installed outside CI.
    async fn start() -> Option<Browser> {
        let driver_path = find_program(&["chromedriver"]);
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
        let (Some(driver_path), Some(chromium)) = (driver_path, chromium) else {
            let message = "Chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver; scripts/setup.sh does it)";
            if std::env::var_os("CI").is_some() {
                panic!("{message}");
            }
            // Straight to stderr: the test harness hides eprintln! of a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!! SKIPPED the console browser tests: {message} !!!!!\n"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut browser = Browser {
            client: None,
            driver,
        };
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1100,900", "--lang=en-US", "--no-first-run"],
                "prefs": {"intl.accept_languages": "en-US,en"}
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let client = loop {
            let attempt = tokio::time::timeout(
                STEP,
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities.clone())
                    .connect(&url),
            )
            .await;
            match attempt {
                Ok(Ok(c)) => break c,
                other => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "chromedriver on {url} did not start a session within 30 s: {other:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(STEP),
                Some(STEP),
                Some(Duration::ZERO),
            ))
            .await
            .expect("timeouts");
        browser.client = Some(client);
        Some(browser)
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    async fn goto(&self, url: &str) {
        tokio::time::timeout(STEP, self.c().goto(url))
            .await
            .unwrap_or_else(|_| panic!("loading {url} took over {STEP:?}"))
            .unwrap_or_else(|e| panic!("loading {url}: {e}"));
    }

    /// Waits (bounded) for an element.
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.c()
            .wait()
            .at_most(STEP)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no '{css}' within {STEP:?}: {e}"))
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    async fn body(&self) -> String {
        self.text("body").await
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Clicks and waits (bounded) until a new page has loaded that shows `then`.
    async fn click(&self, css: &str, then: &str) {
        let old_page = self.find("html").await;
        self.find(css).await.click().await.expect("click");
        let deadline = tokio::time::Instant::now() + STEP;
        // The old page's element goes stale once the browser has left it.
        while old_page.tag_name().await.is_ok() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "clicking '{css}' did not load a new page within {STEP:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.find(then).await;
    }

    async fn screenshot(&self, name: &str) {
        let png = tokio::time::timeout(STEP, self.c().screenshot())
            .await
            .expect("screenshot in time")
            .expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    async fn sign_in(&self, base: &str, key: &str, staff: &str) {
        self.goto(&format!("{base}/console/signin")).await;
        self.type_into("#key", key).await;
        self.type_into("#staff", staff).await;
        self.click("form.card button[type=submit]", "main").await;
    }

    /// Finds a contract with the search form.
    async fn open_contract(&self, base: &str, contract: &str) {
        self.goto(&format!("{base}/console/contracts")).await;
        self.type_into("#c", contract).await;
        self.click("form.search button", "main h1").await;
    }

    /// Runs a branch action from the contract page through its confirmation; the outcome shown.
    async fn act(&self, action: &str, shot: Option<&str>) -> String {
        self.click(&format!("a.button.{action}"), "#confirm").await;
        if let Some(name) = shot {
            self.screenshot(&format!("{name}-confirm")).await;
        }
        self.click("#confirm", "#outcome").await;
        if let Some(name) = shot {
            self.screenshot(&format!("{name}-done")).await;
        }
        self.text("#outcome").await
    }
}

fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("console-screenshots")
}

/// Runs `body` with a fresh service on `db` and a browser, one test at a time, bounded in time.
async fn with_browser<F, Fut>(db: Db, body: F)
where
    F: FnOnce(Server, Browser) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = common::start(db).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    tokio::time::timeout(WHOLE_TEST, body(server, browser))
        .await
        .expect("the test finished within its time bound");
}

/// Registers a fresh token to bank A's `contract`, then moves on a step.
async fn registered(s: &Server, contract: &str) -> Token {
    let token = s.issue().await;
    assert_eq!(s.register(contract, &token).await, "accepted");
    s.next_step();
    token
}

/// Locks bank A's `contract` with wrong codes through the bank API.
async fn lock(s: &Server, contract: &str, token: &Token) {
    for _ in 0..10 {
        assert_eq!(
            s.login(contract, &token.wrong_at(s.now(), 0)).await,
            "wrong_code"
        );
    }
    assert_eq!(s.status(contract).await["state"], "locked");
}

async fn staff_of_last(s: &Server, contract: &str, event: &str) -> Option<String> {
    s.audit(contract)
        .await
        .iter()
        .rev()
        .find(|e| e["event"] == event)
        .and_then(|e| e["staff"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b4_staff_unlock_a_locked_contract_and_the_customer_logs_in_again() {
    with_browser(Db::Sqlite, unlock_flow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b4_on_postgresql_too() {
    with_browser(Db::Postgres, unlock_flow).await;
}

/// B4 through the console: a contract locked through the bank API, unlocked by staff; the customer logs in again.
async fn unlock_flow(s: Server, b: Browser) {
    let token = registered(&s, "0012345").await;
    lock(&s, "0012345", &token).await;
    assert_eq!(s.login("0012345", &token.code_at(s.now())).await, "locked");

    b.goto(&format!("{}/console/signin?lang=en", s.base)).await;
    b.screenshot("01-signin").await;
    b.sign_in(&s.base, &s.branch, STAFF).await;
    assert!(b.body().await.contains(STAFF), "the staff member is shown");
    b.open_contract(&s.base, "0012345").await;
    assert_eq!(b.text("#state").await, "Locked after wrong codes");
    assert_eq!(b.text("#failures").await, "10");
    let page = b.body().await;
    assert!(page.contains(&format!(
        "{} {} {}",
        &token.serial[..4],
        &token.serial[4..8],
        &token.serial[8..]
    )));
    assert!(
        page.contains("Wrong code") && page.contains("Registration"),
        "the history: {page}"
    );
    b.screenshot("02-contract-locked").await;

    assert_eq!(b.act("unlock", Some("03-unlock")).await, "Accepted");
    let done = b.body().await;
    assert!(
        done.contains("0012345"),
        "the confirmation names the contract"
    );
    assert!(
        done.contains("can log in again"),
        "and says what the customer does next"
    );

    s.next_step();
    assert_eq!(
        s.login("0012345", &token.code_at(s.now())).await,
        "accepted"
    );
    assert_eq!(s.status("0012345").await["state"], "active");
    assert_eq!(
        staff_of_last(&s, "0012345", "unlock").await.as_deref(),
        Some(STAFF)
    );

    // The history shows the unlock with the staff member's name, and never a code.
    b.open_contract(&s.base, "0012345").await;
    let history = b.text("#history").await;
    assert!(
        history.contains("Unlock") && history.contains(STAFF),
        "{history}"
    );
    assert_eq!(b.text("#state").await, "Active");
    b.screenshot("04-contract-after-unlock").await;
    let source = b.c().source().await.expect("source");
    assert!(
        !source.contains(&token.code_at(s.now())),
        "no code on the page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b9_suspend_refuses_logins_until_resumed() {
    with_browser(Db::Sqlite, |s, b| async move {
        let token = registered(&s, "C-77").await;
        b.sign_in(&s.base, &s.branch, "Tanaka").await;
        b.open_contract(&s.base, "C-77").await;
        assert_eq!(b.act("suspend", Some("05-suspend")).await, "Accepted");
        assert!(b.body().await.contains("ask the branch to resume"));

        assert_eq!(s.login("C-77", &token.code_at(s.now())).await, "suspended");
        s.next_step();
        assert_eq!(s.login("C-77", &token.code_at(s.now())).await, "suspended");
        assert_eq!(s.status("C-77").await["state"], "suspended");

        b.open_contract(&s.base, "C-77").await;
        assert_eq!(b.text("#state").await, "Suspended");
        assert_eq!(b.act("resume", None).await, "Accepted");
        s.next_step();
        assert_eq!(s.login("C-77", &token.code_at(s.now())).await, "accepted");
        assert_eq!(
            staff_of_last(&s, "C-77", "suspend").await.as_deref(),
            Some("Tanaka")
        );
        assert_eq!(
            staff_of_last(&s, "C-77", "resume").await.as_deref(),
            Some("Tanaka")
        );

        // Signing out ends the session in this browser.
        b.click("form[action='/console/signout'] button", "#key")
            .await;
        b.goto(&format!("{}/console/contracts?c=C-77", s.base))
            .await;
        b.find("#key").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b5_b7_reissue_then_the_new_token_registers() {
    with_browser(Db::Sqlite, |s, b| async move {
        let old = registered(&s, "9000001").await;
        // A new phone: the app gets a new token; the old one is lost.
        let new = s.issue().await;
        assert_eq!(s.register("9000001", &new).await, "already_registered");

        b.sign_in(&s.base, &s.branch, STAFF).await;
        b.goto(&format!("{}/console/contracts?c=9000001&lang=ja", s.base))
            .await;
        assert_eq!(b.text("#state").await, "利用中");
        b.screenshot("06-contract-ja").await;
        assert_eq!(b.act("unbind", Some("07-reissue-ja")).await, "成功");
        assert!(
            b.body().await.contains("初回と同じ手順で利用登録"),
            "the next step in Japanese"
        );

        assert_eq!(s.status("9000001").await["state"], "unbound");
        s.next_step();
        assert_eq!(s.register("9000001", &new).await, "accepted");
        assert_eq!(s.status("9000001").await["serial"], new.serial.as_str());
        s.next_step();
        assert_ne!(s.login("9000001", &old.code_at(s.now())).await, "accepted");
        assert_eq!(
            staff_of_last(&s, "9000001", "unbind").await.as_deref(),
            Some(STAFF)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_csrf_token_is_refused() {
    with_browser(Db::Sqlite, |s, b| async move {
        let token = registered(&s, "c1").await;
        b.sign_in(&s.base, &s.branch, "Suzuki").await;
        b.goto(&format!("{}/console/action?c=c1&a=suspend&lang=en", s.base)).await;
        // A forged form: the token removed from the page before submitting.
        b.c()
            .execute(
                "document.querySelector(\"form[action='/console/action'] input[name=csrf]\").value = '';",
                vec![],
            )
            .await
            .expect("script");
        b.click("#confirm", "p.notice").await;
        assert!(b.body().await.contains("did not come from the console"));
        b.screenshot("08-forged-form").await;
        assert_eq!(s.status("c1").await["state"], "active", "nothing changed");

        // The same from outside the browser, with the browser's session cookie but no or another token.
        let cookie = b
            .c()
            .get_named_cookie("softtoken-console")
            .await
            .expect("the session cookie");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for form in ["c=c1&a=suspend", "c=c1&a=suspend&csrf=00112233445566778899aabbccddeeff"] {
            let r = http
                .post(format!("{}/console/action", s.base))
                .header("Cookie", format!("softtoken-console={}", cookie.value()))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{form}");
        }
        // Without a session at all.
        let r = http
            .post(format!("{}/console/action", s.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("c=c1&a=unbind")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(s.status("c1").await["state"], "active", "nothing changed");
        assert_eq!(s.login("c1", &token.code_at(s.now())).await, "accepted");
        assert!(s.audit("c1").await.iter().all(|e| e["event"] != "suspend" && e["event"] != "unbind"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_keys_are_refused_then_rate_limited_and_the_bank_key_does_not_sign_in() {
    with_browser(Db::Sqlite, |s, b| async move {
        b.goto(&format!("{}/console/signin?lang=en", s.base)).await;
        b.sign_in(&s.base, &s.bank, "Ito").await;
        assert!(b.body().await.contains("the bank key does not sign in"));
        for _ in 1..5 {
            b.sign_in(
                &s.base,
                "stbr_0000000000000000000000000000000000000000000000000000000000000000",
                "Ito",
            )
            .await;
            assert!(b.body().await.contains("This key does not sign in"));
        }
        // Five failures: now even the right key is refused for a while.
        b.sign_in(&s.base, &s.branch, "Ito").await;
        let page = b.body().await;
        assert!(page.contains("Too many failed sign-ins"), "{page}");
        b.screenshot("09-rate-limited").await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = http
            .post(format!("{}/console/signin", s.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("key={}&staff=Ito", s.branch))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&wait), "{wait}");
        // Still signed out: the contract pages send the browser to sign in.
        b.goto(&format!("{}/console/contracts", s.base)).await;
        b.find("#key").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_banks_contract_is_not_visible() {
    with_browser(Db::Sqlite, |s, b| async move {
        let token = s.issue().await;
        assert_eq!(
            s.register_with(&s.other_bank.clone(), "B-1", &token).await,
            "accepted"
        );
        b.sign_in(&s.base, &s.branch, "Kato").await;
        b.open_contract(&s.base, "B-1").await;
        assert!(b
            .body()
            .await
            .contains("Your bank has no contract with this ID"));
        b.goto(&format!("{}/console/action?c=B-1&a=suspend", s.base))
            .await;
        assert!(b
            .body()
            .await
            .contains("Your bank has no contract with this ID"));
        assert!(b.c().find(Locator::Css("#confirm")).await.is_err());
        // Even with a valid session and CSRF token, a POST for it is a 404 that changes nothing.
        b.goto(&format!("{}/console/contracts", s.base)).await;
        let csrf = b
            .find("form[action='/console/signout'] input[name=csrf]")
            .await
            .attr("value")
            .await
            .unwrap()
            .unwrap();
        let cookie = b.c().get_named_cookie("softtoken-console").await.unwrap();
        let r = reqwest::Client::new()
            .post(format!("{}/console/action", s.base))
            .header("Cookie", format!("softtoken-console={}", cookie.value()))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("c=B-1&a=suspend&csrf={csrf}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let (status, body) = s.get("/v1/contracts/B-1", Some(&s.other_bank)).await;
        assert_eq!((status, body["state"].as_str()), (200, Some("active")));
        s.next_step();
        let answer = s
            .op(
                &s.other_bank,
                "B-1",
                "login",
                json!({"code": token.code_at(s.now())}),
            )
            .await;
        assert_eq!(outcome(&answer), "accepted");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_in_japanese_or_english_with_strict_headers_and_cookies() {
    with_browser(Db::Sqlite, |s, b| async move {
        // The browser asks for English; the switch link turns the pages Japanese and it sticks.
        b.goto(&format!("{}/console/signin", s.base)).await;
        assert_eq!(b.text("h1").await, "Sign in");
        b.click("nav a[lang=ja]", "nav a[lang=en]").await;
        assert_eq!(b.text("h1").await, "サインイン");
        b.sign_in(&s.base, &s.branch, STAFF).await;
        assert_eq!(b.text("h1").await, "契約の検索");
        b.screenshot("10-find-ja").await;

        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for (accept, heading) in [
            ("ja,en;q=0.5", "サインイン"),
            ("en-GB,en;q=0.9", "Sign in"),
            ("fr", "サインイン"),
        ] {
            let r = http
                .get(format!("{}/console/signin", s.base))
                .header("Accept-Language", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let headers = r.headers().clone();
            let csp = headers["content-security-policy"].to_str().unwrap();
            for part in [
                "default-src 'none'",
                "style-src 'self'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            ] {
                assert!(csp.contains(part), "{csp}");
            }
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert_eq!(headers["referrer-policy"], "no-referrer");
            let cookie = headers["set-cookie"].to_str().unwrap();
            assert!(
                cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
                "{cookie}"
            );
            let html = r.text().await.unwrap();
            assert!(
                html.contains(&format!("<h1>{heading}</h1>")),
                "{accept}: {html}"
            );
            assert!(!html.contains("<script"), "no script");
            assert!(!html.contains(" style="), "no inline style");
        }
        // Signed out, every console page sends the browser to sign in; unknown pages are HTML 404s.
        let r = http
            .get(format!("{}/console/contracts?c=x", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (
                r.status().as_u16(),
                r.headers()["location"].to_str().unwrap()
            ),
            (303, "/console/signin")
        );
        let r = http
            .get(format!("{}/console/nothing", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        // A session ends after its working day: the browser is sent to sign in again.
        b.goto(&format!("{}/console/contracts", s.base)).await;
        assert_eq!(b.text("h1").await, "契約の検索");
        s.clock.advance(8 * 3600);
        b.goto(&format!("{}/console/contracts", s.base)).await;
        b.find("#key").await;
        // The API's own 404 stays JSON.
        let (status, _) = s.get("/v1/nothing", None).await;
        assert_eq!(status, 404);
    })
    .await;
}
