//! The HTTP API (see PROTOCOL.md): routes, request and answer bodies, errors,
//! and the OpenAPI document generated from them.

use crate::db::{BankId, Event, Reply, Role, Store, StoreError};
use crate::limit::RateLimiter;
use crate::metrics::Metrics;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use softtoken_core::{Outcome, Prefix};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
    /// The counters.
    pub metrics: Arc<Metrics>,
    /// Issuance limits per client address.
    pub limiter: Arc<RateLimiter>,
    /// Take the client address from `X-Forwarded-For` (set by the operator's proxy).
    pub behind_proxy: bool,
}

/// An error answer: `{"error": …}` with an HTTP status, and `retry_after` for 429/503.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

/// The body of every 4xx/5xx answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong and what to do about it.
    pub error: String,
    /// Seconds to wait before trying again (429, 503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    fn retry(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!("{e}");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).retry(1)
            }
            StoreError::Refused(m) => ApiError::bad_request(m),
            other => {
                tracing::error!("{other}");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string())
            }
        }
    }
}

/// The JSON error response for a status, message and optional retry delay.
pub fn error_response(status: StatusCode, message: String, retry_after: Option<u64>) -> Response {
    let mut response = (
        status,
        Json(ErrorBody {
            error: message,
            retry_after,
        }),
    )
        .into_response();
    if let Some(seconds) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, self.message, self.retry_after)
    }
}

/// A JSON body parsed strictly (no body at all reads as `{}`): anything but an object or `null`, malformed JSON, wrong types and unknown fields are a 400 with serde's message.
#[derive(Debug)]
pub struct StrictJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), format!("could not read the body: {e}")))?;
        let body: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        // serde reads a struct from a JSON array too (`[]` is a struct of defaults); every
        // body here is an object, or null where the body is optional.
        if !matches!(
            body.iter().find(|b| !b.is_ascii_whitespace()),
            Some(b'{' | b'n')
        ) {
            return Err(ApiError::bad_request(
                "the request body is not valid: send a JSON object",
            ));
        }
        serde_json::from_slice(body)
            .map(StrictJson)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid: {e}")))
    }
}

// ---- bodies ----

/// `POST /v1/tokens` request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// The app's platform, which picks the serial prefix (SSTA, SSTI, SSTD); desktop when absent.
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// A platform.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Android: SSTA.
    Android,
    /// iOS: SSTI.
    Ios,
    /// Desktop: SSTD.
    Desktop,
}

/// A freshly issued token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedToken {
    /// 4 letters + 8 digits (Damm check digit), no spaces.
    pub serial: String,
    /// 20 random bytes, RFC 4648 base32, upper case, no padding.
    pub secret: String,
    /// SHA1, SHA256 or SHA512.
    pub algorithm: String,
    /// 6, 7 or 8.
    pub digits: u8,
    /// Seconds per code.
    pub period: u64,
    /// The otpauth:// URI of the same token.
    pub key_uri: String,
    /// The server's Unix time, so the app can correct its clock.
    pub server_time: u64,
}

/// The server's clock.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ServerTime {
    /// Unix time in seconds.
    pub server_time: u64,
}

/// B1: register a token to a contract.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The serial as the customer typed it: at most 64 characters.
    #[schema(max_length = 64)]
    pub serial: String,
    /// The token's current code: at most 64 characters.
    #[schema(max_length = 64)]
    pub code: String,
}

/// B2, B3: a code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The token's current code: at most 64 characters.
    #[schema(max_length = 64)]
    pub code: String,
}

/// B6: move the contract to a new token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The current code of the token bound now: at most 64 characters.
    #[schema(max_length = 64)]
    pub old_code: String,
    /// The new token's serial: at most 64 characters.
    #[schema(max_length = 64)]
    pub new_serial: String,
    /// The new token's current code: at most 64 characters.
    #[schema(max_length = 64)]
    pub new_code: String,
}

/// A branch action's optional body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchRequest {
    /// The staff member acting, recorded in the audit log: 1 to 100 characters without control characters; absent or null for none.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$"
    )]
    pub staff: Option<String>,
}

/// An authentication outcome (always HTTP 200).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OutcomeBody {
    /// accepted, wrong_code, replayed, locked, stopped, suspended, unknown_serial, not_registered, already_registered, not_applicable.
    pub outcome: String,
    /// Attempts left before lockout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// The outcome in words, for a person.
    pub message: String,
}

