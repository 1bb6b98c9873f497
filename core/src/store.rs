//! The host's storage hook and the versioned record the core keeps in it.
//!
//! A record is one header line and a JSON body:
//! `softtoken-vault 1 sha256=<hex of the body>\n{...}`. The checksum catches
//! truncation and flipped bits; the version lets a newer app's record be
//! refused untouched instead of misread.

use crate::token::Token;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use thiserror::Error;
use zeroize::Zeroizing;

/// The host's storage failed; the message is the host's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the secure store failed: {0}")]
pub struct StoreError(pub String);

/// Bytes under a key, kept by the host (Keychain, Android Keystore, a file).
///
/// `write` must replace the value atomically: after a failed write the old
/// value is still there (a file store writes a temporary file and renames it).
pub trait SecureStore: Send + Sync {
    /// The bytes stored under `key`, or `None` when there are none.
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` under `key`, replacing what was there.
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key` (no error when it is absent).
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

impl<S: SecureStore + ?Sized> SecureStore for std::sync::Arc<S> {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).read(key)
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).write(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key)
    }
}

impl<S: SecureStore + ?Sized> SecureStore for &S {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).read(key)
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).write(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key)
    }
}

impl<S: SecureStore + ?Sized> SecureStore for Box<S> {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).read(key)
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).write(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key)
    }
}

/// A store in memory, for tests and for trying things out.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Zeroizing<Vec<u8>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Zeroizing<Vec<u8>>>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SecureStore for MemoryStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries().get(key).map(|v| v.to_vec()))
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.entries()
            .insert(key.to_string(), Zeroizing::new(value.to_vec()));
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.entries().remove(key);
        Ok(())
    }
}

/// The record format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &str = "softtoken-vault";

/// Why a stored record could not be read. The stored bytes are never changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    /// The bytes are not a softtoken record at all.
    #[error("the stored data is not a softtoken vault; it was left untouched (move it aside to start a new vault)")]
    Foreign,
    /// A record written by a newer softtoken.
    #[error("the stored vault has format version {found}, newer than this softtoken reads ({supported}); update softtoken, the vault was left untouched")]
    NewerVersion {
        /// The record's version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// Truncated, bit-flipped or otherwise damaged.
    #[error("the stored vault is damaged ({0}); it was left untouched: restore it from a backup or move it aside to start a new vault")]
    Corrupt(String),
}

/// Device settings kept with the tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Seconds added to the device clock (either sign).
    #[serde(default)]
    pub clock_offset: i64,
}

/// Everything a vault persists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The tokens, in the order they were added.
    pub tokens: Vec<Token>,
    /// Every serial ever issued on this device, so none is issued twice.
    #[serde(default)]
    pub issued: Vec<String>,
    /// Settings.
    #[serde(default)]
    pub settings: Settings,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The record checksum of a body: SHA-256 in lower-case hex.
