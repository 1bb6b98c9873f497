//! `TokenVault`: the device's tokens over the app's secure store.

use crate::errors::SoftTokenError;
use crate::host::{ClockAdapter, SecureStore, StoreAdapter};
use crate::transport::{HttpTransport, TransportAdapter};
use crate::Clock;
use softtoken_core::otp::{self, Mode};
use softtoken_core::view;
use softtoken_core::{Issuer, Prefix, Vault};
use std::sync::{Arc, Mutex, MutexGuard};

pub use softtoken_core::otp::Algorithm;
pub use softtoken_core::Origin;

/// The HMAC hash of a token (the core's `Algorithm`, exported as it is).
#[uniffi::remote(Enum)]
pub enum Algorithm {
    /// HMAC-SHA-1 (the usual).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

/// How a token came into the vault (the core's `Origin`, exported as it is).
#[uniffi::remote(Enum)]
pub enum Origin {
    /// Issued on this device.
    Issued,
    /// Imported from a key URI: another service's account.
    Imported,
    /// Issued by the token service at first start online: the bank's token.
    Service,
}

/// Time-based or counter-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TokenKind {
    /// A new code every period (TOTP).
    Totp,
    /// A new code each time one is asked for (HOTP).
    Hotp,
}

/// A token as a screen shows it (from the core's presentation model): never its secret.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TokenInfo {
    /// The serial as stored (`SSTA12345678`, `SYMC26070843`).
    pub serial: String,
    /// The serial as shown and typed (`SSTA 1234 5678`; an imported foreign serial as it is).
    pub display_serial: String,
    /// The serial for TalkBack or VoiceOver, character by character (`S S T A, 1 2 3 4, 5 6 7 8`).
    pub spoken_serial: String,
    /// The token's name on screen: issuer and account, without repeats (`softtoken`, `GitHub · alice`, `VIP Access`).
    pub title: String,
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
    /// Issued here, by the token service, or imported.
    pub origin: Origin,
    /// Where it came from, in words (`issued here`, `from the token service`, `imported`).
    pub origin_text: String,
    /// True for the bank token (issued on this device or by the token service); false for imported accounts.
    pub issued_here: bool,
}

impl From<softtoken_core::TokenInfo> for TokenInfo {
    fn from(t: softtoken_core::TokenInfo) -> Self {
        let (kind, period) = match t.params.mode {
            Mode::Totp { period } => (TokenKind::Totp, Some(period)),
            Mode::Hotp { .. } => (TokenKind::Hotp, None),
        };
        let shown = view::token(&t);
        TokenInfo {
            serial: shown.serial,
            display_serial: shown.display_serial,
            spoken_serial: shown.spoken_serial,
            title: shown.title,
            label: t.label,
            issuer: t.issuer,
            algorithm: t.params.algorithm,
            digits: t.params.digits.get(),
            period,
            kind,
            origin: t.origin,
            origin_text: shown.origin_text.to_string(),
            issued_here: t.origin != Origin::Imported,
        }
    }
}

/// A code as a screen shows it (from the core's presentation model), with the next one and, for TOTP, the countdown.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Code {
    /// The code to type, zero-padded (`165873`).
    pub value: String,
    /// The code in two groups for reading (`165 873`, `1234 567`, `1234 5678`).
    pub grouped_value: String,
    /// The code for TalkBack or VoiceOver, digit by digit (`1 6 5, 8 7 3`).
    pub spoken_value: String,
    /// The code that follows.
    pub next_value: String,
    /// The next code, grouped.
    pub grouped_next_value: String,
    /// The TOTP time step or HOTP counter of `value`.
    pub counter: u64,
    /// First Unix second `value` is valid (TOTP), else null.
    pub valid_from: Option<u64>,
    /// First Unix second `value` is no longer valid (TOTP), else null.
    pub valid_until: Option<u64>,
    /// Seconds per code (TOTP), else null.
    pub period: Option<u64>,
    /// Whole seconds left, 1 to the period, by the vault's clock with its offset (TOTP), else null.
    pub seconds_left: Option<u64>,
    /// Share of the period elapsed, 0.0 to below 1.0 (TOTP), else null.
    pub progress: Option<f64>,
    /// Share of the period still to run, 1.0 down to above 0.0: what a countdown ring draws (TOTP), else null.
    pub remaining: Option<f64>,
    /// True in the last seconds of a TOTP code (draw it in a warning colour); false for HOTP.
    pub ending: bool,
}

impl From<view::CodeView> for Code {
    fn from(c: view::CodeView) -> Self {
        let countdown = c.countdown;
        Code {
            value: c.value,
            grouped_value: c.grouped,
            spoken_value: c.spoken,
            next_value: c.next_value,
            grouped_next_value: c.next_grouped,
            counter: c.counter,
            valid_from: countdown.map(|w| w.valid_from),
            valid_until: countdown.map(|w| w.valid_until),
            period: countdown.map(|w| w.period),
            seconds_left: countdown.map(|w| w.seconds_left),
            progress: countdown.map(|w| w.progress),
            remaining: countdown.map(|w| w.remaining),
            ending: countdown.is_some_and(|w| w.ending),
        }
    }
}

impl From<otp::Code> for Code {
    fn from(c: otp::Code) -> Self {
        view::code(&c).into()
    }
}

/// One token and, for TOTP, its current code: a row of the token screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TokenCard {
    /// The token.
    pub token: TokenInfo,
    /// Its current code (TOTP); null for HOTP, whose codes are drawn only when asked for (drawing one uses it up).
    pub code: Option<Code>,
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

    /// Every token with its current code (TOTP only), the one issued here first: the whole screen in one call,
    /// at one moment of the vault's clock (its offset applied).
    pub fn cards(&self) -> Result<Vec<TokenCard>, SoftTokenError> {
        Ok(view::cards(&*self.vault())?
            .into_iter()
            .map(|card| TokenCard {
                token: card.info.into(),
                code: card.code.map(Into::into),
            })
            .collect())
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