/// A contract's status.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusBody {
    /// The bank's customer ID.
    pub contract: String,
    /// The bound serial.
    pub serial: Option<String>,
    /// unbound, active, locked, stopped or suspended.
    pub state: String,
    /// Consecutive wrong codes.
    pub failures: u32,
    /// Attempts left before lockout.
    pub attempts_left: u32,
}

/// One audit event: never a code, never anything typed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEventBody {
    /// Unix time.
    pub time: i64,
    /// register, login, stop, exchange, unlock, unbind, suspend, resume.
    pub event: String,
    /// The outcome.
    pub outcome: String,
    /// The staff member named by the branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// The serial concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

/// A contract's audit history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditBody {
    /// Oldest first.
    pub events: Vec<AuditEventBody>,
}

/// Health.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// "ok".
    pub status: String,
    /// "sqlite" or "postgres".
    pub database: String,
}

// ---- helpers ----

fn outcome_body(state: &AppState, event: Event, reply: Reply) -> Json<OutcomeBody> {
    state.metrics.outcome(event.name(), reply.outcome.kind());
    Json(OutcomeBody {
        outcome: reply.outcome.kind().to_string(),
        attempts_left: match reply.outcome {
            Outcome::Accepted | Outcome::NotRegistered | Outcome::NotApplicable => None,
            _ => reply.attempts_left,
        },
        message: reply.outcome.to_string(),
    })
}

/// Whether `value` is 1 to `max` characters without control characters: the
/// rule the document states as `minLength: 1`, `maxLength: max` and
/// `pattern: ^[^\u0000-\u001F\u007F-\u009F]+$` (Unicode `Cc` is exactly those ranges).
fn within(value: &str, max: usize) -> bool {
    !value.is_empty() && value.chars().count() <= max && !value.chars().any(char::is_control)
}

/// The `{contract}` path parameter, as the OpenAPI document describes it to banks.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct ContractPath {
    /// The bank's customer ID: 1 to 128 characters without control characters.
    #[param(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$"
    )]
    contract: String,
}

/// The contract of a path, within the limits [`ContractPath`] documents.
fn checked_contract(contract: &str) -> Result<&str, ApiError> {
    if !within(contract, 128) {
        return Err(ApiError::bad_request(
            "a contract is 1 to 128 characters without control characters",
        ));
    }
    Ok(contract)
}

fn checked_field<'a>(name: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.chars().count() > 64 {
        return Err(ApiError::bad_request(format!(
            "{name} is longer than 64 characters"
        )));
    }
    Ok(value)
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    need: Role,
) -> Result<BankId, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "missing Authorization header: send 'Authorization: Bearer <key>'",
        ));
    };
    let key = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 256)
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be 'Bearer <key>'"))?;
    match state.store.authenticate(key).await? {
        Some((bank, role)) if role == need => Ok(bank),
        Some((_, Role::Bank)) => Err(ApiError::unauthorized(
            "this is a bank key: the branch's actions need the branch key",
        )),
        Some((_, Role::Branch)) => Err(ApiError::unauthorized(
            "this is a branch key: the bank's operations need the bank key",
        )),
        None => Err(ApiError::unauthorized("unknown API key")),
    }
}

fn client_address(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    if state.behind_proxy {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if let Some(addr) = forwarded {
            return addr;
        }
    }
    peer.ip()
}

// ---- handlers ----

