//! softtoken for Kotlin (`dev.softtoken`) and Swift (`SoftToken`): the uniffi
//! layer over `softtoken-core`. It maps types and errors and holds no logic.

mod errors;
mod host;
mod stateless;
mod transport;
mod vault;
mod verifier;

pub use errors::{HostError, SoftTokenError};
pub use host::{Clock, MaybeRecord, RecordBytes, SecureStore};
pub use stateless::{
    format_serial, generate_hotp, generate_totp, parse_key_uri, parse_serial, KeyUriInfo,
};
pub use transport::{HttpResponse, HttpTransport};
pub use vault::{Algorithm, Code, Origin, TokenCard, TokenInfo, TokenKind, TokenVault};
pub use verifier::{BindingState, BindingStatus, IssuedToken, Outcome, Verifier};

uniffi::setup_scaffolding!();
