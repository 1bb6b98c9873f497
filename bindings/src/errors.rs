//! The one error the API throws, carrying the core's message, and the error a
//! host's store or clock may throw.

use softtoken_core::directory::DirectoryError;
use softtoken_core::{
    ClockError, IssueError, OtpError, ProvisionError, RecordError, SecretError, SerialError,
    UriError, VaultError, VerifyError,
};

/// Every failure of the API. Its message is the core's, written for a person; the variant is for a program to branch on.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum SoftTokenError {
    /// A secret that is not base32 or too short.
    #[error("{0}")]
    InvalidSecret(String),
    /// A serial that is mistyped or malformed.
    #[error("{0}")]
    InvalidSerial(String),
    /// A key URI that cannot be used.
    #[error("{0}")]
    InvalidUri(String),
    /// Digits, period, algorithm, prefix or policy values out of range.
    #[error("{0}")]
    InvalidParameter(String),
    /// No token with that serial.
    #[error("{0}")]
    NotFound(String),
    /// The token is already there.
    #[error("{0}")]
    AlreadyPresent(String),
    /// The operation does not apply to that token.
    #[error("{0}")]
    NotAllowed(String),
    /// The app's secure store failed; the stored tokens are unchanged.
    #[error("{0}")]
    Store(String),
    /// The stored record is damaged, foreign or from a newer version; it was left untouched.
    #[error("{0}")]
    CorruptStore(String),
    /// The clock is unusable.
    #[error("{0}")]
    Clock(String),
    /// The random source failed.
    #[error("{0}")]
    Random(String),
    /// The token service could not be reached (no connection); nothing was stored.
    #[error("{0}")]
    Offline(String),
    /// The token service asks to wait; the message says how many seconds.
    #[error("{0}")]
    RateLimited(String),
    /// The answer was not a softtoken service's (wrong URL, captive portal, damaged reply); nothing was stored.
    #[error("{0}")]
    BadResponse(String),
    /// The token service refused the request with a message of its own.
    #[error("{0}")]
    ServiceRefused(String),
}

/// What the app's [`crate::SecureStore`] or [`crate::Clock`] throws; any other exception arrives as this too.
/// It stays an error with a field, as only such an error carries the app's reason into Rust (a flat error
/// crosses from Kotlin or Swift as its case alone). Its Rust `Display` is exported, so `toString()` in
/// Kotlin and `description` in Swift read the reason itself, and every message the API throws quotes it bare.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum HostError {
    /// The host operation failed.
    #[error("{reason}")]
    Failed {
        /// What went wrong, in the host's words.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for HostError {
    /// Any other exception the app threw: its first line (`java.lang.IllegalStateException: disk on fire`),
    /// not the stack trace Kotlin's bindings send with it.
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let first = e.reason.lines().map(str::trim).find(|l| !l.is_empty());
        HostError::Failed {
            reason: first
                .unwrap_or("the app's store or clock failed")
                .to_string(),
        }
    }
}

impl From<SecretError> for SoftTokenError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::Entropy(_) => SoftTokenError::Random(e.to_string()),
            _ => SoftTokenError::InvalidSecret(e.to_string()),
        }
    }
}

impl From<SerialError> for SoftTokenError {
    fn from(e: SerialError) -> Self {
        match e {
            SerialError::BadPrefix(_) => SoftTokenError::InvalidParameter(e.to_string()),
            _ => SoftTokenError::InvalidSerial(e.to_string()),
        }
    }
}

impl From<OtpError> for SoftTokenError {
    fn from(e: OtpError) -> Self {
        SoftTokenError::InvalidParameter(e.to_string())
    }
}

impl From<UriError> for SoftTokenError {
    fn from(e: UriError) -> Self {
        match e {
            UriError::Secret(inner) => {
                SoftTokenError::InvalidSecret(UriError::Secret(inner).to_string())
            }
            _ => SoftTokenError::InvalidUri(e.to_string()),
        }
    }
}

impl From<ClockError> for SoftTokenError {
    fn from(e: ClockError) -> Self {
        SoftTokenError::Clock(e.to_string())
    }
}

impl From<IssueError> for SoftTokenError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Secret(inner) => inner.into(),
            IssueError::Entropy(_) => SoftTokenError::Random(e.to_string()),
            IssueError::Exhausted { .. } => SoftTokenError::NotAllowed(e.to_string()),
            IssueError::NoSerial(_) => SoftTokenError::InvalidUri(e.to_string()),
        }
    }
}

impl From<VaultError> for SoftTokenError {
    fn from(e: VaultError) -> Self {
        let message = e.to_string();
        match e {
            VaultError::NotFound(_) => SoftTokenError::NotFound(message),
            VaultError::Serial(inner) => inner.into(),
            VaultError::AlreadyPresent(_) => SoftTokenError::AlreadyPresent(message),
            VaultError::NotIssuedHere(_) => SoftTokenError::NotAllowed(message),
            VaultError::Store(_) => SoftTokenError::Store(message),
            VaultError::Record(
                RecordError::Foreign | RecordError::NewerVersion { .. } | RecordError::Corrupt(_),
            ) => SoftTokenError::CorruptStore(message),
            VaultError::Clock(_) => SoftTokenError::Clock(message),
            VaultError::Otp(_) => SoftTokenError::InvalidParameter(message),
            VaultError::Uri(inner) => inner.into(),
            VaultError::Issue(inner) => inner.into(),
            VaultError::Provision(inner) => inner.into(),
        }
    }
}

impl From<ProvisionError> for SoftTokenError {
    fn from(e: ProvisionError) -> Self {
        let message = e.to_string();
        match e {
            ProvisionError::InvalidUrl(_) => SoftTokenError::InvalidParameter(message),
            ProvisionError::Offline { .. } => SoftTokenError::Offline(message),
            ProvisionError::RateLimited { .. } => SoftTokenError::RateLimited(message),
            ProvisionError::BadResponse { .. } => SoftTokenError::BadResponse(message),
            ProvisionError::Refused { .. } => SoftTokenError::ServiceRefused(message),
            ProvisionError::AlreadyHeld { .. } => SoftTokenError::AlreadyPresent(message),
        }
    }
}

impl From<DirectoryError> for SoftTokenError {
    fn from(e: DirectoryError) -> Self {
        let message = e.to_string();
        match e {
            DirectoryError::Duplicate(_) => SoftTokenError::AlreadyPresent(message),
            DirectoryError::Unsupported(_) => SoftTokenError::NotAllowed(message),
            DirectoryError::Backend(_) => SoftTokenError::Store(message),
            DirectoryError::Issue(inner) => inner.into(),
        }
    }
}

impl From<VerifyError> for SoftTokenError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Directory(inner) => inner.into(),
            VerifyError::Ledger(inner) => SoftTokenError::Store(inner.to_string()),
            VerifyError::Clock(inner) => inner.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_reasons_read_bare() {
        let e = HostError::Failed {
            reason: "keychain is locked".into(),
        };
        assert_eq!(e.to_string(), "keychain is locked");
        let trace = "java.lang.IllegalStateException: disk on fire\n\tat dev.softtoken.tests.FailingWrites.write(Stores.kt:20)\n";
        let unexpected = HostError::from(uniffi::UnexpectedUniFFICallbackError::new(trace));
        assert_eq!(
            unexpected.to_string(),
            "java.lang.IllegalStateException: disk on fire"
        );
        let empty = HostError::from(uniffi::UnexpectedUniFFICallbackError::new("\n"));
        assert_eq!(empty.to_string(), "the app's store or clock failed");
    }
}
