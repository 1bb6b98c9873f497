//! A token as a device holds it: serial, secret, parameters and how it came.

use crate::otp::OtpParams;
use crate::secret::Secret;
use crate::serial::Serial;
use std::fmt;

/// How a token came into the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Issued on this device: the seed's token (T2).
    Issued,
    /// Imported from a key URI or secret: another service's account.
    Imported,
    /// Issued by the token service at first start online (the seed's token, T2).
    Service,
}

/// A stored token with its secret.
#[derive(Clone, PartialEq, Eq)]
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
