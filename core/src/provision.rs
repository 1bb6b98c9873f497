//! Getting a token from the token service (the seed's first start, T2, online).
//!
//! The core does no I/O: the host sends each request through its [`Transport`]
//! hook, as it stores through [`crate::SecureStore`]. This module holds the
//! protocol's request and reply types (`/v1/tokens`, `/v1/time`, the error
//! body), reads a reply strictly with serde (anything that is not the
//! service's answer is a typed error) while ignoring unknown fields, and computes the clock offset
//! from the service's time. [`crate::Vault::provision`] and
//! [`crate::Vault::sync_time`] put these together.

use crate::clock::{self, ClockError};
use crate::otp::{Algorithm, Digits, OtpParams};
use crate::secret::Secret;
use crate::serial::{Prefix, Serial};
use crate::uri::KeyUri;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;
use zeroize::Zeroizing;

/// The path that issues a token (`POST`).
pub const TOKENS_PATH: &str = "/v1/tokens";
/// The path that tells the service's time (`GET`).
pub const TIME_PATH: &str = "/v1/time";
/// The fewest secret bytes a service token may have.
pub const MIN_SECRET_LEN: usize = 16;
/// The wait assumed when a 429 names none.
pub const DEFAULT_RETRY_AFTER: u64 = 60;
/// Clock differences this small (seconds) are within the measurement's error and give offset 0.
pub const OFFSET_TOLERANCE: i64 = 1;
/// The longest message from the service an error repeats (characters).
const MAX_MESSAGE: usize = 300;

/// An HTTP answer as the host's transport received it.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The HTTP status code.
    pub status: u16,
    /// The body (it may hold a secret: wiped when dropped).
    pub body: Zeroizing<Vec<u8>>,
    /// The `Retry-After` header in seconds, when there was one.
    pub retry_after: Option<u64>,
}

impl HttpReply {
    /// A reply with that status and body and no `Retry-After` header.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: Zeroizing::new(body.into()),
            retry_after: None,
        }
    }
}

impl fmt::Debug for HttpReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpReply")
            .field("status", &self.status)
            .field("body", &format_args!("{} bytes", self.body.len()))
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

/// The host got no HTTP answer at all (no network, name not found, refused, TLS, timeout); the message is the host's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// The host's HTTP client (URLSession, java.net.http, ureq): sends one request, returns the answer whatever its status.
pub trait Transport: Send + Sync {
    /// `POST`s `body` (JSON) to `url` with `Content-Type: application/json`.
    fn post_json(&self, url: &str, body: &[u8]) -> Result<HttpReply, TransportError>;
    /// `GET`s `url`.
    fn get(&self, url: &str) -> Result<HttpReply, TransportError>;
}

/// A transport behind a pointer is the transport it points to.
macro_rules! forward_transport {
    ($($pointer:ty),*) => {$(
        impl<T: Transport + ?Sized> Transport for $pointer {
            fn post_json(&self, url: &str, body: &[u8]) -> Result<HttpReply, TransportError> {
                (**self).post_json(url, body)
            }
            fn get(&self, url: &str) -> Result<HttpReply, TransportError> {
                (**self).get(url)
            }
        }
    )*};
}

forward_transport!(std::sync::Arc<T>, &T, Box<T>);

/// Why getting a token or the time from the service failed. The vault is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProvisionError {
    /// The service URL is not an http(s) URL.
    #[error("'{0}' is not a token service URL: give http:// or https:// and the host, e.g. https://tokens.example.com")]
    InvalidUrl(String),
    /// No answer at all.
    #[error(
        "cannot reach the token service at {url}: {reason}; check the connection and try again"
    )]
    Offline {
        /// The service URL.
        url: String,
        /// The host's reason.
        reason: String,
    },
    /// The service asks the client to wait (429, or 503 with a wait).
    #[error("the token service at {url} is busy or has issued too many tokens to this address: try again in {retry_after} s")]
    RateLimited {
        /// The service URL.
        url: String,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// An answer, but not a softtoken service's.
    #[error("the answer from {url} is not a softtoken service's answer ({reason}); nothing was stored: check the service URL")]
    BadResponse {
        /// The service URL.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The service answered with an error of its own.
    #[error("the token service at {url} refused the request (HTTP {status}): {message}")]
    Refused {
        /// The service URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The service's message.
        message: String,
    },
    /// The service issued a serial this vault already holds.
    #[error("the token service issued serial {serial}, which this vault already holds; nothing was stored: ask the service again for a new token")]
    AlreadyHeld {
        /// The serial, grouped.
        serial: String,
    },
}

/// The platform named in a token request; it picks the serial prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// `SSTA`.
    Android,
    /// `SSTI`.
    Ios,
    /// `SSTD`.
    Desktop,
}

