//! The interfaces the app implements: its secure store and, optionally, its clock.

use crate::errors::HostError;
use softtoken_core::{ClockError, StoreError};
use std::sync::Arc;

/// Bytes under a key, kept by the app (Keychain on iOS, Android Keystore-encrypted files on Android).
/// `write` must replace the value atomically: after a failed write the old value is still there.
#[uniffi::export(with_foreign)]
pub trait SecureStore: Send + Sync {
    /// The bytes stored under `key`, or null when there are none.
    fn read(&self, key: String) -> Result<Option<Vec<u8>>, HostError>;
    /// Stores `value` under `key`, replacing what was there.
    fn write(&self, key: String, value: Vec<u8>) -> Result<(), HostError>;
    /// Removes `key` (no error when it is absent).
    fn delete(&self, key: String) -> Result<(), HostError>;
}

/// The app's clock, when it has a better one than the system's (e.g. network time).
#[uniffi::export(with_foreign)]
pub trait Clock: Send + Sync {
    /// The current Unix time in whole seconds.
    fn now_unix_seconds(&self) -> Result<u64, HostError>;
}

/// The app's store as the core's storage hook.
pub(crate) struct StoreAdapter(pub Arc<dyn SecureStore>);

impl softtoken_core::SecureStore for StoreAdapter {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0
            .read(key.to_string())
            .map_err(|e| StoreError(e.to_string()))
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.0
            .write(key.to_string(), value.to_vec())
            .map_err(|e| StoreError(e.to_string()))
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0
            .delete(key.to_string())
            .map_err(|e| StoreError(e.to_string()))
    }
}

/// The app's clock, or the system's when it gave none.
pub(crate) enum ClockAdapter {
    System,
    Foreign(Arc<dyn Clock>),
}

impl ClockAdapter {
    pub(crate) fn new(clock: Option<Arc<dyn Clock>>) -> Self {
        clock.map_or(ClockAdapter::System, ClockAdapter::Foreign)
    }
}

impl softtoken_core::Clock for ClockAdapter {
    fn now(&self) -> Result<u64, ClockError> {
        match self {
            ClockAdapter::System => softtoken_core::SystemClock.now(),
            ClockAdapter::Foreign(c) => c
                .now_unix_seconds()
                .map_err(|e| ClockError::Host(e.to_string())),
        }
    }
}
