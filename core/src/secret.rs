//! Key material: one type that is wiped on drop, never printed, and compared in
//! constant time.

use crate::base32::{self, Base32Error};
use crate::random::{Entropy, EntropyError};
use std::fmt;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Bytes in a secret the issuer mints (160 bits, as RFC 4226 recommends).
pub const ISSUED_LEN: usize = 20;
/// The fewest bytes an imported secret may have (80 bits).
pub const MIN_LEN: usize = 10;
/// The most bytes a secret may have (far above any real issuer's).
pub const MAX_LEN: usize = 1024;

/// Why a secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SecretError {
    /// The text is not base32.
    #[error("the secret is not valid base32: {0}")]
    Base32(#[from] Base32Error),
    /// Too few bytes to be safe.
    #[error(
        "secret is {len} bytes; at least {MIN_LEN} are needed (ask the issuer for a longer key)"
    )]
    TooShort {
        /// Bytes supplied.
        len: usize,
    },
    /// Implausibly many bytes.
    #[error("secret is {len} bytes; at most {MAX_LEN} are accepted")]
    TooLong {
        /// Bytes supplied.
        len: usize,
    },
    /// The operating system gave no random bytes.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
}

/// A shared OTP key. Wiped from memory on drop; `Debug` and `Display` never show it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret {
    bytes: Vec<u8>,
}

impl Secret {
    /// Takes raw key bytes (at least [`MIN_LEN`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        if bytes.len() < MIN_LEN {
            return Err(SecretError::TooShort { len: bytes.len() });
        }
        if bytes.len() > MAX_LEN {
            return Err(SecretError::TooLong { len: bytes.len() });
        }
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// Parses a base32 secret as a person or a key URI gives it.
    pub fn from_base32(text: &str) -> Result<Self, SecretError> {
        let bytes = base32::decode(text)?;
        Self::from_bytes(&bytes)
    }

    /// Draws a new [`ISSUED_LEN`]-byte secret from the given random source.
    pub fn generate(entropy: &dyn Entropy) -> Result<Self, SecretError> {
        let mut bytes = Zeroizing::new([0u8; ISSUED_LEN]);
        entropy.fill(bytes.as_mut())?;
        Self::from_bytes(bytes.as_ref())
    }

    /// The key bytes, for computing codes. Do not copy them out.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The key as upper-case unpadded base32, in a buffer wiped on drop.
    pub fn to_base32(&self) -> Zeroizing<String> {
        base32::encode(&self.bytes)
    }

    /// Number of key bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a secret has at least [`MIN_LEN`] bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**redacted**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::tests::Counter;

    #[test]
    fn never_shown() {
        let secret = Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(format!("{secret:?}"), "Secret(**redacted**)");
        assert_eq!(format!("{secret}"), "**redacted**");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(**redacted**))");
    }

    #[test]
    fn length_rules() {
        let err = Secret::from_base32("JBSWY3DPEHPK3P").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the secret is not valid base32: 14 base32 characters cannot encode whole bytes: the text looks cut short, copy it again in full"
        );
        let err = Secret::from_bytes(&[1; 8]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret is 8 bytes; at least 10 are needed (ask the issuer for a longer key)"
        );
        assert!(Secret::from_bytes(&[1; 10]).is_ok());
        assert!(matches!(
            Secret::from_bytes(&[1; 1025]),
            Err(SecretError::TooLong { len: 1025 })
        ));
        let err = Secret::from_base32("JBSWY3DP EHPK3PX!").unwrap_err();
        assert!(err.to_string().contains("character 17 ('!')"), "{err}");
    }

    #[test]
    fn generated_from_entropy() {
        let entropy = Counter::default();
        let a = Secret::generate(&entropy).unwrap();
        let b = Secret::generate(&entropy).unwrap();
        assert_eq!(a.len(), ISSUED_LEN);
        assert_ne!(a, b);
        let os = Secret::generate(&crate::random::OsEntropy).unwrap();
        assert_ne!(os.expose(), &[0u8; ISSUED_LEN]);
    }

    #[test]
    fn equality_and_base32_round_trip() {
        let a = Secret::from_base32("jbsw y3dp ehpk 3pxp").unwrap();
        let b = Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_base32().as_str(), "JBSWY3DPEHPK3PXP");
        assert_eq!(Secret::from_base32(&a.to_base32()).unwrap(), a);
        assert!(Secret::from_base32("JBSW").is_err());
    }
}
