//! The branch console: pages under `/console` where one bank's branch staff,
//! signed in with the bank's branch key and their own name, find a contract,
//! see its token, state and history, and unlock (B4), re-issue (B5, B7),
//! suspend and resume it (B9), in Japanese or English.
//!
//! Server-rendered HTML with plain forms and no script. Sessions are cookies
//! sealed under the master key (see [`session`]), so several server processes
//! behind a load balancer share them; every form carries the session's CSRF
//! token; every page has a strict Content-Security-Policy; failed sign-ins are
//! limited per client address. The cookie is `__Host-` and `Secure` except
//! for a browser on the same machine over plain HTTP (a loopback development
//! server), where a browser may refuse a `Secure` cookie.

mod pages;
mod session;
pub mod text;

use crate::api::AppState;
use crate::db::{ContractStatus, Event, Role, StoreError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::Markup;
use pages::Frame;
use serde::Deserialize;
use session::Session;
use softtoken_core::ledger::BindingState;
use softtoken_core::Outcome;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use text::{ActionText, Lang, Text};

/// The console's style sheet (the only style the CSP allows).
const STYLE: &str = include_str!("style.css");
/// Every console page's Content-Security-Policy: nothing but the console's own style sheet and forms.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Failed sign-ins allowed per client address in [`FAILURE_WINDOW`].
pub const MAX_FAILED_SIGNINS: u32 = 5;
/// The window failed sign-ins are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// A branch action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// B4.
    Unlock,
    /// B5, B7.
    Unbind,
    /// B9.
    Suspend,
    /// B9.
    Resume,
}

impl Action {
    const ALL: [Action; 4] = [
        Action::Unlock,
        Action::Unbind,
        Action::Suspend,
        Action::Resume,
    ];

    /// The name in forms and links.
    pub fn name(self) -> &'static str {
        self.event().name()
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    fn event(self) -> Event {
        match self {
            Action::Unlock => Event::Unlock,
            Action::Unbind => Event::Unbind,
            Action::Suspend => Event::Suspend,
            Action::Resume => Event::Resume,
        }
    }

    /// Its strings in a language.
    pub fn text(self, t: &Text) -> &ActionText {
        match self {
            Action::Unlock => &t.unlock,
            Action::Unbind => &t.unbind,
            Action::Suspend => &t.suspend,
            Action::Resume => &t.resume,
        }
    }

    /// The actions that change a contract in its present state.
    pub fn applicable(status: &ContractStatus) -> Vec<Action> {
        Self::ALL
            .into_iter()
            .filter(|a| match a {
                Action::Unlock => status.state == BindingState::Locked,
                Action::Unbind => status.serial.is_some(),
                Action::Suspend => status.state != BindingState::Suspended,
                Action::Resume => status.state == BindingState::Suspended,
            })
            .collect()
    }
}

/// Failed sign-ins per client address: at most [`MAX_FAILED_SIGNINS`] in [`FAILURE_WINDOW`] (per process).
#[derive(Debug, Default)]
struct SignInLimiter {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl SignInLimiter {
    /// Seconds until `addr` may try again, when it has used up its failures.
    fn blocked(&self, addr: IpAddr, now: Instant) -> Option<u64> {
        let failures = self.failures.lock().ok()?;
        let (count, since) = failures.get(&addr)?;
        let elapsed = now.saturating_duration_since(*since);
        (*count >= MAX_FAILED_SIGNINS && elapsed < FAILURE_WINDOW)
            .then(|| (FAILURE_WINDOW - elapsed).as_secs().max(1))
    }

    fn fail(&self, addr: IpAddr, now: Instant) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= 100_000 {
            failures.retain(|_, (_, since)| now.saturating_duration_since(*since) < FAILURE_WINDOW);
        }
        let entry = failures.entry(addr).or_insert((0, now));
        if now.saturating_duration_since(entry.1) >= FAILURE_WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
    }
}

/// The console's shared state.
#[derive(Debug, Clone)]
struct Console {
    app: AppState,
    limiter: Arc<SignInLimiter>,
}

