//! softtoken-server: the token service. Apps get their tokens here
//! (`POST /v1/tokens`); banks register them to contracts and check codes; the
//! branch unlocks, unbinds, suspends and resumes. The state lives in SQLite
//! (embedded, the default) or PostgreSQL; the rules are the core's.
#![forbid(unsafe_code)]

pub mod api;
pub mod crypto;
pub mod db;
pub mod limit;
pub mod metrics;

pub use api::{router, AppState, Limits};
pub use db::{Backend, Store, StoreError};

use std::net::SocketAddr;
use std::sync::Arc;

/// Issuance limits per client address.
#[derive(Debug, Clone, Copy)]
pub struct IssueLimits {
    /// Tokens per minute, on average.
    pub per_minute: u32,
    /// Tokens at once.
    pub burst: u32,
}

impl Default for IssueLimits {
    fn default() -> Self {
        Self {
            per_minute: 10,
            burst: 20,
        }
    }
}

/// The app over a store: the router with its state, ready to serve with the peer address known.
pub fn app(
    store: Arc<Store>,
    issue: IssueLimits,
    limits: Limits,
    behind_proxy: bool,
) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr> {
    let state = AppState {
        store,
        metrics: Arc::new(metrics::Metrics::default()),
        limiter: Arc::new(limit::RateLimiter::new(issue.per_minute, issue.burst)),
        behind_proxy,
    };
    router(state, limits).into_make_service_with_connect_info::<SocketAddr>()
}
