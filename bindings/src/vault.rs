//! `TokenVault`: the device's tokens over the app's secure store.

use crate::errors::SoftTokenError;
use crate::host::{ClockAdapter, SecureStore, StoreAdapter};
use crate::transport::{HttpTransport, TransportAdapter};
use crate::Clock;
use softtoken_core::otp::{self, Mode};
use softtoken_core::{Issuer, Origin, Prefix, Vault};
use std::sync::{Arc, Mutex, MutexGuard};

/// The HMAC hash of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Algorithm {
    /// HMAC-SHA-1 (the usual).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl From<otp::Algorithm> for Algorithm {
    fn from(a: otp::Algorithm) -> Self {
        match a {
            otp::Algorithm::Sha1 => Algorithm::Sha1,
            otp::Algorithm::Sha256 => Algorithm::Sha256,
            otp::Algorithm::Sha512 => Algorithm::Sha512,
        }
    }
}

impl From<Algorithm> for otp::Algorithm {
    fn from(a: Algorithm) -> Self {
        match a {
            Algorithm::Sha1 => otp::Algorithm::Sha1,
            Algorithm::Sha256 => otp::Algorithm::Sha256,
            Algorithm::Sha512 => otp::Algorithm::Sha512,
        }
    }
}

/// Time-based or counter-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TokenKind {
    /// A new code every period (TOTP).
    Totp,
    /// A new code each time one is asked for (HOTP).
    Hotp,
}

/// A token as a screen shows it: never its secret.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TokenInfo {
    /// The serial as stored (`SSTA12345678`, `SYMC26070843`).
    pub serial: String,
    /// The serial as shown and typed (`SSTA 1234 5678`).
    pub display_serial: String,
    /// The account name.
    pub label: String,
    /// The issuing service, if known.
    pub issuer: Option<String>,
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Digits per code (6, 7 or 8).
    pub digits: u8,
    /// Seconds per code (TOTP), or null for HOTP.
    pub period: Option<u64>,
    /// TOTP or HOTP.
    pub kind: TokenKind,
    /// True for the bank token (issued on this device or by the token service); false for imported accounts.
    pub issued_here: bool,
}

impl From<softtoken_core::TokenInfo> for TokenInfo {
    fn from(t: softtoken_core::TokenInfo) -> Self {
        let (kind, period) = match t.params.mode {
            Mode::Totp { period } => (TokenKind::Totp, Some(period)),
            Mode::Hotp { .. } => (TokenKind::Hotp, None),
        };
        TokenInfo {
            display_serial: t.serial.grouped(),
            serial: t.serial.as_str().to_string(),
            label: t.label,
            issuer: t.issuer,
            algorithm: t.params.algorithm.into(),
            digits: t.params.digits.get(),
            period,
            kind,
            issued_here: t.origin != Origin::Imported,
        }
    }
}

/// A code with the next one and, for TOTP, its validity window for a countdown.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Code {
    /// The code to type, zero-padded.
    pub value: String,
    /// The code that follows.
    pub next_value: String,
    /// The TOTP time step or HOTP counter of `value`.
    pub counter: u64,
    /// First Unix second `value` is valid (TOTP), else null.
    pub valid_from: Option<u64>,
    /// First Unix second `value` is no longer valid (TOTP), else null.
    pub valid_until: Option<u64>,
    /// Seconds left (TOTP), else null.
    pub seconds_left: Option<u64>,
    /// Share of the window elapsed, 0.0 to below 1.0 (TOTP), else null.
    pub progress: Option<f64>,
}

impl From<otp::Code> for Code {
    fn from(c: otp::Code) -> Self {
        Code {
            value: c.value.to_string(),
            next_value: c.next.to_string(),
            counter: c.counter,
            valid_from: c.window.map(|w| w.valid_from),
            valid_until: c.window.map(|w| w.valid_until),
            seconds_left: c.window.map(|w| w.seconds_left),
            progress: c.window.map(|w| w.progress),
        }
    }
}

/// The device's tokens, kept in the app's secure store. Safe to call from any thread.
#[derive(uniffi::Object)]
pub struct TokenVault {
    inner: Mutex<Vault<StoreAdapter, ClockAdapter>>,
}

