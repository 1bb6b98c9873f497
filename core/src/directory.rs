//! The credential directory: where a verifier finds a serial's secret and
//! parameters (as the vendor's service does for the seed's bank). Free of any
//! transport, so a provisioning service can put it behind a network later.

use crate::issuer::{Credential, IssueError, Issuer};
use crate::otp::{Mode, OtpKey};
use crate::serial::Serial;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use thiserror::Error;

/// Why the directory could not answer or take a credential.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DirectoryError {
    /// A credential with that serial is already there.
    #[error("serial {0} is already in the directory")]
    Duplicate(String),
    /// A counter-based credential: the verifier checks time-based codes only.
    #[error(
        "serial {0} is counter-based (HOTP); the verifier checks time-based (TOTP) tokens only"
    )]
    Unsupported(String),
    /// The backing store failed.
    #[error("the credential directory failed: {0}")]
    Backend(String),
    /// Minting failed.
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// A credential with its key prepared for checking codes.
pub struct Entry {
    /// The credential.
    pub credential: Credential,
    /// The HMAC key schedule, done once.
    pub key: OtpKey,
    /// The TOTP period.
    pub period: u64,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// Prepares a time-based credential.
    pub fn new(credential: Credential) -> Result<Self, DirectoryError> {
        let Mode::Totp { period } = credential.params.mode else {
            return Err(DirectoryError::Unsupported(credential.serial.to_string()));
        };
        Ok(Self {
            key: OtpKey::new(&credential.secret, credential.params.algorithm),
            period,
            credential,
        })
    }
}

/// Where credentials are found by serial.
pub trait Directory: Send + Sync {
    /// The credential with this exact serial (as stored: ours without spaces, foreign verbatim).
    fn lookup(&self, serial: &str) -> Result<Option<Arc<Entry>>, DirectoryError>;
    /// Adds a credential; a serial already present is refused.
    fn add(&self, credential: Credential) -> Result<(), DirectoryError>;
    /// Whether a serial is present (for minting new ones).
    fn contains(&self, serial: &str) -> Result<bool, DirectoryError> {
        Ok(self.lookup(serial)?.is_some())
    }
}

/// Mints a credential with `issuer`, records it in `directory`, and returns it for the device.
pub fn issue(directory: &dyn Directory, issuer: &Issuer) -> Result<Credential, DirectoryError> {
    loop {
        let credential = issuer.mint(|s| directory.contains(s.as_str()).unwrap_or(true))?;
        match directory.add(credential.clone()) {
            Ok(()) => return Ok(credential),
            // Another caller took the same serial between the check and the add: draw again.
            Err(DirectoryError::Duplicate(_)) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Finds a serial as a person typed it: verbatim first, then normalised.
pub fn find(directory: &dyn Directory, typed: &str) -> Result<Option<Arc<Entry>>, DirectoryError> {
    let trimmed = typed.trim();
    if let Some(entry) = directory.lookup(trimmed)? {
        return Ok(Some(entry));
    }
    let normalized = crate::input::normalize(typed);
    if normalized != trimmed {
        return directory.lookup(&normalized);
    }
    Ok(None)
}

/// A directory in memory.
#[derive(Default)]
pub struct MemoryDirectory {
    entries: RwLock<HashMap<String, Arc<Entry>>>,
}

impl fmt::Debug for MemoryDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDirectory")
            .field("len", &self.len())
            .finish()
    }
}

impl MemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many credentials it holds.
    pub fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn poisoned<T>(_: T) -> DirectoryError {
    DirectoryError::Backend("a thread panicked while holding the directory".into())
}

impl Directory for MemoryDirectory {
    fn lookup(&self, serial: &str) -> Result<Option<Arc<Entry>>, DirectoryError> {
        Ok(self.entries.read().map_err(poisoned)?.get(serial).cloned())
    }

    fn add(&self, credential: Credential) -> Result<(), DirectoryError> {
        let entry = Arc::new(Entry::new(credential)?);
        let serial: &Serial = &entry.credential.serial;
        let mut entries = self.entries.write().map_err(poisoned)?;
        if entries.contains_key(serial.as_str()) {
            return Err(DirectoryError::Duplicate(serial.to_string()));
        }
        entries.insert(serial.as_str().to_string(), entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{Algorithm, Digits, OtpParams};
    use crate::secret::Secret;
    use crate::serial::Prefix;

    #[test]
    fn issue_records_and_finds() {
        let dir = MemoryDirectory::new();
        let issuer = Issuer::new(Prefix::ANDROID);
        let a = issue(&dir, &issuer).unwrap();
        let b = issue(&dir, &issuer).unwrap();
        assert_ne!(a.serial, b.serial);
        assert_eq!(dir.len(), 2);
        let found = find(&dir, &a.serial.grouped().to_lowercase())
            .unwrap()
            .unwrap();
        assert_eq!(found.credential, a);
        assert!(find(&dir, "SSTA 0000 0000").unwrap().is_none());
        assert_eq!(
            dir.add(a.clone()),
            Err(DirectoryError::Duplicate(a.serial.to_string()))
        );
    }

    #[test]
    fn foreign_and_hotp() {
        let dir = MemoryDirectory::new();
        let vip = Credential {
            serial: Serial::foreign("SYMC26070843").unwrap(),
            secret: Secret::from_base32("IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN").unwrap(),
            params: OtpParams::default(),
        };
        dir.add(vip).unwrap();
        assert!(dir.contains("SYMC26070843").unwrap());
        let hotp = Credential {
            serial: Serial::foreign("OATH00000001").unwrap(),
            secret: Secret::from_base32("IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN").unwrap(),
            params: OtpParams::hotp(Algorithm::Sha1, Digits::SIX, 0),
        };
        assert!(matches!(dir.add(hotp), Err(DirectoryError::Unsupported(_))));
    }
}