/// The console's routes; the service's router is its fallback (so the API keeps its own JSON error layer).
pub fn router(app: AppState) -> Router {
    let console = Console {
        app,
        limiter: Arc::new(SignInLimiter::default()),
    };
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/style.css", get(style))
        .route("/console/signin", get(signin_form).post(signin))
        .route("/console/signout", axum::routing::post(signout))
        .route("/console/contracts", get(contracts))
        .route("/console/action", get(confirm).post(act))
        .route("/console/{*rest}", axum::routing::any(not_found))
        .layer(axum::extract::DefaultBodyLimit::max(8 * 1024))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(10),
        ))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cache-control", "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// What a console request brings: language, session, client address, and whether the cookie is `Secure`.
struct Ctx {
    lang: Lang,
    lang_chosen: bool,
    session: Option<Session>,
    secure: bool,
    addr: IpAddr,
    here: String,
    now: u64,
}

fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
}

impl FromRequestParts<Console> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Console,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let behind_proxy = state.app.behind_proxy;
        let forwarded = behind_proxy
            .then(|| {
                parts
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.rsplit(',').next())
                    .and_then(|v| v.trim().parse::<IpAddr>().ok())
            })
            .flatten();
        let addr = forwarded.or(peer).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        // Plain HTTP is served without a proxy only to loopback (or with --insecure-http);
        // a browser on the same machine may refuse Secure cookies there.
        let secure = behind_proxy || !peer.is_some_and(|p| p.is_loopback());
        let names = CookieNames::new(secure);
        let query: Vec<(String, String)> = parts
            .uri
            .query()
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default();
        let chosen = query
            .iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::from_code(v));
        let remembered = cookies(&parts.headers)
            .find(|(k, _)| *k == names.lang)
            .and_then(|(_, v)| Lang::from_code(v));
        let lang = chosen.or(remembered).unwrap_or_else(|| {
            Lang::from_accept_language(
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )
        });
        let now = state.app.store.now();
        let session = cookies(&parts.headers)
            .find(|(k, _)| *k == names.session)
            .and_then(|(_, v)| Session::open(&state.app.store, v, now));
        let rest: Vec<&(String, String)> = query.iter().filter(|(k, _)| k != "lang").collect();
        let here = if parts.method != axum::http::Method::GET {
            // The answer to a form: the switch link leads to the search page.
            "/console/contracts".to_string()
        } else if rest.is_empty() {
            parts.uri.path().to_string()
        } else {
            format!(
                "{}?{}",
                parts.uri.path(),
                serde_urlencoded::to_string(&rest).unwrap_or_default()
            )
        };
        Ok(Ctx {
            lang,
            lang_chosen: chosen.is_some(),
            session,
            secure,
            addr,
            here,
            now,
        })
    }
}

struct CookieNames {
    session: &'static str,
    lang: &'static str,
}

impl CookieNames {
    fn new(secure: bool) -> Self {
        if secure {
            Self {
                session: "__Host-softtoken-console",
                lang: "__Host-softtoken-console-lang",
            }
        } else {
            Self {
                session: "softtoken-console",
                lang: "softtoken-console-lang",
            }
        }
    }
}