impl std::fmt::Debug for TokenVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenVault")
    }
}

impl TokenVault {
    fn vault(&self) -> MutexGuard<'_, Vault<StoreAdapter, ClockAdapter>> {
        // A panic while holding the lock cannot leave the vault half-changed: it commits whole records only.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[uniffi::export]
impl TokenVault {
    /// Opens the vault in `store` (the system clock when `clock` is null); tokens issued here get serials starting `SSTA`.
    #[uniffi::constructor]
    pub fn new(
        store: Arc<dyn SecureStore>,
        clock: Option<Arc<dyn Clock>>,
    ) -> Result<Arc<Self>, SoftTokenError> {
        Self::with_prefix(store, clock, Prefix::ANDROID.to_string())
    }

    /// Opens the vault with the issuer prefix of this platform (4 letters, e.g. `SSTI` on iOS).
    #[uniffi::constructor]
    pub fn with_prefix(
        store: Arc<dyn SecureStore>,
        clock: Option<Arc<dyn Clock>>,
        prefix: String,
    ) -> Result<Arc<Self>, SoftTokenError> {
        let issuer = Issuer::new(Prefix::new(&prefix)?);
        let vault = Vault::open(StoreAdapter(store), ClockAdapter::new(clock), issuer)?;
        Ok(Arc::new(Self {
            inner: Mutex::new(vault),
        }))
    }

    /// Issues a new token (new serial, new secret) and stores it.
    pub fn issue(&self) -> Result<TokenInfo, SoftTokenError> {
        Ok(self.vault().issue()?.into())
    }

    /// Imports an `otpauth://` URI, or every account of an `otpauth-migration://` export.
    pub fn import_uri(&self, uri: String) -> Result<Vec<TokenInfo>, SoftTokenError> {
        Ok(self
            .vault()
            .import_uri(&uri)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// All tokens, the one issued here first.
    pub fn tokens(&self) -> Vec<TokenInfo> {
        self.vault().tokens().into_iter().map(Into::into).collect()
    }

    /// The current code of a token (for HOTP the counter moves on and is stored first).
    pub fn code(&self, serial: String) -> Result<Code, SoftTokenError> {
        Ok(self.vault().code(&serial)?.into())
    }

    /// Deletes a token; the bank must be told to stop it.
    pub fn delete(&self, serial: String) -> Result<TokenInfo, SoftTokenError> {
        Ok(self.vault().delete(&serial)?.into())
    }

    /// Replaces an issued token with a new serial and a new secret; register the new one at the bank.
    pub fn reissue(&self, serial: String) -> Result<TokenInfo, SoftTokenError> {
        Ok(self.vault().reissue(&serial)?.into())
    }

    /// The token's key URI. It CONTAINS THE SECRET: show it only to its owner, never log it.
    pub fn export_uri(&self, serial: String) -> Result<String, SoftTokenError> {
        Ok(self.vault().export_uri(&serial)?.to_string())
    }

    /// Sets the seconds added to the device clock (negative when it is fast).
    pub fn set_clock_offset(&self, seconds: i64) -> Result<(), SoftTokenError> {
        Ok(self.vault().set_clock_offset(seconds)?)
    }

    /// The seconds added to the device clock.
    pub fn clock_offset(&self) -> i64 {
        self.vault().clock_offset()
    }

    /// Gets a token from the token service at `service_url` through the app's HTTP client, stores it
    /// and sets the clock offset from the service's time. Nothing is stored when it fails. It waits
    /// for the network and other calls on this vault wait for it: call it off the main thread.
    pub fn provision(
        &self,
        service_url: String,
        transport: Arc<dyn HttpTransport>,
    ) -> Result<TokenInfo, SoftTokenError> {
        let transport = TransportAdapter(transport);
        Ok(self.vault().provision(&service_url, &transport)?.into())
    }

    /// Sets the clock offset from the token service's time and returns it (seconds).
    pub fn sync_time(
        &self,
        service_url: String,
        transport: Arc<dyn HttpTransport>,
    ) -> Result<i64, SoftTokenError> {
        let transport = TransportAdapter(transport);
        Ok(self.vault().sync_time(&service_url, &transport)?)
    }
}
