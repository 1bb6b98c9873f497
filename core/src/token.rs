//! A token as a device holds it: serial, secret, parameters and how it came.

use crate::otp::OtpParams;
use crate::secret::Secret;
use crate::serial::{Serial, SerialKind};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a token came into the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Issued on this device: the seed's token (T2).
    Issued,
    /// Imported from a key URI or secret: another service's account.
    Imported,
}

/// A stored token with its secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Stored", into = "Stored")]
pub struct Token {
    /// The serial: ours (checked) or foreign.
    pub serial: Serial,
    /// The shared key.
    pub secret: Secret,
    /// Algorithm, digits, period or counter.
    pub params: OtpParams,
    /// The account name shown beside the serial.
    pub label: String,
    /// The service that issued it, if known.
    pub issuer: Option<String>,
    /// Issued here or imported.
    pub origin: Origin,
    /// Unix time it was added.
    pub created: u64,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("serial", &self.serial.as_str())
            .field("secret", &self.secret)
            .field("params", &self.params)
            .field("label", &self.label)
            .field("issuer", &self.issuer)
            .field("origin", &self.origin)
            .finish()
    }
}

/// The record form of a token: the serial as text plus whether it is foreign.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    serial: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    foreign: bool,
    secret: Secret,
    params: OtpParams,
    label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    origin: Origin,
    created: u64,
}

impl TryFrom<Stored> for Token {
    type Error = crate::serial::SerialError;
    fn try_from(s: Stored) -> Result<Self, Self::Error> {
        let kind = if s.foreign {
            SerialKind::Foreign
        } else {
            SerialKind::Checked
        };
        Ok(Token {
            serial: Serial::restore(&s.serial, kind)?,
            secret: s.secret,
            params: s.params,
            label: s.label,
            issuer: s.issuer,
            origin: s.origin,
            created: s.created,
        })
    }
}

impl From<Token> for Stored {
    fn from(t: Token) -> Self {
        Stored {
            serial: t.serial.as_str().to_string(),
            foreign: t.serial.kind() == SerialKind::Foreign,
            secret: t.secret.clone(),
            params: t.params,
            label: t.label.clone(),
            issuer: t.issuer.clone(),
            origin: t.origin,
            created: t.created,
        }
    }
}
