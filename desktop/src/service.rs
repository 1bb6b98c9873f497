//! The token service over HTTP: the core's transport hook with ureq (blocking,
//! rustls), and the first run, `provision` and `sync-time` on top of it.

use softtoken_core::provision::{HttpReply, Transport, TransportError};
use softtoken_core::vault::VAULT_KEY;
use softtoken_core::{Clock, TokenInfo, Vault, VaultError};
use std::time::Duration;
use zeroize::Zeroizing;

/// The largest answer read from the service (a token reply is well under 1 KiB).
const MAX_BODY: u64 = 64 * 1024;

/// HTTP through ureq: every answer is returned whatever its status; redirects are not followed
/// (a redirect is not the service's answer: a captive portal or a wrong URL).
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A client with bounded waits: 5 s to connect, 20 s in all.
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(20)))
            .user_agent(concat!("softtoken/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: config.into(),
        }
    }
}

fn reply(
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<HttpReply, TransportError> {
    let mut response = answer.map_err(|e| TransportError(e.to_string()))?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| TransportError(format!("the answer could not be read: {e}")))?;
    Ok(HttpReply {
        status: response.status().as_u16(),
        body: Zeroizing::new(body),
        retry_after,
    })
}

impl Transport for UreqTransport {
    fn post_json(&self, url: &str, body: &[u8]) -> Result<HttpReply, TransportError> {
        reply(
            self.agent
                .post(url)
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .send(body),
        )
    }

    fn get(&self, url: &str) -> Result<HttpReply, TransportError> {
        reply(
            self.agent
                .get(url)
                .header("accept", "application/json")
                .call(),
        )
    }
}

/// The service URL from `--service` or `SOFTTOKEN_SERVICE`, when one is set (an empty value is none).
pub fn configured(service: Option<&str>) -> Option<&str> {
    service.map(str::trim).filter(|s| !s.is_empty())
}

/// Gets a token from the service at `url` and stores it, with the clock offset from the service's time.
pub fn provision<C: Clock>(
    vault: &mut Vault<crate::filestore::FileStore, C>,
    url: &str,
) -> Result<TokenInfo, VaultError> {
    vault.provision(url, &UreqTransport::new())
}

/// The first run: a token from the service when one is configured, else issued here (offline).
pub fn first_token<C: Clock>(
    vault: &mut Vault<crate::filestore::FileStore, C>,
    service: Option<&str>,
) -> Result<(), VaultError> {
    let stored_in = vault.store().path_of(VAULT_KEY);
    match configured(service) {
        Some(url) => {
            let token = provision(vault, url)?;
            eprintln!(
                "Got a new token from the token service at {url}, serial {}. Register it with your bank. (Stored in {})",
                token.serial,
                stored_in.display()
            );
        }
        None => {
            let token = vault.issue()?;
            eprintln!(
                "Issued a new token, serial {}. Register it with your bank. (Stored in {})",
                token.serial,
                stored_in.display()
            );
            eprintln!("No token service configured (--service URL or SOFTTOKEN_SERVICE): the token was issued offline on this PC.");
        }
    }
    Ok(())
}