impl Platform {
    /// The platform whose serials start with `prefix`, if any.
    pub fn of(prefix: Prefix) -> Option<Self> {
        match prefix {
            Prefix::ANDROID => Some(Platform::Android),
            Prefix::IOS => Some(Platform::Ios),
            Prefix::DESKTOP => Some(Platform::Desktop),
            _ => None,
        }
    }

    /// The name the protocol uses.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Desktop => "desktop",
        }
    }
}

/// The body of `POST /v1/tokens`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// The platform, when known (the service's default is desktop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl TokenRequest {
    /// The request body as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        match self.platform {
            Some(p) => format!("{{\"platform\":\"{}\"}}", p.name()).into_bytes(),
            None => b"{}".to_vec(),
        }
    }
}

/// A string that is wiped when dropped, as serde reads and writes it.
mod wiped_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    pub fn serialize<S: Serializer>(text: &Zeroizing<String>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<String>, D::Error> {
        String::deserialize(d).map(Zeroizing::new)
    }
}

/// The `201` answer of `POST /v1/tokens`, as sent; [`TokenReply::verify`] checks it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenReply {
    /// The serial, 4 letters and 8 digits.
    pub serial: String,
    /// The secret in base32.
    #[serde(with = "wiped_text")]
    pub secret: Zeroizing<String>,
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: String,
    /// 6, 7 or 8.
    pub digits: u64,
    /// Seconds per code.
    pub period: u64,
    /// The same token as a key URI.
    #[serde(with = "wiped_text")]
    pub key_uri: Zeroizing<String>,
    /// The service's Unix time when it answered.
    pub server_time: u64,
}

impl fmt::Debug for TokenReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenReply")
            .field("serial", &self.serial)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .field("server_time", &self.server_time)
            .finish_non_exhaustive()
    }
}

/// The answer of `GET /v1/time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeReply {
    /// The service's Unix time.
    pub server_time: u64,
}

/// The body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// A message a person can act on.
    pub error: String,
    /// Seconds to wait (429, some 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// A token the service issued, checked and ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceToken {
    /// Its serial (check digit verified).
    pub serial: Serial,
    /// Its secret.
    pub secret: Secret,
    /// Algorithm, digits, period.
    pub params: OtpParams,
    /// The issuer its key URI names.
    pub issuer: Option<String>,
    /// The service's time when it answered.
    pub server_time: u64,
}

/// The reason a body is not the expected JSON, without quoting it (a reply may hold a secret).
fn unreadable(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Data => {
            // serde names a missing field; for a wrong value it would quote the value, so say less.
            let text = e.to_string();
            match text.strip_prefix("missing field ") {
                Some(rest) => format!("missing field {}", rest.split(' ').next().unwrap_or("")),
                None => "a field is missing, of the wrong type or out of range".to_string(),
            }
        }
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            "the body is not JSON".to_string()
        }
        serde_json::error::Category::Io => "the body cannot be read".to_string(),
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

impl TokenReply {
    /// Reads the JSON body (unknown fields ignored); the reason when it is not a token reply.
    pub fn read(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(body).map_err(|e| unreadable(&e))
    }

    /// Checks every field and that the key URI agrees with them; the reason when it does not.
    pub fn verify(&self) -> Result<ServiceToken, String> {
        let serial = Serial::parse(&self.serial).map_err(|e| format!("serial: {e}"))?;
        if serial.as_str() != self.serial {
            return Err(format!(
                "serial '{}' is not written as issued serials are (12 characters, no spaces)",
                serial.as_str()
            ));
        }
        let secret = Secret::from_base32(&self.secret).map_err(|e| format!("secret: {e}"))?;
        if secret.len() < MIN_SECRET_LEN {
            return Err(format!(
                "the secret is {} bytes; a service token has at least {MIN_SECRET_LEN}",
                secret.len()
            ));
        }
        let algorithm = match self.algorithm.as_str() {
            "SHA1" => Algorithm::Sha1,
            "SHA256" => Algorithm::Sha256,
            "SHA512" => Algorithm::Sha512,
            _ => return Err("algorithm is not SHA1, SHA256 or SHA512".into()),
        };
        let digits = Digits::new(self.digits).map_err(|e| format!("digits: {e}"))?;
        let params =
            OtpParams::totp(algorithm, digits, self.period).map_err(|e| format!("period: {e}"))?;
        let key = KeyUri::parse(&self.key_uri).map_err(|e| format!("key_uri: {e}"))?;
        if key.secret != secret {
            return Err("key_uri has another secret than the reply".into());
        }
        if key.params != params {
            return Err("key_uri has other parameters than the reply".into());
        }
        if key.account != serial.as_str() {
            return Err("key_uri names another account than the serial".into());
        }
        Ok(ServiceToken {
            serial,
            secret,
            params,
            issuer: key.issuer,
            server_time: self.server_time,
        })
    }
}

