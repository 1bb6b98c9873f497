//! The device side: the tokens a phone or PC holds, persisted through the
//! host's [`SecureStore`] before any change returns.

use crate::clock::{self, Clock, ClockError};
use crate::issuer::{IssueError, Issuer};
use crate::otp::{self, Code, Mode, OtpError, OtpParams};
use crate::provision::{self, ProvisionError, TokenRequest, Transport};
use crate::secret::Secret;
use crate::serial::{Serial, SerialError, SerialKind};
use crate::store::{Record, RecordError, SecureStore, StoreError};
use crate::uri::{self, KeyUri, UriError};
use thiserror::Error;
use zeroize::Zeroizing;

pub use crate::token::{Origin, Token};

/// The key under which the vault's record is stored.
pub const VAULT_KEY: &str = "softtoken.vault";
pub use crate::issuer::ISSUER_NAME;

/// Why a vault operation failed. A failed operation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VaultError {
    /// No token has that serial.
    #[error("no token with serial '{0}' in this vault: list the tokens to see their serials")]
    NotFound(String),
    /// The serial as typed is not valid.
    #[error(transparent)]
    Serial(#[from] SerialError),
    /// The token is already in the vault.
    #[error("token {0} is already in this vault")]
    AlreadyPresent(String),
    /// Re-issuing a token that another service issued (imported, or from the token service).
    #[error("token {0} was not issued on this device: only the service that issued it can issue a replacement")]
    NotIssuedHere(String),
    /// The host's store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored record cannot be read.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The clock is unusable.
    #[error(transparent)]
    Clock(#[from] ClockError),
    /// A code cannot be made.
    #[error(transparent)]
    Otp(#[from] OtpError),
    /// A key URI is not usable.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// Issuance failed.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// Getting a token or the time from the token service failed.
    #[error(transparent)]
    Provision(#[from] ProvisionError),
}

/// What a screen may know about a token: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The serial.
    pub serial: Serial,
    /// The account name.
    pub label: String,
    /// The issuing service, if known.
    pub issuer: Option<String>,
    /// Algorithm, digits, period or counter.
    pub params: OtpParams,
    /// Issued here or imported.
    pub origin: Origin,
    /// Unix time it was added.
    pub created: u64,
}

impl From<&Token> for TokenInfo {
    fn from(t: &Token) -> Self {
        TokenInfo {
            serial: t.serial.clone(),
            label: t.label.clone(),
            issuer: t.issuer.clone(),
            params: t.params,
            origin: t.origin,
            created: t.created,
        }
    }
}

/// A device's tokens over a host store.
pub struct Vault<S: SecureStore, C: Clock> {
    store: S,
    clock: C,
    issuer: Issuer,
    record: Record,
}

impl<S: SecureStore, C: Clock> std::fmt::Debug for Vault<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("tokens", &self.record.tokens.len())
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl<S: SecureStore, C: Clock> Vault<S, C> {
    /// Opens the vault kept in `store` (empty when nothing is stored yet); new tokens come from `issuer`.
    pub fn open(store: S, clock: C, issuer: Issuer) -> Result<Self, VaultError> {
        let record = match store.read(VAULT_KEY)? {
            Some(bytes) => Record::decode(&Zeroizing::new(bytes))?,
            None => Record::default(),
        };
        Ok(Self {
            store,
            clock,
            issuer,
            record,
        })
    }

    /// The host store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The current time with the clock offset applied.
    pub fn now(&self) -> Result<u64, VaultError> {
        Ok(clock::corrected(
            self.clock.now()?,
            self.record.settings.clock_offset,
        )?)
    }

    /// All tokens: issued ones (the seed's token first, from here or the service) then imported ones, each in the order added.
    pub fn tokens(&self) -> Vec<TokenInfo> {
        let issued = self
            .record
            .tokens
            .iter()
            .filter(|t| t.origin != Origin::Imported);
        let imported = self
            .record
            .tokens
            .iter()
            .filter(|t| t.origin == Origin::Imported);
        issued.chain(imported).map(TokenInfo::from).collect()
    }

    /// Whether the vault holds no token.
    pub fn is_empty(&self) -> bool {
        self.record.tokens.is_empty()
    }

    fn position(&self, typed: &str) -> Result<usize, VaultError> {
        let tokens = &self.record.tokens;
        if let Some(i) = tokens
            .iter()
            .position(|t| t.serial.as_str() == typed.trim())
        {
            return Ok(i);
        }
        if let Some(i) = tokens.iter().position(|t| t.serial.matches_input(typed)) {
            return Ok(i);
        }
        // Not stored: if it was meant as one of our serials (a prefix issued here), say what is wrong with it.
        let normalized = crate::input::normalize(typed);
        let ours = |prefix: &str| {
            prefix == self.issuer.prefix().as_str()
                || tokens
                    .iter()
                    .any(|t| t.serial.prefix().is_some_and(|p| p.as_str() == prefix))
        };
        match Serial::parse(typed) {
            Err(e @ SerialError::CheckDigit { .. }) if normalized.get(..4).is_some_and(ours) => {
                Err(e.into())
            }
            _ => Err(VaultError::NotFound(typed.trim().to_string())),
        }
    }

    /// The stored token with that serial (as a person may type it).
    pub fn token(&self, serial: &str) -> Result<TokenInfo, VaultError> {
        Ok(TokenInfo::from(&self.record.tokens[self.position(serial)?]))
    }

    /// Writes `record` and, only when that succeeded, makes it the vault's state.
    fn commit(&mut self, record: Record) -> Result<(), VaultError> {
        let bytes = record.encode();
        self.store.write(VAULT_KEY, &bytes)?;
        self.record = record;
        Ok(())
    }

    fn is_taken(&self, serial: &Serial) -> bool {
        self.record.issued.iter().any(|s| s == serial.as_str())
            || self.record.tokens.iter().any(|t| t.serial == *serial)
    }

    fn mint(&self, now: u64) -> Result<Token, VaultError> {
        let credential = self.issuer.mint(|s| self.is_taken(s))?;
        Ok(Token {
            label: credential.serial.as_str().to_string(),
            serial: credential.serial,
            secret: credential.secret,
            params: credential.params,
            issuer: Some(ISSUER_NAME.to_string()),
            origin: Origin::Issued,
            created: now,
        })
    }

    /// Issues a new token (new serial, new secret) and stores it (T2, T5).
    pub fn issue(&mut self) -> Result<TokenInfo, VaultError> {
        let token = self.mint(self.now().unwrap_or(0))?;
        let info = TokenInfo::from(&token);
        let mut record = self.record.clone();
        record.issued.push(token.serial.as_str().to_string());
        record.tokens.push(token);
        self.commit(record)?;
        Ok(info)
    }

    /// Replaces an issued token with a new serial and a new secret (T5); the old one is gone once the new one is stored.
    pub fn reissue(&mut self, serial: &str) -> Result<TokenInfo, VaultError> {
        let at = self.position(serial)?;
        let old = &self.record.tokens[at];
        if old.origin != Origin::Issued {
            return Err(VaultError::NotIssuedHere(old.serial.to_string()));
        }
        let token = self.mint(self.now().unwrap_or(0))?;
        let info = TokenInfo::from(&token);
        let mut record = self.record.clone();
        record.issued.push(token.serial.as_str().to_string());
        record.tokens[at] = token;
        self.commit(record)?;
        Ok(info)
    }

    /// Adds an account described by a key URI: a VIP-style account name becomes the serial, as does
    /// the serial of a token exported by softtoken; other accounts get a serial minted here.
    pub fn import(&mut self, key: KeyUri) -> Result<TokenInfo, VaultError> {
        let serial = match key.serial() {
            Some(serial) => serial,
            None => self.issuer.mint(|s| self.is_taken(s))?.serial,
        };
        let duplicate = self.record.tokens.iter().find(|t| {
            t.serial == serial
                || (t.secret == key.secret && t.label == key.account && t.issuer == key.issuer)
        });
        if let Some(t) = duplicate {
            return Err(VaultError::AlreadyPresent(t.serial.to_string()));
        }
        let token = Token {
            serial,
            secret: key.secret,
            params: key.params,
            label: key.account,
            issuer: key.issuer,
            origin: Origin::Imported,
            created: self.now().unwrap_or(0),
        };
        let info = TokenInfo::from(&token);
        let mut record = self.record.clone();
        if token.serial.kind() == SerialKind::Checked {
            record.issued.push(token.serial.as_str().to_string());
        }
        record.tokens.push(token);
        self.commit(record)?;
        Ok(info)
    }

    /// Imports an `otpauth://` URI or every account of an `otpauth-migration://` export, all or none.
    pub fn import_uri(&mut self, text: &str) -> Result<Vec<TokenInfo>, VaultError> {
        let keys = uri::parse_any(text)?;
        let before = self.record.clone();
        let mut added = Vec::with_capacity(keys.len());
        for key in keys {
            match self.import(key) {
                Ok(info) => added.push(info),
                Err(e) => {
                    if !added.is_empty() {
                        // Put back what this call stored; if even that fails, the store keeps the imported accounts and says so.
                        self.commit(before)?;
                    }
                    return Err(e);
                }
            }
        }
        Ok(added)
    }

    /// Adds an account from a base32 secret and its parameters.
    pub fn import_secret(
        &mut self,
        secret_base32: &str,
        params: OtpParams,
        label: &str,
        issuer: Option<&str>,
    ) -> Result<TokenInfo, VaultError> {
        let key = KeyUri::new(
            Secret::from_base32(secret_base32).map_err(UriError::from)?,
            params,
            issuer.map(str::to_string),
            label.to_string(),
        )?;
        self.import(key)
    }

    /// The current code of a token. For HOTP the counter moves on and is stored before the code is returned.
    pub fn code(&mut self, serial: &str) -> Result<Code, VaultError> {
        let at = self.position(serial)?;
        let token = &self.record.tokens[at];
        match token.params.mode {
            Mode::Totp { .. } => Ok(otp::generate(&token.secret, &token.params, self.now()?)?),
            Mode::Hotp { counter } => {
                let code = otp::generate(&token.secret, &token.params, 0)?;
                let mut record = self.record.clone();
                record.tokens[at].params.mode = Mode::Hotp {
                    counter: counter.wrapping_add(1),
                };
                self.commit(record)?;
                Ok(code)
            }
        }
    }

    /// The TOTP code of a token at a given Unix time (HOTP: the next code, without moving the counter).
    pub fn code_at(&self, serial: &str, time: u64) -> Result<Code, VaultError> {
        let token = &self.record.tokens[self.position(serial)?];
        Ok(otp::generate(&token.secret, &token.params, time)?)
    }

    /// Deletes a token (B3/B8 on the device); the bank must be told to stop it.
    pub fn delete(&mut self, serial: &str) -> Result<TokenInfo, VaultError> {
        let at = self.position(serial)?;
        let mut record = self.record.clone();
        let removed = record.tokens.remove(at);
        let info = TokenInfo::from(&removed);
        self.commit(record)?;
        Ok(info)
    }

    /// The key URI of a token. It contains the secret: show it only to its owner.
    pub fn export_uri(&self, serial: &str) -> Result<Zeroizing<String>, VaultError> {
        let token = &self.record.tokens[self.position(serial)?];
        let key = KeyUri {
            secret: token.secret.clone(),
            params: token.params,
            issuer: token.issuer.clone(),
            account: token.label.clone(),
        };
        Ok(key.to_uri())
    }

    /// Sets the seconds added to the device clock (either sign), after checking the corrected time is valid.
    pub fn set_clock_offset(&mut self, seconds: i64) -> Result<(), VaultError> {
        clock::corrected(self.clock.now()?, seconds)?;
        let mut record = self.record.clone();
        record.settings.clock_offset = seconds;
        self.commit(record)
    }

    /// The seconds added to the device clock.
    pub fn clock_offset(&self) -> i64 {
        self.record.settings.clock_offset
    }
}

/// The token service: first start online (T2) and the clock offset from the service's time.
impl<S: SecureStore, C: Clock> Vault<S, C> {
    /// Asks the service at `service_url` for a token (`POST /v1/tokens`), checks the answer, stores the
    /// token (origin [`Origin::Service`]) and sets the clock offset from the service's time, half the
    /// round trip taken off. After any failure the vault is as it was.
    pub fn provision(
        &mut self,
        service_url: &str,
        transport: &dyn Transport,
    ) -> Result<TokenInfo, VaultError> {
        let base = provision::service_base(service_url)?;
        let url = format!("{base}{}", provision::TOKENS_PATH);
        let request = TokenRequest {
            platform: provision::Platform::of(self.issuer.prefix()),
        };
        let sent = self.clock.now()?;
        let reply =
            transport
                .post_json(&url, &request.to_json())
                .map_err(|e| ProvisionError::Offline {
                    url: base.clone(),
                    reason: e.0,
                })?;
        let received = self.clock.now()?;
        let issued = provision::read_token_reply(&base, &reply)?;
        if self.record.tokens.iter().any(|t| t.serial == issued.serial) {
            return Err(ProvisionError::AlreadyHeld {
                serial: issued.serial.grouped(),
            }
            .into());
        }
        let offset = Self::offset_from(&base, sent, received, issued.server_time)?;
        let token = Token {
            label: issued.serial.as_str().to_string(),
            serial: issued.serial,
            secret: issued.secret,
            params: issued.params,
            issuer: issued.issuer.or_else(|| Some(ISSUER_NAME.to_string())),
            origin: Origin::Service,
            created: clock::corrected(received, offset)?,
        };
        let info = TokenInfo::from(&token);
        let mut record = self.record.clone();
        if !record.issued.iter().any(|s| s == token.serial.as_str()) {
            record.issued.push(token.serial.as_str().to_string());
        }
        record.tokens.push(token);
        record.settings.clock_offset = offset;
        self.commit(record)?;
        Ok(info)
    }

    /// Sets the clock offset from the service's time (`GET /v1/time`), half the round trip taken
    /// off, and returns it. After any failure the offset is as it was.
    pub fn sync_time(
        &mut self,
        service_url: &str,
        transport: &dyn Transport,
    ) -> Result<i64, VaultError> {
        let base = provision::service_base(service_url)?;
        let url = format!("{base}{}", provision::TIME_PATH);
        let sent = self.clock.now()?;
        let reply = transport.get(&url).map_err(|e| ProvisionError::Offline {
            url: base.clone(),
            reason: e.0,
        })?;
        let received = self.clock.now()?;
        let server_time = provision::read_time_reply(&base, &reply)?;
        let offset = Self::offset_from(&base, sent, received, server_time)?;
        if offset != self.record.settings.clock_offset {
            let mut record = self.record.clone();
            record.settings.clock_offset = offset;
            self.commit(record)?;
        }
        Ok(offset)
    }

    fn offset_from(
        base: &str,
        sent: u64,
        received: u64,
        server_time: u64,
    ) -> Result<i64, ProvisionError> {
        provision::clock_offset(sent, received, server_time).map_err(|e| {
            ProvisionError::BadResponse {
                url: base.to_string(),
                reason: format!("server_time {server_time} is unusable: {e}"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::serial::Prefix;
    use crate::store::MemoryStore;
    use std::sync::Arc;

    const T: u64 = 1_111_111_109;

    fn vault(store: Arc<MemoryStore>) -> Vault<Arc<MemoryStore>, ManualClock> {
        Vault::open(store, ManualClock::new(T), Issuer::new(Prefix::DESKTOP)).unwrap()
    }

    #[test]
    fn issue_persists_and_reopens() {
        let store = Arc::new(MemoryStore::new());
        let mut v = vault(store.clone());
        assert!(v.is_empty());
        let t = v.issue().unwrap();
        assert_eq!(t.origin, Origin::Issued);
        assert!(t.serial.as_str().starts_with("SSTD"));
        let code = v.code(&t.serial.grouped()).unwrap();
        let again = vault(store);
        assert_eq!(again.tokens(), vec![t.clone()]);
        assert_eq!(again.code_at(t.serial.as_str(), T).unwrap(), code);
        assert_eq!(code.window.unwrap().seconds_left, 1);
    }

    #[test]
    fn reissue_changes_serial_and_secret() {
        let mut v = vault(Arc::new(MemoryStore::new()));
        let old = v.issue().unwrap();
        let old_uri = v.export_uri(old.serial.as_str()).unwrap();
        let new = v.reissue(old.serial.as_str()).unwrap();
        assert_ne!(old.serial, new.serial);
        assert_eq!(v.tokens(), vec![new.clone()]);
        let new_uri = v.export_uri(new.serial.as_str()).unwrap();
        let secret = |u: &str| KeyUri::parse(u).unwrap().secret;
        assert_ne!(secret(&old_uri), secret(&new_uri));
        assert!(matches!(
            v.code(old.serial.as_str()),
            Err(VaultError::NotFound(_))
        ));
        assert_eq!(v.record.issued.len(), 2);
    }

    #[test]
    fn imports_vip_and_others() {
        let mut v = vault(Arc::new(MemoryStore::new()));
        let seed = v.issue().unwrap();
        let vip = v
            .import_uri("otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN&image=https%3A%2F%2Fexample.com%2Fx.png")
            .unwrap();
        assert_eq!(vip[0].serial.as_str(), "SYMC26070843");
        assert_eq!(vip[0].serial.kind(), SerialKind::Foreign);
        let gh = v
            .import_uri("otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub")
            .unwrap();
        assert_eq!(gh[0].label, "alice");
        assert_eq!(gh[0].serial.kind(), SerialKind::Checked);
        let again =
            v.import_uri("otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub");
        assert!(matches!(again, Err(VaultError::AlreadyPresent(_))));
        let order: Vec<_> = v.tokens().into_iter().map(|t| t.serial).collect();
        assert_eq!(
            order,
            vec![
                seed.serial.clone(),
                vip[0].serial.clone(),
                gh[0].serial.clone()
            ]
        );
        assert!(matches!(
            v.reissue("SYMC26070843"),
            Err(VaultError::NotIssuedHere(_))
        ));
        assert!(v.code("symc 2607 0843").is_ok());
        // A foreign-looking serial that is not stored is simply not found, whatever its last digit.
        for last in 0..10 {
            let typed = format!("SYMC2607084{last}");
            if typed != "SYMC26070843" {
                assert!(
                    matches!(v.code(&typed), Err(VaultError::NotFound(_))),
                    "{typed}"
                );
            }
        }
    }

    #[test]
    fn hotp_counter_moves_and_is_stored() {
        let store = Arc::new(MemoryStore::new());
        let mut v = vault(store.clone());
        let t = v
            .import_uri("otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0")
            .unwrap()
            .remove(0);
        let first = v.code(t.serial.as_str()).unwrap();
        assert_eq!(first.value.as_str(), "755224");
        assert_eq!(v.code(t.serial.as_str()).unwrap().value.as_str(), "287082");
        assert_eq!(
            vault(store)
                .code_at(t.serial.as_str(), 0)
                .unwrap()
                .value
                .as_str(),
            "359152"
        );
    }

    #[test]
    fn clock_offset() {
        let mut v = vault(Arc::new(MemoryStore::new()));
        let t = v.issue().unwrap();
        v.set_clock_offset(-30).unwrap();
        assert_eq!(v.now().unwrap(), T - 30);
        assert_eq!(
            v.code(t.serial.as_str()).unwrap(),
            v.code_at(t.serial.as_str(), T - 30).unwrap()
        );
        assert!(matches!(
            v.set_clock_offset(-(T as i64) - 1),
            Err(VaultError::Clock(_))
        ));
        assert_eq!(v.clock_offset(), -30);
    }

    #[test]
    fn lookups_explain_mistakes() {
        let mut v = vault(Arc::new(MemoryStore::new()));
        let t = v.issue().unwrap();
        let s = t.serial.as_str();
        let wrong = format!("{}{}", &s[..11], (s.as_bytes()[11] - b'0' + 1) % 10);
        assert!(matches!(
            v.code(&wrong),
            Err(VaultError::Serial(SerialError::CheckDigit { .. }))
        ));
        assert_eq!(
            v.code("nothing").unwrap_err().to_string(),
            "no token with serial 'nothing' in this vault: list the tokens to see their serials"
        );
        assert_eq!(v.delete(&s.to_lowercase()).unwrap(), t);
        assert!(v.is_empty());
    }

    #[test]
    fn a_corrupt_record_is_refused_untouched() {
        let store = Arc::new(MemoryStore::new());
        store
            .write(VAULT_KEY, b"softtoken-vault 1 sha256=00\n{}")
            .unwrap();
        let e = Vault::open(
            store.clone(),
            ManualClock::new(T),
            Issuer::new(Prefix::DESKTOP),
        )
        .unwrap_err();
        assert!(matches!(e, VaultError::Record(RecordError::Corrupt(_))));
        assert_eq!(
            store.read(VAULT_KEY).unwrap().unwrap(),
            b"softtoken-vault 1 sha256=00\n{}"
        );
    }
}