pub fn checksum(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

impl Record {
    /// The record's bytes (with secrets inside: wiped when dropped).
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, RecordError> {
        let body = Zeroizing::new(
            serde_json::to_vec_pretty(self).map_err(|e| RecordError::Corrupt(e.to_string()))?,
        );
        let mut out = Zeroizing::new(Vec::with_capacity(body.len() + 96));
        out.extend_from_slice(
            format!("{MAGIC} {FORMAT_VERSION} sha256={}\n", checksum(&body)).as_bytes(),
        );
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Reads a record, refusing foreign, newer and damaged bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let newline = bytes.iter().position(|b| *b == b'\n');
        let header = std::str::from_utf8(&bytes[..newline.unwrap_or(bytes.len())])
            .map_err(|_| RecordError::Foreign)?;
        let mut words = header.split(' ');
        if words.next() != Some(MAGIC) {
            return Err(RecordError::Foreign);
        }
        let version: u32 = words
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| RecordError::Corrupt("the header has no version".into()))?;
        if version > FORMAT_VERSION {
            return Err(RecordError::NewerVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(RecordError::Corrupt("version 0 does not exist".into()));
        }
        let want = words
            .next()
            .and_then(|w| w.strip_prefix("sha256="))
            .ok_or_else(|| RecordError::Corrupt("the header has no checksum".into()))?;
        let newline =
            newline.ok_or_else(|| RecordError::Corrupt("cut short after the header".into()))?;
        let body = &bytes[newline + 1..];
        if checksum(body) != want {
            return Err(RecordError::Corrupt(
                "checksum mismatch: cut short or altered".into(),
            ));
        }
        serde_json::from_slice(body)
            .map_err(|e| RecordError::Corrupt(format!("unreadable body: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::OtpParams;
    use crate::secret::Secret;
    use crate::serial::{Prefix, Serial};
    use crate::token::{Origin, Token};
    use proptest::prelude::*;

    fn record() -> Record {
        Record {
            tokens: vec![
                Token {
                    serial: Serial::from_parts(Prefix::ANDROID, 1234567),
                    secret: Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap(),
                    params: OtpParams::default(),
                    label: "SSTA12345678".into(),
                    issuer: Some("softtoken".into()),
                    origin: Origin::Issued,
                    created: 1_700_000_000,
                },
                Token {
                    serial: Serial::foreign("SYMC26070843").unwrap(),
                    secret: Secret::from_base32("IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN").unwrap(),
                    params: OtpParams::default(),
                    label: "SYMC26070843".into(),
                    issuer: Some("VIP Access".into()),
                    origin: Origin::Imported,
                    created: 1_700_000_001,
                },
            ],
            issued: vec!["SSTA12345678".into()],
            settings: Settings { clock_offset: -7 },
        }
    }

    #[test]
    fn round_trip_and_inspectable() {
        let r = record();
        let bytes = r.encode().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("softtoken-vault 1 sha256="));
        assert!(text.contains("\"foreign\": true"));
        assert_eq!(Record::decode(&bytes).unwrap(), r);
    }

    #[test]
    fn damage_is_a_typed_error() {
        let bytes = record().encode().unwrap();
        for cut in [0, 10, 30, bytes.len() / 2, bytes.len() - 1] {
            let e = Record::decode(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(e, RecordError::Corrupt(_) | RecordError::Foreign),
                "cut {cut}: {e:?}"
            );
        }
        let mut flipped = bytes.to_vec();
        let at = flipped.len() - 20;
        flipped[at] ^= 1;
        assert!(matches!(
            Record::decode(&flipped),
            Err(RecordError::Corrupt(_))
        ));
        assert_eq!(
            Record::decode(b"{\"tokens\":[]}"),
            Err(RecordError::Foreign)
        );
        let newer = String::from_utf8(bytes.to_vec())
            .unwrap()
            .replacen("vault 1 ", "vault 2 ", 1);
        assert_eq!(
            Record::decode(newer.as_bytes()).unwrap_err().to_string(),
            "the stored vault has format version 2, newer than this softtoken reads (1); update softtoken, the vault was left untouched"
        );
    }

    #[test]
    fn memory_store() {
        let s = MemoryStore::new();
        assert_eq!(s.read("k").unwrap(), None);
        s.write("k", b"v").unwrap();
        assert_eq!(s.read("k").unwrap().as_deref(), Some(&b"v"[..]));
        s.delete("k").unwrap();
        s.delete("k").unwrap();
        assert_eq!(s.read("k").unwrap(), None);
    }

    proptest! {
        #[test]
        fn any_bit_flip_is_caught(at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let bytes = record().encode().unwrap();
            let mut damaged = bytes.to_vec();
            let i = at.index(damaged.len());
            damaged[i] ^= 1 << bit;
            prop_assert!(Record::decode(&damaged).is_err());
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Record::decode(&bytes);
        }
    }
}