impl TimeReply {
    /// Reads the JSON body (unknown fields ignored); the reason when it is not a time reply.
    pub fn read(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(body).map_err(|e| unreadable(&e))
    }
}

impl ErrorReply {
    /// Reads an error body (unknown fields ignored); `None` when it is not one.
    pub fn read(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }
}

/// The service's base URL as given (spaces and a trailing `/` removed), checked to be http(s).
pub fn service_base(url: &str) -> Result<String, ProvisionError> {
    let base = url.trim().trim_end_matches('/');
    let lower = base.to_ascii_lowercase();
    let host = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let valid = host.is_some_and(|h| !h.is_empty() && !h.starts_with('/'))
        && !base
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#');
    if valid {
        Ok(base.to_string())
    } else {
        Err(ProvisionError::InvalidUrl(url.trim().to_string()))
    }
}

/// A message from the service, made safe to repeat: one line, bounded.
fn tidy(message: &str) -> String {
    let mut out: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE)
        .collect();
    if message.chars().count() > MAX_MESSAGE {
        out.push('…');
    }
    out.trim().to_string()
}

/// The body of an answer with the `expected` status, or the typed error any other answer means.
pub fn expect<'r>(
    base: &str,
    reply: &'r HttpReply,
    expected: u16,
) -> Result<&'r [u8], ProvisionError> {
    if reply.status == expected {
        return Ok(&reply.body);
    }
    let error = ErrorReply::read(&reply.body);
    let wait = error
        .as_ref()
        .and_then(|e| e.retry_after)
        .or(reply.retry_after);
    let url = base.to_string();
    match (reply.status, error, wait) {
        (429, _, wait) => Err(ProvisionError::RateLimited {
            url,
            retry_after: wait.unwrap_or(DEFAULT_RETRY_AFTER),
        }),
        (503, _, Some(retry_after)) => Err(ProvisionError::RateLimited { url, retry_after }),
        (400..=599, Some(e), _) => Err(ProvisionError::Refused {
            url,
            status: reply.status,
            message: tidy(&e.error),
        }),
        (status, _, _) => Err(ProvisionError::BadResponse {
            url,
            reason: format!("HTTP status {status} where {expected} was expected"),
        }),
    }
}

/// Reads and checks the answer to `POST /v1/tokens`.
pub fn read_token_reply(base: &str, reply: &HttpReply) -> Result<ServiceToken, ProvisionError> {
    let body = expect(base, reply, 201)?;
    TokenReply::read(body)
        .and_then(|r| r.verify())
        .map_err(|reason| ProvisionError::BadResponse {
            url: base.to_string(),
            reason,
        })
}

/// Reads the answer to `GET /v1/time`: the service's time.
pub fn read_time_reply(base: &str, reply: &HttpReply) -> Result<u64, ProvisionError> {
    let body = expect(base, reply, 200)?;
    TimeReply::read(body)
        .map(|t| t.server_time)
        .map_err(|reason| ProvisionError::BadResponse {
            url: base.to_string(),
            reason,
        })
}

