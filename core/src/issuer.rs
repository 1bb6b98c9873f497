//! Issuance: a new serial and a new secret, never a serial handed out before.

use crate::otp::OtpParams;
use crate::random::{Entropy, EntropyError, OsEntropy};
use crate::secret::{Secret, SecretError};
use crate::serial::{Prefix, Serial, BODIES};
use crate::uri::KeyUri;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use thiserror::Error;

/// Why no credential was minted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IssueError {
    /// Every serial drawn was already taken.
    #[error("no unused serial found with prefix {prefix} after {attempts} draws: the prefix is nearly full, use another")]
    Exhausted {
        /// The issuer prefix.
        prefix: String,
        /// How many serials were drawn.
        attempts: u32,
    },
    /// The random source failed.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
    /// A key URI whose account is not a serial.
    #[error("account '{0}' is not a token serial: a credential needs a serial such as SSTA 1234 5678 or SYMC12345678")]
    NoSerial(String),
    /// The secret could not be made.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// A serial with its secret and code parameters: what a token holds and a bank verifies.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The token's serial.
    pub serial: Serial,
    /// The shared key.
    pub secret: Secret,
    /// Algorithm, digits, period or counter.
    pub params: OtpParams,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("serial", &self.serial.as_str())
            .field("secret", &self.secret)
            .field("params", &self.params)
            .finish()
    }
}

/// The issuer name written into key URIs of tokens softtoken issues.
pub const ISSUER_NAME: &str = "softtoken";

impl TryFrom<KeyUri> for Credential {
    type Error = IssueError;
    /// The credential a key URI describes, when its account names a serial (see [`KeyUri::serial`]).
    fn try_from(key: KeyUri) -> Result<Self, IssueError> {
        let serial = key
            .serial()
            .ok_or_else(|| IssueError::NoSerial(key.account.clone()))?;
        Ok(Credential {
            serial,
            secret: key.secret,
            params: key.params,
        })
    }
}

/// How many serials an issuer draws before giving up.
const ATTEMPTS: u32 = 64;

/// Mints credentials under one prefix.
#[derive(Clone)]
pub struct Issuer {
    prefix: Prefix,
    params: OtpParams,
    entropy: Arc<dyn Entropy>,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("prefix", &self.prefix)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// An issuer of default tokens (TOTP, SHA1, 6 digits, 30 s) with the OS random source.
    pub fn new(prefix: Prefix) -> Self {
        Self {
            prefix,
            params: OtpParams::default(),
            entropy: Arc::new(OsEntropy),
        }
    }

    /// The same issuer drawing from another random source (tests, simulations).
    pub fn with_entropy(mut self, entropy: Arc<dyn Entropy>) -> Self {
        self.entropy = entropy;
        self
    }

    /// The same issuer minting tokens with other parameters.
    pub fn with_params(mut self, params: OtpParams) -> Self {
        self.params = params;
        self
    }

    /// The prefix of the serials minted.
    pub fn prefix(&self) -> Prefix {
        self.prefix
    }

    fn draw_serial(&self) -> Result<Serial, EntropyError> {
        // Rejection sampling keeps every body equally likely.
        const LIMIT: u32 = BODIES * (u32::MAX / BODIES);
        loop {
            let mut bytes = [0u8; 4];
            self.entropy.fill(&mut bytes)?;
            let n = u32::from_le_bytes(bytes);
            if n < LIMIT {
                return Ok(Serial::from_parts(self.prefix, n % BODIES));
            }
        }
    }

    /// Mints a credential whose serial `is_taken` does not know.
    pub fn mint(&self, is_taken: impl Fn(&Serial) -> bool) -> Result<Credential, IssueError> {
        for _ in 0..ATTEMPTS {
            let serial = self.draw_serial()?;
            if !is_taken(&serial) {
                return Ok(Credential {
                    serial,
                    secret: Secret::generate(self.entropy.as_ref())?,
                    params: self.params,
                });
            }
        }
        Err(IssueError::Exhausted {
            prefix: self.prefix.to_string(),
            attempts: ATTEMPTS,
        })
    }

    /// Mints a credential unknown to `seen`, and records its serial there.
    pub fn mint_into(&self, seen: &mut HashSet<String>) -> Result<Credential, IssueError> {
        let credential = self.mint(|s| seen.contains(s.as_str()))?;
        seen.insert(credential.serial.as_str().to_string());
        Ok(credential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededEntropy;
    use crate::serial::SerialKind;

    #[test]
    fn every_mint_is_new() {
        let issuer = Issuer::new(Prefix::DESKTOP);
        let mut seen = HashSet::new();
        let mut secrets = Vec::new();
        for _ in 0..2000 {
            let c = issuer.mint_into(&mut seen).unwrap();
            assert_eq!(c.serial.kind(), SerialKind::Checked);
            assert!(c.serial.as_str().starts_with("SSTD"));
            assert_eq!(Serial::parse(c.serial.as_str()).unwrap(), c.serial);
            assert_eq!(c.secret.len(), 20);
            secrets.push(c.secret);
        }
        assert_eq!(seen.len(), 2000);
        for (i, a) in secrets.iter().enumerate() {
            assert!(secrets[i + 1..].iter().all(|b| a != b));
        }
    }

    #[test]
    fn a_taken_serial_is_drawn_again() {
        let seeded =
            |seed| Issuer::new(Prefix::ANDROID).with_entropy(Arc::new(SeededEntropy::new(seed)));
        let first = seeded(1).mint(|_| false).unwrap();
        let second = seeded(1).mint(|s| *s == first.serial).unwrap();
        assert_ne!(first.serial, second.serial);
        let err = seeded(1).mint(|_| true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no unused serial found with prefix SSTA after 64 draws: the prefix is nearly full, use another"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = Issuer::new(Prefix::ANDROID).mint(|_| false).unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("**redacted**"));
        assert!(!shown.contains(c.secret.to_base32().as_str()));
    }
}
