//! Keys: the master keys that encrypt token secrets at rest (AES-256-GCM, a
//! key id stored with each secret so keys can be rotated), and the banks' API
//! keys, stored only as SHA-256 hashes (they are 256-bit random strings, so a
//! plain hash cannot be searched).

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

/// Why a key could not be read, made or used.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("master key file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A secret is encrypted with a key the file does not hold.
    #[error("a secret is encrypted with master key {0}, which is not in the master key file: restore the file that holds it")]
    UnknownKey(i64),
    /// Decryption failed: wrong key or damaged data.
    #[error("a stored secret does not decrypt with master key {0}: the key file or the database is damaged")]
    Damaged(i64),
    /// The random source failed.
    #[error("the system's random source failed: {0}")]
    Random(String),
}

/// The master key file's contents.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    current: i64,
    keys: BTreeMap<i64, String>,
}

/// The master keys: the current one encrypts, any of them decrypts.
pub struct MasterKeys {
    path: PathBuf,
    current: i64,
    keys: BTreeMap<i64, Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKeys")
            .field("path", &self.path)
            .field("current", &self.current)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Fills `buf` from the OS random source.
pub fn random(buf: &mut [u8]) -> Result<(), KeyError> {
    getrandom::fill(buf).map_err(|e| KeyError::Random(e.to_string()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut out = Zeroizing::new([0u8; 32]);
    for (i, pair) in text.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

impl MasterKeys {
    fn file_error(path: &Path, e: impl std::fmt::Display) -> KeyError {
        KeyError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    /// Loads the key file at `path`, creating it (mode 0600) with a fresh key when it does not exist; `true` when created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        if path.exists() {
            return Ok((Self::load(path)?, false));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        random(key.as_mut())?;
        let keys = Self {
            path: path.to_path_buf(),
            current: 1,
            keys: BTreeMap::from([(1, key)]),
        };
        keys.save_new()?;
        Ok((keys, true))
    }

    /// Loads the key file at `path`.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let mut text =
            Zeroizing::new(fs::read_to_string(path).map_err(|e| Self::file_error(path, e))?);
        let mut file: KeyFile =
            serde_json::from_str(&text).map_err(|e| Self::file_error(path, e))?;
        text.zeroize();
        let mut keys = BTreeMap::new();
        for (id, mut hexed) in std::mem::take(&mut file.keys) {
            let key = unhex(&hexed)
                .ok_or_else(|| Self::file_error(path, format!("key {id} is not 64 hex digits")))?;
            hexed.zeroize();
            keys.insert(id, key);
        }
        if !keys.contains_key(&file.current) {
            return Err(Self::file_error(
                path,
                format!("the current key {} is not in the file", file.current),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            current: file.current,
            keys,
        })
    }

    /// Writes the file atomically (a new file with mode 0600, renamed over the old).
    fn save_new(&self) -> Result<(), KeyError> {
        let file = KeyFile {
            current: self.current,
            keys: self
                .keys
                .iter()
                .map(|(id, k)| (*id, hex(k.as_ref())))
                .collect(),
        };
        let text = Zeroizing::new(
            serde_json::to_string_pretty(&file).map_err(|e| Self::file_error(&self.path, e))?,
        );
        for (_, mut k) in file.keys {
            k.zeroize();
        }
        let tmp = self.path.with_extension("tmp");
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut out = options.open(&tmp).map_err(|e| Self::file_error(&tmp, e))?;
        out.write_all(text.as_bytes())
            .and_then(|()| out.sync_all())
            .map_err(|e| Self::file_error(&tmp, e))?;
        fs::rename(&tmp, &self.path).map_err(|e| Self::file_error(&self.path, e))
    }

    /// The id of the key that encrypts.
    pub fn current(&self) -> i64 {
        self.current
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a fresh key and makes it current, saving the file (the old keys stay until [`retain`](Self::retain)).
    pub fn add_new_key(&mut self) -> Result<i64, KeyError> {
        let id = self.keys.keys().max().copied().unwrap_or(0) + 1;
        let mut key = Zeroizing::new([0u8; 32]);
        random(key.as_mut())?;
        self.keys.insert(id, key);
        self.current = id;
        self.save_new()?;
        Ok(id)
    }

    /// Keeps only the current key, saving the file.
    pub fn retain_current(&mut self) -> Result<(), KeyError> {
        let current = self.current;
        self.keys.retain(|id, _| *id == current);
        self.save_new()
    }

    /// Whether the key `id` is here.
    pub fn has(&self, id: i64) -> bool {
        self.keys.contains_key(&id)
    }

    /// Encrypts `secret` for `serial` with the current key: nonce ‖ ciphertext, and the key id.
    pub fn encrypt(&self, serial: &str, secret: &[u8]) -> Result<(Vec<u8>, i64), KeyError> {
        let key = self
            .keys
            .get(&self.current)
            .ok_or(KeyError::UnknownKey(self.current))?;
        let cipher =
            Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| KeyError::Damaged(self.current))?;
        let mut nonce = [0u8; 12];
        random(&mut nonce)?;
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: serial.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Damaged(self.current))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok((out, self.current))
    }

    /// Decrypts what [`encrypt`](Self::encrypt) made for `serial` with key `id`.
    pub fn decrypt(
        &self,
        serial: &str,
        sealed: &[u8],
        id: i64,
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let key = self.keys.get(&id).ok_or(KeyError::UnknownKey(id))?;
        if sealed.len() < 12 {
            return Err(KeyError::Damaged(id));
        }
        let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| KeyError::Damaged(id))?;
        let (nonce, body) = sealed.split_at(12);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: serial.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyError::Damaged(id))
    }
}

/// A new API key: a prefix naming its kind and 256 random bits in hex.
pub fn new_api_key(prefix: &str) -> Result<Zeroizing<String>, KeyError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    random(bytes.as_mut())?;
    Ok(Zeroizing::new(format!("{prefix}_{}", hex(bytes.as_ref()))))
}

/// The stored form of an API key: SHA-256 in hex.
pub fn hash_api_key(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_private_and_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let (mut keys, created) = MasterKeys::load_or_create(&path).unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (sealed, id) = keys
            .encrypt("SSTA12345678", b"0123456789abcdef0123")
            .unwrap();
        assert_eq!(id, 1);
        assert!(!sealed.windows(4).any(|w| w == b"0123"));
        assert_eq!(
            keys.decrypt("SSTA12345678", &sealed, id)
                .unwrap()
                .as_slice(),
            b"0123456789abcdef0123"
        );
        assert!(matches!(
            keys.decrypt("SSTA00000000", &sealed, id),
            Err(KeyError::Damaged(1))
        ));
        assert_eq!(keys.add_new_key().unwrap(), 2);
        let reloaded = MasterKeys::load(&path).unwrap();
        assert_eq!(reloaded.current(), 2);
        assert!(reloaded.decrypt("SSTA12345678", &sealed, 1).is_ok());
        keys.retain_current().unwrap();
        let reloaded = MasterKeys::load(&path).unwrap();
        assert!(matches!(
            reloaded.decrypt("SSTA12345678", &sealed, 1),
            Err(KeyError::UnknownKey(1))
        ));
        let (again, created) = MasterKeys::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.current(), 2);
    }

    #[test]
    fn api_keys_hash_to_hex() {
        let key = new_api_key("stb").unwrap();
        assert!(key.starts_with("stb_") && key.len() == 68);
        assert_eq!(hash_api_key(&key).len(), 64);
        assert_ne!(hash_api_key(&key), hash_api_key("stb_other"));
    }
}
