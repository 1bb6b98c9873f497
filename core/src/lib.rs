//! softtoken-core: the one-time password token without screens or FFI.
//!
//! Codes ([`otp`]), key material ([`secret`]), serial numbers ([`serial`]),
//! issuance ([`issuer`]), key URIs ([`uri`]), the host storage hook and record
//! format ([`store`], written in [`json`]), time ([`clock`]), the device-side [`vault`] and the
//! bank-side [`verifier`], and [`provision`]ing from the token service through the host's transport.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod base32;
pub mod clock;
pub mod directory;
pub mod input;
pub mod issuer;
pub mod json;
pub mod ledger;
pub mod migration;
pub mod otp;
pub mod provision;
pub mod random;
pub mod rules;
pub mod secret;
pub mod serial;
pub mod store;
pub mod token;
pub mod uri;
pub mod vault;
pub mod verifier;
pub mod view;

pub use clock::{Clock, ClockError, ManualClock, SystemClock};
pub use directory::{Directory, DirectoryError, MemoryDirectory};
pub use issuer::{Credential, IssueError, Issuer};
pub use ledger::{
    Binding, BindingState, Ledger, LedgerError, LedgerState, MemoryLedger, TokenMemory,
};
pub use otp::{Algorithm, Code, Digits, Mode, OtpError, OtpParams, OtpValue, Totp, TypedCode};
pub use provision::{HttpReply, ProvisionError, Transport, TransportError};
pub use random::{Entropy, EntropyError, OsEntropy};
pub use secret::{Secret, SecretError};
pub use serial::{Prefix, Serial, SerialError, SerialKind};
pub use store::{MemoryStore, RecordError, SecureStore, StoreError};
pub use uri::{KeyUri, UriError};
pub use vault::{Origin, TokenInfo, Vault, VaultError};
pub use verifier::{
    Audit, AuditEvent, Operation, Outcome, Policy, PolicyError, Status, Verifier, VerifyError,
};