/// Issues a token to an app.
#[utoipa::path(post, path = "/v1/tokens", request_body(content = Option<IssueRequest>, description = "optional"),
    responses((status = 201, body = IssuedToken), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn issue_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    StrictJson(request): StrictJson<Option<IssueRequest>>,
) -> Result<Response, ApiError> {
    let addr = client_address(&state, &headers, peer);
    if let Err(wait) = state.limiter.take(addr) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many tokens issued to {addr}: try again in {wait} s"),
        )
        .retry(wait));
    }
    let prefix = match request
        .unwrap_or_default()
        .platform
        .unwrap_or(Platform::Desktop)
    {
        Platform::Android => Prefix::ANDROID,
        Platform::Ios => Prefix::IOS,
        Platform::Desktop => Prefix::DESKTOP,
    };
    let issued = state.store.issue(prefix).await?;
    let body = IssuedToken {
        serial: issued.serial.clone(),
        secret: issued.secret.to_string(),
        algorithm: issued.params.algorithm.name().to_string(),
        digits: issued.params.digits.get(),
        period: issued.params.period().unwrap_or(30),
        key_uri: issued.key_uri.to_string(),
        server_time: state.store.now(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The server's time.
#[utoipa::path(get, path = "/v1/time", responses((status = 200, body = ServerTime)))]
async fn time(State(state): State<AppState>) -> Json<ServerTime> {
    Json(ServerTime {
        server_time: state.store.now(),
    })
}

/// B1: registers a token to the contract.
#[utoipa::path(post, path = "/v1/contracts/{contract}/register", request_body = RegisterRequest,
    params(ContractPath), security(("bank_key" = [])),
    responses((status = 200, body = OutcomeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    Path(ContractPath { contract }): Path<ContractPath>,
    headers: HeaderMap,
    StrictJson(r): StrictJson<RegisterRequest>,
) -> Result<Json<OutcomeBody>, ApiError> {
    let bank = authenticate(&state, &headers, Role::Bank).await?;
    let contract = checked_contract(&contract)?;
    let reply = state
        .store
        .register(
            bank,
            contract,
            checked_field("serial", &r.serial)?,
            checked_field("code", &r.code)?,
        )
        .await?;
    Ok(outcome_body(&state, Event::Register, reply))
}

/// B2: logs in with the current code.
#[utoipa::path(post, path = "/v1/contracts/{contract}/login", request_body = CodeRequest,
    params(ContractPath), security(("bank_key" = [])),
    responses((status = 200, body = OutcomeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    Path(ContractPath { contract }): Path<ContractPath>,
    headers: HeaderMap,
    StrictJson(r): StrictJson<CodeRequest>,
) -> Result<Json<OutcomeBody>, ApiError> {
    let bank = authenticate(&state, &headers, Role::Bank).await?;
    let contract = checked_contract(&contract)?;
    let reply = state
        .store
        .login(bank, contract, checked_field("code", &r.code)?)
        .await?;
    Ok(outcome_body(&state, Event::Login, reply))
}

/// B3: the customer stops the token with a current code.
#[utoipa::path(post, path = "/v1/contracts/{contract}/stop", request_body = CodeRequest,
    params(ContractPath), security(("bank_key" = [])),
    responses((status = 200, body = OutcomeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn stop(
    State(state): State<AppState>,
    Path(ContractPath { contract }): Path<ContractPath>,
    headers: HeaderMap,
    StrictJson(r): StrictJson<CodeRequest>,
) -> Result<Json<OutcomeBody>, ApiError> {
    let bank = authenticate(&state, &headers, Role::Bank).await?;
    let contract = checked_contract(&contract)?;
    let reply = state
        .store
        .stop(bank, contract, checked_field("code", &r.code)?)
        .await?;
    Ok(outcome_body(&state, Event::Stop, reply))
}

/// B6: moves the contract to a new token.
#[utoipa::path(post, path = "/v1/contracts/{contract}/exchange", request_body = ExchangeRequest,
    params(ContractPath), security(("bank_key" = [])),
    responses((status = 200, body = OutcomeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn exchange(
    State(state): State<AppState>,
    Path(ContractPath { contract }): Path<ContractPath>,
    headers: HeaderMap,
    StrictJson(r): StrictJson<ExchangeRequest>,
) -> Result<Json<OutcomeBody>, ApiError> {
    let bank = authenticate(&state, &headers, Role::Bank).await?;
    let contract = checked_contract(&contract)?;
    let reply = state
        .store
        .exchange(
            bank,
            contract,
            checked_field("old_code", &r.old_code)?,
            checked_field("new_serial", &r.new_serial)?,
            checked_field("new_code", &r.new_code)?,
        )
        .await?;
    Ok(outcome_body(&state, Event::Exchange, reply))
}

/// Where a contract stands.
#[utoipa::path(get, path = "/v1/contracts/{contract}",
    params(ContractPath), security(("bank_key" = [])),
    responses((status = 200, body = StatusBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn status(
    State(state): State<AppState>,
    Path(ContractPath { contract }): Path<ContractPath>,
    headers: HeaderMap,
) -> Result<Json<StatusBody>, ApiError> {
    let bank = authenticate(&state, &headers, Role::Bank).await?;
    let contract = checked_contract(&contract)?;
    let Some(s) = state.store.status(bank, contract).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("this bank has no contract '{contract}'"),
        ));
    };
    Ok(Json(StatusBody {
        contract: s.contract,
        serial: s.serial,
        state: s.state.name().to_string(),
        failures: s.failures,
        attempts_left: s.attempts_left,
    }))
}

async fn branch_action(
    state: AppState,
    contract: String,
    headers: HeaderMap,
    request: Option<BranchRequest>,
    event: Event,
) -> Result<Json<OutcomeBody>, ApiError> {
    let bank = authenticate(&state, &headers, Role::Branch).await?;
    let contract = checked_contract(&contract)?;
    let request = request.unwrap_or_default();
    if let Some(s) = request.staff.as_deref() {
        if !within(s, 100) {
            return Err(ApiError::bad_request(
                "staff is a name of 1 to 100 characters without control characters",
            ));
        }
    }
    let staff = request
        .staff
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let reply = state.store.admin(bank, contract, event, staff).await?;
    Ok(outcome_body(&state, event, reply))
}

/// B4 (branch): unlocks a locked contract.
#[utoipa::path(post, path = "/v1/contracts/{contract}/unlock", request_body(content = Option<BranchRequest>, description = "optional"),
    params(ContractPath), security(("branch_key" = [])),
    responses((status = 200, body = OutcomeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn unlock(
    State(state): State<AppState>,
    Path(ContractPath { contract }): Path<ContractPath>,
    headers: HeaderMap,
    StrictJson(r): StrictJson<Option<BranchRequest>>,
) -> Result<Json<OutcomeBody>, ApiError> {
    branch_action(state, contract, headers, r, Event::Unlock).await
}

/// B5, B7 (branch): removes the contract's token for re-issue.
#[utoipa::path(post, path = "/v1/contracts/{contract}/unbind", request_body(content = Option<BranchRequest>, description = "optional"),
    params(ContractPath), security(("branch_key" = [])),
    responses((status = 200, body = OutcomeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn unbind(
    State(state): State<AppState>,
    Path(ContractPath { contract }): Path<ContractPath>,
    headers: HeaderMap,
    StrictJson(r): StrictJson<Option<BranchRequest>>,
) -> Result<Json<OutcomeBody>, ApiError> {
    branch_action(state, contract, headers, r, Event::Unbind).await
}

/// B9 (branch): suspends the contract at once.
#[utoipa::path(post, path = "/v1/contracts/{contract}/suspend", request_body(content = Option<BranchRequest>, description = "optional"),
    params(ContractPath), security(("branch_key" = [])),
    responses((status = 200, body = OutcomeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn suspend(
    State(state): State<AppState>,
    Path(ContractPath { contract }): Path<ContractPath>,
    headers: HeaderMap,
    StrictJson(r): StrictJson<Option<BranchRequest>>,
) -> Result<Json<OutcomeBody>, ApiError> {
    branch_action(state, contract, headers, r, Event::Suspend).await
}

/// B9 (branch): resumes a suspended contract.
#[utoipa::path(post, path = "/v1/contracts/{contract}/resume", request_body(content = Option<BranchRequest>, description = "optional"),
    params(ContractPath), security(("branch_key" = [])),
    responses((status = 200, body = OutcomeBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn resume(
    State(state): State<AppState>,
    Path(ContractPath { contract }): Path<ContractPath>,
    headers: HeaderMap,
    StrictJson(r): StrictJson<Option<BranchRequest>>,
) -> Result<Json<OutcomeBody>, ApiError> {
    branch_action(state, contract, headers, r, Event::Resume).await
}

/// The contract's audit history (branch).
#[utoipa::path(get, path = "/v1/contracts/{contract}/audit",
    params(ContractPath), security(("branch_key" = [])),
    responses((status = 200, body = AuditBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn audit(
    State(state): State<AppState>,
    Path(ContractPath { contract }): Path<ContractPath>,
    headers: HeaderMap,
) -> Result<Json<AuditBody>, ApiError> {
    let bank = authenticate(&state, &headers, Role::Branch).await?;
    let contract = checked_contract(&contract)?;
    let events = state.store.audit_log(bank, contract, 1000).await?;
    if events.is_empty() && state.store.status(bank, contract).await?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("this bank has no contract '{contract}'"),
        ));
    }
    Ok(Json(AuditBody {
        events: events
            .into_iter()
            .map(|e| AuditEventBody {
                time: e.time,
                event: e.event,
                outcome: e.outcome,
                staff: e.staff,
                serial: e.serial,
            })
            .collect(),
    }))
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ping().await?;
    Ok(Json(Health {
        status: "ok".into(),
        database: match state.store.backend() {
            crate::db::Backend::Sqlite => "sqlite".into(),
            crate::db::Backend::Postgres => "postgres".into(),
        },
    }))
}

/// Prometheus text metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, content_type = "application/json", body = Object)))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["bank_key", "branch_key"] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The OpenAPI document of the whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "softtoken token service", description = "Issues tokens to apps and checks their codes for banks."),
    paths(issue_token, time, register, login, stop, exchange, status, unlock, unbind, suspend, resume, audit, healthz, metrics, openapi),
    modifiers(&Security)
)]
pub struct ApiDoc;

/// Records metrics, and gives every error answer a JSON `{"error"}` body (404 for unknown routes, 405, timeouts, …).
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let response = if (status.is_client_error() || status.is_server_error()) && !is_json {
        let message = match status {
            StatusCode::NOT_FOUND => "no such route: see /openapi.json".to_string(),
            StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this route".to_string(),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
                "the request took too long: try again".to_string()
            }
            StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_string(),
            other => other
                .canonical_reason()
                .unwrap_or("request failed")
                .to_string(),
        };
        let retry = (status == StatusCode::SERVICE_UNAVAILABLE).then_some(1);
        error_response(status, message, retry)
    } else {
        response
    };
    state.metrics.request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Limits on requests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body in bytes.
    pub max_body: usize,
    /// Longest a request may take.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 16 * 1024,
            timeout: Duration::from_secs(10),
        }
    }
}

/// The service's router.
pub fn router(state: AppState, limits: Limits) -> Router {
    Router::new()
        .route("/v1/tokens", post(issue_token))
        .route("/v1/time", get(time))
        .route("/v1/contracts/{contract}", get(status))
        .route("/v1/contracts/{contract}/register", post(register))
        .route("/v1/contracts/{contract}/login", post(login))
        .route("/v1/contracts/{contract}/stop", post(stop))
        .route("/v1/contracts/{contract}/exchange", post(exchange))
        .route("/v1/contracts/{contract}/unlock", post(unlock))
        .route("/v1/contracts/{contract}/unbind", post(unbind))
        .route("/v1/contracts/{contract}/suspend", post(suspend))
        .route("/v1/contracts/{contract}/resume", post(resume))
        .route("/v1/contracts/{contract}/audit", get(audit))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .layer(axum::extract::DefaultBodyLimit::max(limits.max_body))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            limits.max_body,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The control characters the document's patterns exclude.
    fn excluded(c: char) -> bool {
        matches!(c, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}')
    }

    #[test]
    fn the_documents_pattern_excludes_exactly_the_characters_the_server_refuses() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(c.is_control(), excluded(c), "{:?}", c);
        }
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let contract = &doc["paths"]["/v1/contracts/{contract}"]["get"]["parameters"][0]["schema"];
        let staff = &doc["components"]["schemas"]["BranchRequest"]["properties"]["staff"];
        for (schema, max) in [(contract, 128), (staff, 100)] {
            assert_eq!(
                schema["pattern"], r"^[^\u0000-\u001F\u007F-\u009F]+$",
                "{schema}"
            );
            assert_eq!(schema["minLength"], 1, "{schema}");
            assert_eq!(schema["maxLength"], max, "{schema}");
            assert!(within(&"x".repeat(max), max));
            assert!(!within(&"x".repeat(max + 1), max));
            assert!(!within("", max));
            assert!(!within("a\u{85}b", max));
        }
    }

    #[test]
    fn optional_bodies_are_not_required_in_the_document() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for path in ["/v1/tokens", "/v1/contracts/{contract}/unlock"] {
            let body = &doc["paths"][path]["post"]["requestBody"];
            assert_ne!(body["required"], true, "{path}: {body}");
        }
        let register = &doc["paths"]["/v1/contracts/{contract}/register"]["post"]["requestBody"];
        assert_eq!(register["required"], true, "{register}");
    }
}
