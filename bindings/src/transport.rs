//! The interface the app implements to reach the token service: its HTTP client.

use crate::errors::HostError;
use softtoken_core::provision::{HttpReply, TransportError};
use std::sync::Arc;
use zeroize::Zeroizing;

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body as received.
    pub body: Vec<u8>,
    /// The `Retry-After` header in seconds, when there was one.
    pub retry_after_seconds: Option<u64>,
}

/// The app's HTTP client (URLSession, HttpURLConnection, java.net.http). It returns every answer it
/// gets, whatever its status, and throws only when there was no answer at all (no network, timeout).
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    /// `POST`s `body` (JSON) to `url` with `Content-Type: application/json`.
    fn post(&self, url: String, body: Vec<u8>) -> Result<HttpResponse, HostError>;
    /// `GET`s `url`.
    fn get(&self, url: String) -> Result<HttpResponse, HostError>;
}

/// The app's HTTP client as the core's transport hook.
pub(crate) struct TransportAdapter(pub Arc<dyn HttpTransport>);

fn reply(r: Result<HttpResponse, HostError>) -> Result<HttpReply, TransportError> {
    let r = r.map_err(|e| TransportError(e.to_string()))?;
    Ok(HttpReply {
        status: r.status,
        body: Zeroizing::new(r.body),
        retry_after: r.retry_after_seconds,
    })
}

impl softtoken_core::Transport for TransportAdapter {
    fn post_json(&self, url: &str, body: &[u8]) -> Result<HttpReply, TransportError> {
        reply(self.0.post(url.to_string(), body.to_vec()))
    }
    fn get(&self, url: &str) -> Result<HttpReply, TransportError> {
        reply(self.0.get(url.to_string()))
    }
}
