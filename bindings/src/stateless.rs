//! Functions that need no vault: codes from a secret, serials, key URIs.

use crate::errors::SoftTokenError;
use crate::vault::{Algorithm, Code, TokenKind};
use softtoken_core::otp::{self, Digits, Mode, OtpParams};
use softtoken_core::{KeyUri, Secret, Serial};

/// The TOTP code of a base32 secret at a Unix time.
#[uniffi::export]
pub fn generate_totp(
    secret_base32: String,
    unix_time: u64,
    algorithm: Algorithm,
    digits: u8,
    period: u64,
) -> Result<Code, SoftTokenError> {
    let secret = Secret::from_base32(&secret_base32)?;
    let params = OtpParams::totp(algorithm, Digits::new(u64::from(digits))?, period)?;
    Ok(otp::generate(&secret, &params, unix_time)?.into())
}

/// The HOTP code of a base32 secret at a counter.
#[uniffi::export]
pub fn generate_hotp(
    secret_base32: String,
    counter: u64,
    algorithm: Algorithm,
    digits: u8,
) -> Result<Code, SoftTokenError> {
    let secret = Secret::from_base32(&secret_base32)?;
    let params = OtpParams::hotp(algorithm, Digits::new(u64::from(digits))?, counter);
    Ok(otp::generate(&secret, &params, 0)?.into())
}

/// Checks a serial as typed (spaces, hyphens, lower case allowed) and returns it as stored (`SSTA12345678`).
#[uniffi::export]
pub fn parse_serial(input: String) -> Result<String, SoftTokenError> {
    Ok(Serial::parse(&input)?.as_str().to_string())
}

/// A serial as shown: `SSTA 1234 5678` for ours, others verbatim.
#[uniffi::export]
pub fn format_serial(serial: String) -> String {
    match Serial::parse(&serial) {
        Ok(ours) => ours.grouped(),
        Err(_) => serial.trim().to_string(),
    }
}

/// What a key URI describes, without its secret.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct KeyUriInfo {
    /// The account name.
    pub account: String,
    /// The issuing service, if named.
    pub issuer: Option<String>,
    /// The serial the account names, if it is one (a VIP `SYMC…`, or a softtoken serial).
    pub serial: Option<String>,
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Digits per code.
    pub digits: u8,
    /// TOTP or HOTP.
    pub kind: TokenKind,
    /// Seconds per code (TOTP), else null.
    pub period: Option<u64>,
    /// The HOTP counter, else null.
    pub counter: Option<u64>,
}

/// Reads an `otpauth://` key URI, to show what importing it would add.
#[uniffi::export]
pub fn parse_key_uri(uri: String) -> Result<KeyUriInfo, SoftTokenError> {
    let key = KeyUri::parse(&uri)?;
    let (kind, period, counter) = match key.params.mode {
        Mode::Totp { period } => (TokenKind::Totp, Some(period), None),
        Mode::Hotp { counter } => (TokenKind::Hotp, None, Some(counter)),
    };
    Ok(KeyUriInfo {
        serial: key.serial().map(|s| s.as_str().to_string()),
        account: key.account,
        issuer: key.issuer,
        algorithm: key.params.algorithm,
        digits: key.params.digits.get(),
        kind,
        period,
        counter,
    })
}

/// The serial prefix of tokens issued to the iOS app (`SSTI`): the app opens its vault with it, so the service is asked for an iOS token.
#[uniffi::export]
pub fn ios_prefix() -> String {
    softtoken_core::Prefix::IOS.to_string()
}
