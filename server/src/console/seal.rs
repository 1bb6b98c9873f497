//! Sealing for the branch console's session cookies under the service's
//! master key (AES-256-GCM with the purpose as associated data, the key id
//! beside the ciphertext), so that every server process that shares the
//! master key file accepts the sessions of the others. A child of `db`
//! (declared there) because the master keys are the store's.

use super::{Store, StoreError};
use zeroize::Zeroizing;

impl Store {
    /// Seals `data` for `purpose` under the current master key: the key id and nonce ‖ ciphertext.
    pub fn seal(&self, purpose: &str, data: &[u8]) -> Result<(i64, Vec<u8>), StoreError> {
        let (sealed, id) = self.keys().encrypt(purpose, data)?;
        Ok((id, sealed))
    }

    /// Opens what [`seal`](Self::seal) made for `purpose`; `None` when it is forged, damaged,
    /// for another purpose, or under a key no longer in the key file.
    pub fn open(&self, purpose: &str, key_id: i64, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let keys = self.keys();
        let keys = if keys.has(key_id) {
            keys
        } else if key_id > keys.current() {
            // Another process rotated the master key: read the file again.
            self.keys_with(key_id).ok()?
        } else {
            return None;
        };
        keys.decrypt(purpose, sealed, key_id).ok()
    }
}
