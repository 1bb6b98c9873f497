//! The bank side for JVM back ends: the verifier over an in-memory credential
//! directory and state, with the seed's flows B1–B9.

use crate::errors::SoftTokenError;
use crate::host::ClockAdapter;
use crate::Clock;
use softtoken_core::directory::{self, Directory, MemoryDirectory};
use softtoken_core::issuer::Credential;
use softtoken_core::{verifier, Issuer, KeyUri, MemoryLedger, Policy, Prefix};
use std::sync::Arc;

pub use softtoken_core::ledger::BindingState;
pub use softtoken_core::verifier::Outcome;

/// What the verifier did (the core's `Outcome`, exported as it is).
#[uniffi::remote(Enum)]
pub enum Outcome {
    /// Done.
    Accepted,
    /// The code was wrong; this many attempts remain before the lock (0: now locked).
    WrongCode {
        /// Attempts left before lockout.
        attempts_left: u32,
    },
    /// The code's time step was already used.
    Replayed,
    /// Locked after too many wrong codes: an administrator must unlock (B4).
    Locked,
    /// The token was stopped (B3).
    Stopped,
    /// Suspended (B9): an administrator must resume.
    Suspended,
    /// No token is registered for this contract.
    NotRegistered,
    /// The serial is not in the directory.
    UnknownSerial,
    /// The contract already has a token (T7).
    AlreadyBound,
    /// The administrator's action does not apply to the contract's state.
    NotApplicable,
}

/// Where a contract stands (the core's `BindingState`, exported as it is).
#[uniffi::remote(Enum)]
pub enum BindingState {
    /// No token bound.
    Unbound,
    /// A token is bound and logs in.
    Active,
    /// Locked after wrong codes.
    Locked,
    /// Stopped by the customer.
    Stopped,
    /// Suspended by the bank.
    Suspended,
}

/// A contract's status, for a bank's screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BindingStatus {
    /// The bank's customer ID.
    pub contract: String,
    /// The bound serial.
    pub serial: Option<String>,
    /// Where it stands.
    pub state: BindingState,
    /// Consecutive wrong codes.
    pub failures: u32,
    /// Attempts left before lockout.
    pub attempts_left: u32,
}

/// A token minted by the verifier's service, to hand to a device.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IssuedToken {
    /// The serial as stored.
    pub serial: String,
    /// The serial as shown.
    pub display_serial: String,
    /// The key URI for the device to import. It CONTAINS THE SECRET.
    pub key_uri: String,
}

/// The bank-side verifier. Safe to call from any thread.
#[derive(uniffi::Object)]
pub struct Verifier {
    inner: verifier::Verifier,
    directory: Arc<MemoryDirectory>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier")
    }
}

#[uniffi::export]
impl Verifier {
    /// A verifier with the default policy (window ±1 step, lock after 10 wrong codes) and in-memory state.
    #[uniffi::constructor]
    pub fn new(clock: Option<Arc<dyn Clock>>) -> Arc<Self> {
        Self::build(clock, Policy::default())
    }

    /// A verifier with its own policy: steps accepted behind and ahead (0–10), wrong codes before lockout (1–100), largest drift remembered (0–100 steps).
    #[uniffi::constructor]
    pub fn with_policy(
        clock: Option<Arc<dyn Clock>>,
        steps_back: u32,
        steps_forward: u32,
        lockout_threshold: u32,
        max_drift: u32,
    ) -> Result<Arc<Self>, SoftTokenError> {
        let policy = Policy::new(steps_back, steps_forward, lockout_threshold, max_drift)
            .map_err(|e| SoftTokenError::InvalidParameter(e.to_string()))?;
        Ok(Self::build(clock, policy))
    }

    /// Mints a token under `prefix` (4 letters), records it, and returns its key URI for the device.
    pub fn issue_token(&self, prefix: String) -> Result<IssuedToken, SoftTokenError> {
        let credential =
            directory::issue(self.directory.as_ref(), &Issuer::new(Prefix::new(&prefix)?))?;
        let key = KeyUri::new(
            credential.secret.clone(),
            credential.params,
            Some(softtoken_core::issuer::ISSUER_NAME.to_string()),
            credential.serial.as_str().to_string(),
        )?;
        Ok(IssuedToken {
            serial: credential.serial.as_str().to_string(),
            display_serial: credential.serial.grouped(),
            key_uri: key.to_uri().to_string(),
        })
    }

    /// Adds a token minted elsewhere (a device's exported key URI, a VIP `SYMC…` URI); returns its serial.
    pub fn add_key_uri(&self, uri: String) -> Result<String, SoftTokenError> {
        let credential = Credential::try_from(KeyUri::parse(&uri)?)?;
        let serial = credential.serial.as_str().to_string();
        self.directory.add(credential)?;
        Ok(serial)
    }

    /// B1: registers a serial to a contract with its current code.
    pub fn register(
        &self,
        contract: String,
        serial: String,
        code: String,
    ) -> Result<Outcome, SoftTokenError> {
        Ok(self.inner.register(&contract, &serial, &code)?)
    }

    /// B2: logs in with the current code.
    pub fn login(&self, contract: String, code: String) -> Result<Outcome, SoftTokenError> {
        Ok(self.inner.login(&contract, &code)?)
    }

    /// B3: stops the contract's token with a current code.
    pub fn stop(&self, contract: String, code: String) -> Result<Outcome, SoftTokenError> {
        Ok(self.inner.stop(&contract, &code)?)
    }

    /// B6: moves the contract to a new token with the old token's code and the new one's.
    pub fn exchange(
        &self,
        contract: String,
        old_code: String,
        new_serial: String,
        new_code: String,
    ) -> Result<Outcome, SoftTokenError> {
        Ok(self
            .inner
            .exchange(&contract, &old_code, &new_serial, &new_code)?)
    }

    /// B4 (administrator): unlocks a locked contract.
    pub fn unlock(&self, contract: String) -> Result<Outcome, SoftTokenError> {
        Ok(self.inner.unlock(&contract)?)
    }

    /// B5, B7 (administrator): removes the contract's token.
    pub fn unbind(&self, contract: String) -> Result<Outcome, SoftTokenError> {
        Ok(self.inner.unbind(&contract)?)
    }

    /// B9 (administrator): suspends the contract.
    pub fn suspend(&self, contract: String) -> Result<Outcome, SoftTokenError> {
        Ok(self.inner.suspend(&contract)?)
    }

    /// B9 (administrator): resumes a suspended contract.
    pub fn resume(&self, contract: String) -> Result<Outcome, SoftTokenError> {
        Ok(self.inner.resume(&contract)?)
    }

    /// The contract's status, or null when the verifier has never seen it.
    pub fn status(&self, contract: String) -> Result<Option<BindingStatus>, SoftTokenError> {
        Ok(self.inner.status(&contract)?.map(|s| BindingStatus {
            contract: s.contract,
            serial: s.serial,
            state: s.state,
            failures: s.failures,
            attempts_left: s.attempts_left,
        }))
    }
}

impl Verifier {
    fn build(clock: Option<Arc<dyn Clock>>, policy: Policy) -> Arc<Self> {
        let directory = Arc::new(MemoryDirectory::new());
        let inner = verifier::Verifier::new(
            directory.clone(),
            Arc::new(MemoryLedger::new()),
            Arc::new(ClockAdapter::new(clock)),
            policy,
        );
        Arc::new(Self { inner, directory })
    }
}