impl Ctx {
    fn t(&self) -> &'static Text {
        self.lang.text()
    }

    /// The signed-in bank and session.
    fn signed_in(&self) -> Option<(crate::db::BankId, &Session)> {
        let s = self.session.as_ref()?;
        Some((s.bank()?, s))
    }

    fn cookie(&self, name: &str, value: &str, max_age: u64) -> String {
        format!(
            "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
            if self.secure { "; Secure" } else { "" }
        )
    }

    fn session_cookie(&self, value: &str, max_age: u64) -> String {
        self.cookie(CookieNames::new(self.secure).session, value, max_age)
    }

    /// An HTML page.
    fn page(&self, status: StatusCode, heading: &str, body: Markup, set: Vec<String>) -> Response {
        let frame = Frame {
            lang: self.lang,
            signed_in: self
                .signed_in()
                .map(|(_, s)| (s.staff.as_str(), s.csrf.as_str())),
            here: self.here.clone(),
        };
        let html = pages::page(&frame, heading, body).into_string();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
        let mut set = set;
        if self.lang_chosen {
            set.push(self.cookie(
                CookieNames::new(self.secure).lang,
                self.lang.code(),
                365 * 86_400,
            ));
        }
        for c in set {
            if let Ok(v) = HeaderValue::from_str(&c) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        response
    }

    fn redirect(&self, to: &str, set: Vec<String>) -> Response {
        let mut response =
            (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response();
        for c in set {
            if let Ok(v) = HeaderValue::from_str(&c) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        response
    }

    fn error(&self, status: StatusCode, message: &str) -> Response {
        let t = self.t();
        let heading = if status == StatusCode::NOT_FOUND {
            t.page_not_found
        } else {
            t.title
        };
        let kind = "error";
        let body = maud::html! {
            (pages::notice(kind, message))
            p { a href="/console/contracts" { (t.find_heading) } }
        };
        self.page(status, heading, body, Vec::new())
    }

    fn store_error(&self, e: &StoreError) -> Response {
        tracing::warn!("console: {e}");
        let mut r = self.error(StatusCode::SERVICE_UNAVAILABLE, self.t().unavailable);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    }
}

fn parse_form<T: for<'de> Deserialize<'de> + Default>(body: &Bytes) -> T {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn valid_contract(contract: &str) -> bool {
    !contract.is_empty()
        && contract.chars().count() <= 128
        && !contract.chars().any(char::is_control)
}

async fn home(ctx: Ctx) -> Response {
    if ctx.signed_in().is_some() {
        ctx.redirect("/console/contracts", Vec::new())
    } else {
        ctx.redirect("/console/signin", Vec::new())
    }
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

async fn not_found(ctx: Ctx) -> Response {
    ctx.error(StatusCode::NOT_FOUND, ctx.t().page_not_found)
}

/// The sign-in page with a form session (its CSRF token), and an optional error.
fn signin_page(
    state: &Console,
    ctx: &Ctx,
    status: StatusCode,
    staff: &str,
    error: Option<&str>,
) -> Response {
    let t = ctx.t();
    let reuse = ctx.session.as_ref().filter(|s| s.bank.is_none()).cloned();
    let Some(form) =
        reuse.or_else(|| Session::new(None, "", ctx.now, session::SIGN_IN_FORM_SECONDS))
    else {
        return ctx.error(StatusCode::INTERNAL_SERVER_ERROR, t.unavailable);
    };
    let Some(sealed) = form.seal(&state.app.store) else {
        return ctx.error(StatusCode::INTERNAL_SERVER_ERROR, t.unavailable);
    };
    let cookie = ctx.session_cookie(&sealed, session::SIGN_IN_FORM_SECONDS);
    ctx.page(
        status,
        t.signin_heading,
        pages::signin(t, &form.csrf, staff, error),
        vec![cookie],
    )
}

async fn signin_form(State(state): State<Console>, ctx: Ctx) -> Response {
    if ctx.signed_in().is_some() {
        return ctx.redirect("/console/contracts", Vec::new());
    }
    signin_page(&state, &ctx, StatusCode::OK, "", None)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignInForm {
    csrf: String,
    key: String,
    staff: String,
}

async fn signin(State(state): State<Console>, ctx: Ctx, body: Bytes) -> Response {
    let t = ctx.t();
    let form: SignInForm = parse_form(&body);
    let staff = form.staff.trim();
    if let Some(wait) = state.limiter.blocked(ctx.addr, Instant::now()) {
        let message = format!("{} {wait} {}", t.too_many, t.too_many_after);
        let mut r = signin_page(
            &state,
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            staff,
            Some(&message),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let form_session = ctx.session.as_ref().filter(|s| s.bank.is_none());
    if !form_session.is_some_and(|s| s.csrf_matches(&form.csrf)) {
        return signin_page(&state, &ctx, StatusCode::FORBIDDEN, staff, Some(t.forged));
    }
    if staff.is_empty() || staff.chars().count() > 100 || staff.chars().any(char::is_control) {
        return signin_page(
            &state,
            &ctx,
            StatusCode::BAD_REQUEST,
            staff,
            Some(t.staff_invalid),
        );
    }
    let key = form.key.trim();
    let found = if key.is_empty() || key.len() > 256 {
        None
    } else {
        match state.app.store.authenticate(key).await {
            Ok(found) => found,
            Err(e) => return ctx.store_error(&e),
        }
    };
    let Some((bank, Role::Branch)) = found else {
        state.limiter.fail(ctx.addr, Instant::now());
        tracing::info!("console: failed sign-in from {}", ctx.addr);
        return signin_page(
            &state,
            &ctx,
            StatusCode::UNAUTHORIZED,
            staff,
            Some(t.signin_refused),
        );
    };
    let Some(sealed) = Session::new(Some(bank), staff, ctx.now, session::SIGNED_IN_SECONDS)
        .and_then(|s| s.seal(&state.app.store))
    else {
        return ctx.error(StatusCode::INTERNAL_SERVER_ERROR, t.unavailable);
    };
    ctx.redirect(
        "/console/contracts",
        vec![ctx.session_cookie(&sealed, session::SIGNED_IN_SECONDS)],
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

async fn signout(ctx: Ctx, body: Bytes) -> Response {
    let form: CsrfForm = parse_form(&body);
    match ctx.signed_in() {
        Some((_, s)) if s.csrf_matches(&form.csrf) => {
            ctx.redirect("/console/signin", vec![ctx.session_cookie("", 0)])
        }
        Some(_) => ctx.error(StatusCode::FORBIDDEN, ctx.t().forged),
        None => ctx.redirect("/console/signin", Vec::new()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContractQuery {
    c: String,
    a: String,
}

async fn contracts(
    State(state): State<Console>,
    ctx: Ctx,
    query: axum::extract::RawQuery,
) -> Response {
    let Some((bank, _)) = ctx.signed_in() else {
        return ctx.redirect("/console/signin", Vec::new());
    };
    let t = ctx.t();
    let q: ContractQuery = query
        .0
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let contract = q.c.trim();
    if contract.is_empty() {
        return ctx.page(
            StatusCode::OK,
            t.find_heading,
            pages::find(t, "", None),
            Vec::new(),
        );
    }
    let status = if valid_contract(contract) {
        match state.app.store.status(bank, contract).await {
            Ok(s) => s,
            Err(e) => return ctx.store_error(&e),
        }
    } else {
        None
    };
    let Some(status) = status else {
        let body = pages::find(t, contract, Some(pages::notice("error", t.not_found)));
        return ctx.page(StatusCode::NOT_FOUND, t.find_heading, body, Vec::new());
    };
    let history = match state.app.store.audit_log(bank, contract, 200).await {
        Ok(h) => h,
        Err(e) => return ctx.store_error(&e),
    };
    let body = pages::find(t, contract, Some(pages::contract(t, &status, &history)));
    ctx.page(StatusCode::OK, t.find_heading, body, Vec::new())
}

async fn confirm(
    State(state): State<Console>,
    ctx: Ctx,
    query: axum::extract::RawQuery,
) -> Response {
    let Some((bank, session)) = ctx.signed_in() else {
        return ctx.redirect("/console/signin", Vec::new());
    };
    let t = ctx.t();
    let q: ContractQuery = query
        .0
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let Some(action) = Action::from_name(&q.a) else {
        return ctx.error(StatusCode::NOT_FOUND, t.page_not_found);
    };
    match found(&state, bank, &q.c).await {
        Ok(Some(_)) => {}
        Ok(None) => return ctx.error(StatusCode::NOT_FOUND, t.not_found),
        Err(e) => return ctx.store_error(&e),
    }
    let text = action.text(t);
    let body = pages::confirm(t, &q.c, action, text, &session.csrf);
    ctx.page(StatusCode::OK, text.name, body, Vec::new())
}

async fn found(
    state: &Console,
    bank: crate::db::BankId,
    contract: &str,
) -> Result<Option<ContractStatus>, StoreError> {
    if !valid_contract(contract) {
        return Ok(None);
    }
    state.app.store.status(bank, contract).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionForm {
    csrf: String,
    c: String,
    a: String,
}

async fn act(State(state): State<Console>, ctx: Ctx, body: Bytes) -> Response {
    let t = ctx.t();
    let Some((bank, session)) = ctx.signed_in() else {
        return ctx.error(StatusCode::FORBIDDEN, t.session_expired);
    };
    let form: ActionForm = parse_form(&body);
    if !session.csrf_matches(&form.csrf) {
        return ctx.error(StatusCode::FORBIDDEN, t.forged);
    }
    let Some(action) = Action::from_name(&form.a) else {
        return ctx.error(StatusCode::NOT_FOUND, t.page_not_found);
    };
    match found(&state, bank, &form.c).await {
        Ok(Some(_)) => {}
        Ok(None) => return ctx.error(StatusCode::NOT_FOUND, t.not_found),
        Err(e) => return ctx.store_error(&e),
    }
    let reply = match state
        .app
        .store
        .admin(bank, &form.c, action.event(), Some(&session.staff))
        .await
    {
        Ok(r) => r,
        Err(e) => return ctx.store_error(&e),
    };
    state
        .app
        .metrics
        .outcome(action.event().name(), reply.outcome.kind());
    let text = action.text(t);
    let applied = reply.outcome == Outcome::Accepted;
    let body = pages::done(
        t,
        &form.c,
        text,
        reply.outcome.kind(),
        applied,
        &session.staff,
    );
    let heading = format!("{} — {}", text.name, t.done);
    ctx.page(StatusCode::OK, &heading, body, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_signins_are_limited_per_address_for_a_window() {
        let l = SignInLimiter::default();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        let t = Instant::now();
        for _ in 0..MAX_FAILED_SIGNINS {
            assert_eq!(l.blocked(a, t), None);
            l.fail(a, t);
        }
        assert_eq!(l.blocked(a, t), Some(FAILURE_WINDOW.as_secs()));
        assert_eq!(l.blocked(b, t), None, "each address counts alone");
        assert_eq!(l.blocked(a, t + FAILURE_WINDOW), None, "the window ends");
        l.fail(a, t + FAILURE_WINDOW);
        assert_eq!(
            l.blocked(a, t + FAILURE_WINDOW),
            None,
            "a new window starts at one"
        );
    }

    #[test]
    fn cookies_are_host_only_and_secure_except_for_a_loopback_browser() {
        let ctx = |secure| Ctx {
            lang: Lang::En,
            lang_chosen: false,
            session: None,
            secure,
            addr: IpAddr::from([127, 0, 0, 1]),
            here: String::new(),
            now: 0,
        };
        assert_eq!(
            ctx(true).session_cookie("v", 60),
            "__Host-softtoken-console=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert_eq!(
            ctx(false).session_cookie("v", 60),
            "softtoken-console=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict"
        );
    }

    #[test]
    fn actions_offered_follow_the_state() {
        let status = |state, serial: Option<&str>| ContractStatus {
            contract: "c".into(),
            serial: serial.map(str::to_string),
            state,
            failures: 0,
            attempts_left: 10,
        };
        use Action::*;
        assert_eq!(
            Action::applicable(&status(BindingState::Active, Some("S"))),
            [Unbind, Suspend]
        );
        assert_eq!(
            Action::applicable(&status(BindingState::Locked, Some("S"))),
            [Unlock, Unbind, Suspend]
        );
        assert_eq!(
            Action::applicable(&status(BindingState::Suspended, Some("S"))),
            [Unbind, Resume]
        );
        assert_eq!(
            Action::applicable(&status(BindingState::Unbound, None)),
            [Suspend]
        );
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(a));
        }
        assert_eq!(Action::from_name("login"), None);
    }
}