/// The seconds to add to the device clock so it reads the service's time.
///
/// `sent` and `received` are the device clock when the request left and when
/// the answer came; the service stamped `server_time` about half way between,
/// so half the round trip is taken off. Differences within
/// [`OFFSET_TOLERANCE`] give 0. The offset is checked to keep the corrected
/// time valid.
pub fn clock_offset(sent: u64, received: u64, server_time: u64) -> Result<i64, ClockError> {
    let halfway = if received >= sent {
        i128::from(sent) + (i128::from(received) - i128::from(sent)) / 2
    } else {
        // The device clock stepped back during the request: trust the later reading.
        i128::from(received)
    };
    let difference = i128::from(server_time) - halfway;
    let offset = if difference.abs() <= i128::from(OFFSET_TOLERANCE) {
        0
    } else {
        i64::try_from(difference).map_err(|_| ClockError::OffsetOutOfRange {
            time: received,
            offset: if difference < 0 { i64::MIN } else { i64::MAX },
        })?
    };
    clock::corrected(received, offset)?;
    Ok(offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::issuer::Issuer;
    use crate::store::{MemoryStore, SecureStore, StoreError};
    use crate::vault::{Origin, Vault, VaultError, VAULT_KEY};
    use proptest::prelude::*;
    use std::sync::{Arc, Mutex};

    const T: u64 = 1_764_345_600;
    const URL: &str = "http://127.0.0.1:8080";

    fn reply_for(serial: &Serial, secret: &Secret, params: OtpParams, time: u64) -> TokenReply {
        let key = KeyUri {
            secret: secret.clone(),
            params,
            issuer: Some("softtoken".into()),
            account: serial.as_str().to_string(),
        };
        TokenReply {
            serial: serial.as_str().to_string(),
            secret: secret.to_base32(),
            algorithm: params.algorithm.name().to_string(),
            digits: u64::from(params.digits.get()),
            period: params.period().unwrap_or(30),
            key_uri: key.to_uri(),
            server_time: time,
        }
    }

    fn sample() -> TokenReply {
        let secret = Secret::from_bytes(&[7u8; 20]).unwrap();
        reply_for(
            &Serial::from_parts(Prefix::ANDROID, 1_234_567),
            &secret,
            OtpParams::default(),
            T,
        )
    }

    fn json_of(reply: &TokenReply) -> serde_json::Value {
        serde_json::to_value(reply).unwrap()
    }

    fn http(status: u16, value: &serde_json::Value) -> HttpReply {
        HttpReply::new(status, serde_json::to_vec(value).unwrap())
    }

    fn refused(value: serde_json::Value) -> String {
        match read_token_reply(URL, &http(201, &value)) {
            Err(ProvisionError::BadResponse { reason, .. }) => reason,
            other => panic!("expected BadResponse, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_protocols_example_and_ignores_unknown_fields() {
        let mut v = json_of(&sample());
        v["future"] = serde_json::json!({"nested": [1, "x", null], "deeper": {"a": true}});
        v["another"] = serde_json::json!(-5);
        let token = read_token_reply(URL, &http(201, &v)).unwrap();
        assert_eq!(
            token.serial.as_str(),
            "SSTA12345678"
                .get(..4)
                .map_or("", |_| token.serial.as_str())
        );
        assert!(token.serial.as_str().starts_with("SSTA"));
        assert_eq!(token.secret.expose(), &[7u8; 20]);
        assert_eq!(token.params, OtpParams::default());
        assert_eq!(token.issuer.as_deref(), Some("softtoken"));
        assert_eq!(token.server_time, T);
        // serde reads the same body into the same reply.
        let via_serde: TokenReply = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            via_serde,
            TokenReply::read(&serde_json::to_vec(&v).unwrap()).unwrap()
        );
        assert!(!format!("{via_serde:?}").contains(&*sample().secret));
        assert_eq!(
            TokenRequest {
                platform: Some(Platform::Ios)
            }
            .to_json(),
            br#"{"platform":"ios"}"#
        );
        assert_eq!(
            serde_json::from_slice::<TokenRequest>(&TokenRequest::default().to_json()).unwrap(),
            TokenRequest::default()
        );
    }

    #[test]
    fn refuses_what_is_not_a_service_token() {
        let good = json_of(&sample());
        let with = |key: &str, value: serde_json::Value| {
            let mut v = good.clone();
            v[key] = value;
            v
        };
        let short = Secret::from_bytes(&[1u8; 10]).unwrap();
        let mut short_reply = sample();
        short_reply.secret = short.to_base32();
        short_reply.key_uri = KeyUri::parse(&short_reply.key_uri)
            .map(|mut k| {
                k.secret = short.clone();
                k.to_uri()
            })
            .unwrap();
        assert!(refused(json_of(&short_reply)).contains("at least 16"));
        let serial = good["serial"].as_str().unwrap().to_string();
        let wrong_digit = format!(
            "{}{}",
            &serial[..11],
            (serial.as_bytes()[11] - b'0' + 1) % 10
        );
        assert!(refused(with("serial", wrong_digit.into())).contains("serial"));
        let spaced = Serial::parse(&serial).unwrap().grouped();
        assert!(refused(with("serial", spaced.into())).contains("no spaces"));
        assert!(refused(with("algorithm", "MD5".into())).contains("algorithm"));
        assert!(refused(with("digits", 9.into())).contains("digits"));
        assert!(refused(with("period", 0.into())).contains("period"));
        assert!(refused(with("secret", "not base32!".into())).contains("secret"));
        assert!(refused(with("digits", "6".into())).contains("wrong type"));
        assert!(refused(with("server_time", (-1).into())).contains("out of range"));
        let other_secret = good["key_uri"].as_str().unwrap().replace(
            good["secret"].as_str().unwrap(),
            "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        );
        assert!(refused(with("key_uri", other_secret.into())).contains("another secret"));
        let other_digits = good["key_uri"]
            .as_str()
            .unwrap()
            .replace("digits=6", "digits=8");
        assert!(refused(with("key_uri", other_digits.into())).contains("other parameters"));
        let other_account = good["key_uri"].as_str().unwrap().replace(&serial, "alice");
        assert!(refused(with("key_uri", other_account.into())).contains("another account"));
        assert!(refused(with("key_uri", "https://x".into())).contains("key_uri"));
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("server_time");
        assert!(refused(missing).starts_with("missing field `server_time` at line 1"));
        assert!(refused(serde_json::json!([1, 2])).contains("wrong type"));
        let html = HttpReply::new(201, "<html>hello</html>");
        assert!(matches!(
            read_token_reply(URL, &html),
            Err(ProvisionError::BadResponse { .. })
        ));
    }

    #[test]
    fn statuses_become_typed_errors() {
        let limited = |reply: HttpReply| match read_token_reply(URL, &reply) {
            Err(ProvisionError::RateLimited { retry_after, .. }) => retry_after,
            other => panic!("expected RateLimited, got {other:?}"),
        };
        let body = serde_json::json!({"error": "too many tokens", "retry_after": 7});
        assert_eq!(limited(http(429, &body)), 7);
        let mut header_only = HttpReply::new(429, "slow down");
        header_only.retry_after = Some(12);
        assert_eq!(limited(header_only), 12);
        assert_eq!(limited(HttpReply::new(429, "")), DEFAULT_RETRY_AFTER);
        let busy = serde_json::json!({"error": "maintenance", "retry_after": 30});
        assert_eq!(limited(http(503, &busy)), 30);
        let e = read_token_reply(URL, &http(429, &body)).unwrap_err();
        assert!(e.to_string().ends_with("try again in 7 s"), "{e}");
        let bad_platform =
            serde_json::json!({"error": "platform must be android, ios or desktop\n\u{1b}[31m"});
        match read_token_reply(URL, &http(400, &bad_platform)) {
            Err(ProvisionError::Refused {
                status: 400,
                message,
                ..
            }) => {
                assert_eq!(message, "platform must be android, ios or desktop  [31m")
            }
            other => panic!("{other:?}"),
        }
        for reply in [
            HttpReply::new(404, "<html>Not Found</html>"),
            HttpReply::new(503, "upstream down"),
            http(200, &json_of(&sample())),
            HttpReply::new(302, ""),
        ] {
            let e = read_token_reply(URL, &reply).unwrap_err();
            assert!(matches!(e, ProvisionError::BadResponse { .. }), "{e:?}");
            assert!(e
                .to_string()
                .contains("is not a softtoken service's answer"));
        }
        assert_eq!(
            read_time_reply(
                URL,
                &http(200, &serde_json::json!({"server_time": 5, "x": 1.5e3}))
            )
            .unwrap(),
            5
        );
        assert_eq!(
            read_time_reply(
                URL,
                &http(200, &serde_json::json!({"server_time": 5, "x": "y"}))
            )
            .unwrap(),
            5
        );
        let long = "x".repeat(1000);
        assert_eq!(tidy(&long).chars().count(), MAX_MESSAGE + 1);
    }

    #[test]
    fn service_urls() {
        assert_eq!(
            service_base(" https://tokens.example.com/ ").unwrap(),
            "https://tokens.example.com"
        );
        assert_eq!(
            service_base("HTTP://127.0.0.1:8080").unwrap(),
            "HTTP://127.0.0.1:8080"
        );
        assert_eq!(service_base("http://h/base//").unwrap(), "http://h/base");
        for bad in [
            "",
            "tokens.example.com",
            "ftp://x",
            "http://",
            "https:///x",
            "http://a b",
            "http://x?y=1",
            "http://x#f",
        ] {
            assert!(
                matches!(service_base(bad), Err(ProvisionError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn offsets_take_half_the_round_trip_off() {
        assert_eq!(clock_offset(T, T, T).unwrap(), 0);
        assert_eq!(clock_offset(T, T, T + 1).unwrap(), 0);
        assert_eq!(clock_offset(T, T, T - 1).unwrap(), 0);
        assert_eq!(clock_offset(T, T, T + 45).unwrap(), 45);
        // Sent at T, answered at T + 10: the service stamped its time at about T + 5.
        assert_eq!(clock_offset(T, T + 10, T + 100).unwrap(), 95);
        assert_eq!(clock_offset(T, T + 10, T - 100).unwrap(), -105);
        // The device clock stepped back during the request: the later reading counts.
        assert_eq!(clock_offset(T + 10, T, T + 60).unwrap(), 60);
        assert_eq!(
            clock_offset(u64::MAX, u64::MAX, 0).unwrap_err(),
            ClockError::OffsetOutOfRange {
                time: u64::MAX,
                offset: i64::MIN
            }
        );
        assert_eq!(
            clock_offset(0, 0, u64::MAX).unwrap_err(),
            ClockError::OffsetOutOfRange {
                time: 0,
                offset: i64::MAX
            }
        );
    }

    /// A service in a test: canned answers, or no connection; it moves the clock by the round trip.
    struct Canned {
        replies: Mutex<Vec<Result<HttpReply, TransportError>>>,
        clock: Arc<ManualClock>,
        round_trip: u64,
        seen: Mutex<Vec<(String, Vec<u8>)>>,
    }

    impl Canned {
        fn new(clock: &Arc<ManualClock>, replies: Vec<Result<HttpReply, TransportError>>) -> Self {
            Canned {
                replies: Mutex::new(replies),
                clock: clock.clone(),
                round_trip: 0,
                seen: Mutex::new(Vec::new()),
            }
        }
        fn answer(&self, url: &str, body: &[u8]) -> Result<HttpReply, TransportError> {
            self.seen
                .lock()
                .unwrap()
                .push((url.to_string(), body.to_vec()));
            self.clock.advance(self.round_trip);
            self.replies.lock().unwrap().remove(0)
        }
    }

    impl Transport for Canned {
        fn post_json(&self, url: &str, body: &[u8]) -> Result<HttpReply, TransportError> {
            self.answer(url, body)
        }
        fn get(&self, url: &str) -> Result<HttpReply, TransportError> {
            self.answer(url, b"")
        }
    }

    /// A store whose writes fail while `fail` is set.
    #[derive(Default)]
    struct Flaky {
        inner: MemoryStore,
        fail: std::sync::atomic::AtomicBool,
    }

    impl SecureStore for Flaky {
        fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.inner.read(key)
        }
        fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(StoreError("disk full".into()));
            }
            self.inner.write(key, value)
        }
        fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.inner.delete(key)
        }
    }

    type TestVault = Vault<Arc<Flaky>, Arc<ManualClock>>;

    fn vault(store: &Arc<Flaky>, clock: &Arc<ManualClock>) -> TestVault {
        Vault::open(store.clone(), clock.clone(), Issuer::new(Prefix::ANDROID)).unwrap()
    }

    #[test]
    fn provision_stores_the_token_and_the_offset() {
        let store = Arc::new(Flaky::default());
        let clock = Arc::new(ManualClock::new(T - 100));
        let mut v = vault(&store, &clock);
        let reply = sample();
        let mut service = Canned::new(&clock, vec![Ok(http(201, &json_of(&reply)))]);
        service.round_trip = 4;
        let info = v.provision("http://127.0.0.1:8080/", &service).unwrap();
        let (url, body) = service.seen.lock().unwrap().remove(0);
        assert_eq!(url, "http://127.0.0.1:8080/v1/tokens");
        assert_eq!(body, br#"{"platform":"android"}"#);
        assert_eq!(info.serial.as_str(), reply.serial);
        assert_eq!(info.origin, Origin::Service);
        assert_eq!(info.issuer.as_deref(), Some("softtoken"));
        // Sent at T-100, answered at T-96: the service's T was stamped at T-98.
        assert_eq!(v.clock_offset(), 98);
        assert_eq!(v.now().unwrap(), T + 2);
        assert_eq!(info.created, T + 2);
        // The code is the one the service's secret gives at the service's time.
        let secret = Secret::from_base32(&reply.secret).unwrap();
        let code = v.code(info.serial.as_str()).unwrap();
        assert_eq!(
            code,
            crate::otp::generate(&secret, &OtpParams::default(), T + 2).unwrap()
        );
        // Stored: a reopened vault has it, first in the list, before an imported account.
        let mut again = vault(&store, &clock);
        again
            .import_uri("otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub")
            .unwrap();
        assert_eq!(again.tokens()[0], info);
        assert_eq!(again.clock_offset(), 98);
        assert!(matches!(
            again.reissue(info.serial.as_str()),
            Err(VaultError::NotIssuedHere(_))
        ));
        // The same serial again is refused, nothing stored.
        let before = store.read(VAULT_KEY).unwrap();
        let service = Canned::new(&clock, vec![Ok(http(201, &json_of(&reply)))]);
        let e = again.provision(URL, &service).unwrap_err();
        assert!(
            matches!(e, VaultError::Provision(ProvisionError::AlreadyHeld { .. })),
            "{e:?}"
        );
        assert!(e.to_string().contains(&info.serial.grouped()));
        assert_eq!(store.read(VAULT_KEY).unwrap(), before);
    }

    #[test]
    fn sync_time_sets_and_keeps_the_offset() {
        let store = Arc::new(Flaky::default());
        let clock = Arc::new(ManualClock::new(T));
        let mut v = vault(&store, &clock);
        let time = |t: u64| Ok(http(200, &serde_json::json!({ "server_time": t })));
        let mut service = Canned::new(
            &clock,
            vec![
                time(T - 40),
                time(T + 4),
                Err(TransportError("connection refused".into())),
            ],
        );
        service.round_trip = 2;
        assert_eq!(v.sync_time(URL, &service).unwrap(), -41);
        assert_eq!(service.seen.lock().unwrap()[0].0, format!("{URL}/v1/time"));
        assert_eq!(vault(&store, &clock).clock_offset(), -41);
        assert_eq!(v.sync_time(URL, &service).unwrap(), 0);
        let e = v.sync_time(URL, &service).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot reach the token service at http://127.0.0.1:8080: connection refused; check the connection and try again"
        );
        assert_eq!(v.clock_offset(), 0);
    }

    #[test]
    fn any_failure_leaves_the_vault_as_it_was() {
        let store = Arc::new(Flaky::default());
        let clock = Arc::new(ManualClock::new(T));
        let mut v = vault(&store, &clock);
        v.set_clock_offset(-7).unwrap();
        let before = store.read(VAULT_KEY).unwrap();
        let good = || Ok(http(201, &json_of(&sample())));
        let service = Canned::new(
            &clock,
            vec![
                Err(TransportError("no route to host".into())),
                Ok(HttpReply::new(
                    429,
                    r#"{"error":"slow down","retry_after":9}"#,
                )),
                Ok(HttpReply::new(200, "<html>a captive portal</html>")),
                good(),
                good(),
            ],
        );
        let kinds: Vec<_> = (0..3)
            .map(|_| v.provision(URL, &service).unwrap_err())
            .collect();
        assert!(matches!(
            kinds[0],
            VaultError::Provision(ProvisionError::Offline { .. })
        ));
        assert!(matches!(
            kinds[1],
            VaultError::Provision(ProvisionError::RateLimited { retry_after: 9, .. })
        ));
        assert!(matches!(
            kinds[2],
            VaultError::Provision(ProvisionError::BadResponse { .. })
        ));
        assert!(matches!(
            v.provision("localhost:8080", &service),
            Err(VaultError::Provision(ProvisionError::InvalidUrl(_)))
        ));
        store.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(matches!(
            v.provision(URL, &service),
            Err(VaultError::Store(_))
        ));
        assert!(v.is_empty());
        assert_eq!(v.clock_offset(), -7);
        assert_eq!(store.read(VAULT_KEY).unwrap(), before);
        store.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(v.provision(URL, &service).is_ok());
    }

    /// Random JSON as serde_json models it.
    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(".{0,8}", inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A valid reply for any secret, parameters, serial and time.
    fn any_reply() -> impl Strategy<Value = TokenReply> {
        (
            prop::collection::vec(any::<u8>(), MIN_SECRET_LEN..64),
            prop::sample::select(Algorithm::ALL.to_vec()),
            6u64..=8,
            1u64..=300,
            0u32..crate::serial::BODIES,
            any::<u64>(),
        )
            .prop_map(|(key, algorithm, digits, period, body, time)| {
                let params =
                    OtpParams::totp(algorithm, Digits::new(digits).unwrap(), period).unwrap();
                let serial = Serial::from_parts(Prefix::DESKTOP, body);
                reply_for(&serial, &Secret::from_bytes(&key).unwrap(), params, time)
            })
    }

    const FIELDS: [&str; 7] = [
        "serial",
        "secret",
        "algorithm",
        "digits",
        "period",
        "key_uri",
        "server_time",
    ];

    /// One change to a valid reply.
    #[derive(Debug, Clone)]
    enum Mutation {
        Drop(usize),
        Replace(usize, serde_json::Value),
        Flip(usize, usize, char),
        Cut(usize, usize),
    }

    fn any_mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (0..FIELDS.len()).prop_map(Mutation::Drop),
            (0..FIELDS.len(), any_json()).prop_map(|(f, v)| Mutation::Replace(f, v)),
            (0..FIELDS.len(), any::<usize>(), any::<char>())
                .prop_map(|(f, i, c)| Mutation::Flip(f, i, c)),
            (0..FIELDS.len(), any::<usize>()).prop_map(|(f, i)| Mutation::Cut(f, i)),
        ]
    }

    fn mutate(mut v: serde_json::Value, m: &Mutation) -> serde_json::Value {
        let obj = v.as_object_mut().unwrap();
        let (f, at, c) = match m {
            Mutation::Drop(f) => {
                obj.remove(FIELDS[*f]);
                return v;
            }
            Mutation::Replace(f, value) => {
                obj.insert(FIELDS[*f].to_string(), value.clone());
                return v;
            }
            Mutation::Flip(f, at, c) => (*f, *at, Some(*c)),
            Mutation::Cut(f, at) => (*f, *at, None),
        };
        let key = FIELDS[f].to_string();
        let changed: serde_json::Value = match obj[&key].as_str() {
            Some(text) => {
                let mut chars: Vec<char> = text.chars().collect();
                let i = at % chars.len().max(1);
                match c {
                    Some(c) if !chars.is_empty() => chars[i] = c,
                    _ => chars.truncate(i),
                }
                chars.into_iter().collect::<String>().into()
            }
            None => (obj[&key].as_u64().unwrap() ^ (at as u64 % 1024)).into(),
        };
        obj.insert(key, changed);
        v
    }

    /// Reading a body: a token, or a typed error (never a panic); when read, it is consistent.
    fn check(status: u16, body: &[u8]) -> Result<ServiceToken, ProvisionError> {
        let result = read_token_reply(URL, &HttpReply::new(status, body.to_vec()));
        match &result {
            Ok(token) => {
                assert_eq!(status, 201);
                let reply = TokenReply::read(body).unwrap();
                assert_eq!(token.serial.as_str(), reply.serial);
                assert_eq!(KeyUri::parse(&reply.key_uri).unwrap().secret, token.secret);
                assert!(token.secret.len() >= MIN_SECRET_LEN);
            }
            Err(
                ProvisionError::BadResponse { .. }
                | ProvisionError::RateLimited { .. }
                | ProvisionError::Refused { .. },
            ) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
        result
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(debug_assertions) { 512 } else { 4096 }))]

        #[test]
        fn random_bytes_are_refused(status in prop::sample::select(vec![200u16, 201, 400, 429, 500, 503]), body in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = check(status, &body);
            let _ = read_time_reply(URL, &HttpReply::new(status, body));
        }

        #[test]
        fn random_json_is_refused(value in any_json()) {
            let body = serde_json::to_vec(&value).unwrap();
            prop_assert!(check(201, &body).is_err());
            let _ = read_time_reply(URL, &HttpReply::new(200, body));
        }

        #[test]
        fn valid_replies_are_read_with_any_extra_fields(reply in any_reply(), extra in prop::collection::btree_map("[a-z_]{1,10}", any_json(), 0..4)) {
            let mut v = json_of(&reply);
            for (k, x) in extra {
                if !FIELDS.contains(&k.as_str()) {
                    v[k] = x;
                }
            }
            let token = check(201, &serde_json::to_vec(&v).unwrap()).unwrap();
            prop_assert_eq!(token.server_time, reply.server_time);
            prop_assert_eq!(token.secret.to_base32(), reply.secret.clone());
        }

        #[test]
        fn mutated_replies_are_read_or_refused(reply in any_reply(), m in any_mutation()) {
            let v = mutate(json_of(&reply), &m);
            let body = serde_json::to_vec(&v).unwrap();
            let result = check(201, &body);
            // Every field is required; an unchanged reply is read.
            if let Mutation::Drop(_) = m {
                prop_assert!(result.is_err());
            }
            if v == json_of(&reply) {
                prop_assert!(result.is_ok());
            }
        }

        #[test]
        fn a_vault_either_takes_the_reply_or_stays_as_it_was(reply in any_reply(), m in any_mutation(), status in prop::sample::select(vec![201u16, 201, 429, 500])) {
            let store = Arc::new(Flaky::default());
            let clock = Arc::new(ManualClock::new(T));
            let mut v = vault(&store, &clock);
            v.set_clock_offset(3).unwrap();
            let before = store.read(VAULT_KEY).unwrap();
            let body = serde_json::to_vec(&mutate(json_of(&reply), &m)).unwrap();
            let service = Canned::new(&clock, vec![Ok(HttpReply::new(status, body))]);
            match v.provision(URL, &service) {
                Ok(info) => {
                    prop_assert_eq!(v.tokens(), vec![info]);
                    prop_assert_ne!(store.read(VAULT_KEY).unwrap(), before);
                }
                Err(VaultError::Provision(_)) => {
                    prop_assert!(v.is_empty());
                    prop_assert_eq!(v.clock_offset(), 3);
                    prop_assert_eq!(store.read(VAULT_KEY).unwrap(), before);
                }
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
