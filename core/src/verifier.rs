//! The bank side: register a token to a contract, log in, stop, exchange,
//! lock after wrong codes, and the administrator's unlock, unbind, suspend and
//! resume (the seed's B1–B9, T6, T7), with RFC 4226 §7 and RFC 6238 §5 rules:
//! a small window, each time step accepted once, drift remembered, lockout.

use crate::clock::{Clock, ClockError};
use crate::directory::{self, Directory, DirectoryError, Entry};
use crate::input;
use crate::ledger::{Binding, BindingState, Ledger, LedgerError};
use crate::otp::TypedCode;
use std::fmt;
use std::sync::Arc;
use thiserror::Error;

/// Why a policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// A window wider than 10 steps either way.
    #[error(
        "a window of {0} steps is too wide: use 0 to {MAX_WINDOW} steps each way (1 is usual)"
    )]
    Window(u32),
    /// A lockout threshold outside 1–100.
    #[error("a lockout threshold of {0} is not allowed: use 1 to {MAX_THRESHOLD} consecutive failures (10 is usual)")]
    Threshold(u32),
    /// A drift limit over 100 steps.
    #[error("a drift limit of {0} steps is too large: use 0 to {MAX_DRIFT}")]
    Drift(u32),
}

const MAX_WINDOW: u32 = 10;
const MAX_THRESHOLD: u32 = 100;
const MAX_DRIFT: u32 = 100;

/// The verifier's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    steps_back: u32,
    steps_forward: u32,
    lockout_threshold: u32,
    max_drift: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            steps_back: 1,
            steps_forward: 1,
            lockout_threshold: 10,
            max_drift: 5,
        }
    }
}

impl Policy {
    /// A policy: steps accepted behind and ahead, consecutive failures before lockout, and the largest drift remembered.
    pub fn new(
        steps_back: u32,
        steps_forward: u32,
        lockout_threshold: u32,
        max_drift: u32,
    ) -> Result<Self, PolicyError> {
        for w in [steps_back, steps_forward] {
            if w > MAX_WINDOW {
                return Err(PolicyError::Window(w));
            }
        }
        if !(1..=MAX_THRESHOLD).contains(&lockout_threshold) {
            return Err(PolicyError::Threshold(lockout_threshold));
        }
        if max_drift > MAX_DRIFT {
            return Err(PolicyError::Drift(max_drift));
        }
        Ok(Self {
            steps_back,
            steps_forward,
            lockout_threshold,
            max_drift,
        })
    }

    /// Consecutive failures that lock a contract.
    pub fn lockout_threshold(&self) -> u32 {
        self.lockout_threshold
    }
}

/// Why an operation could not be carried out (as opposed to a refused code, which is an [`Outcome`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The credential directory failed.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The state store failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The clock failed.
    #[error(transparent)]
    Clock(#[from] ClockError),
}

/// What the verifier did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Done: registered, logged in, stopped, exchanged, or the administrator's action applied.
    Accepted,
    /// The code was wrong; this many attempts remain before the lock (0: now locked).
    WrongCode {
        /// Attempts left before lockout.
        attempts_left: u32,
    },
    /// The code was right but its time step was already used (or is older than the last one used).
    Replayed,
    /// Locked after too many wrong codes: an administrator must unlock (B4).
    Locked,
    /// The token was stopped (B3): register a new one.
    Stopped,
    /// Suspended (B9): an administrator must resume.
    Suspended,
    /// No token is registered for this contract.
    NotRegistered,
    /// The serial is not in the directory: check what was typed.
    UnknownSerial,
    /// The contract already has a token (T7): exchange it (B6) or have it unbound (B5, B7).
    AlreadyBound,
    /// The administrator's action does not apply to the contract's state.
    NotApplicable,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Accepted => f.write_str("accepted"),
            Outcome::WrongCode { attempts_left } => {
                write!(f, "wrong code ({attempts_left} attempts left)")
            }
            Outcome::Replayed => f.write_str("code already used: wait for the next code"),
            Outcome::Locked => {
                f.write_str("locked after too many wrong codes: the branch must unlock it")
            }
            Outcome::Stopped => f.write_str("the token was stopped: register a new token"),
            Outcome::Suspended => f.write_str("suspended: the branch must resume it"),
            Outcome::NotRegistered => f.write_str("no token is registered for this contract"),
            Outcome::UnknownSerial => {
                f.write_str("unknown serial: check the serial number you typed")
            }
            Outcome::AlreadyBound => {
                f.write_str("this contract already has a token: exchange it or ask the branch")
            }
            Outcome::NotApplicable => f.write_str("not applicable in the contract's current state"),
        }
    }
}

/// The operations, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// B1.
    Register,
    /// B2.
    Login,
    /// B3, B8.
    Stop,
    /// B6.
    Exchange,
    /// B4 (administrator).
    Unlock,
    /// B5, B7 (administrator).
    Unbind,
    /// B9 (administrator).
    Suspend,
    /// B9 (administrator).
    Resume,
}

/// One operation, as a bank's log receives it: never the code, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// What was asked.
    pub operation: Operation,
    /// The bank's customer ID.
    pub contract: String,
    /// The serial concerned (the bound one, or the new one being registered).
    pub serial: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// The time step accepted, when a code was accepted.
    pub step: Option<u64>,
    /// Unix time of the operation.
    pub time: u64,
}

/// Receives one event per operation.
pub trait Audit: Send + Sync {
    /// Records an event.
    fn record(&self, event: &AuditEvent);
}

/// What a bank's screen may show about a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
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
    /// The last accepted time step.
    pub last_step: Option<u64>,
    /// The token's remembered drift in steps.
    pub drift: i64,
}

/// A code as typed: ASCII digits after folding full-width forms and dropping spaces and hyphens.
fn normalize_code(typed: &str) -> Option<([u8; 8], usize)> {
    let mut out = [0u8; 8];
    let mut len = 0;
    for c in typed.chars().map(input::fold_width) {
        if input::is_separator(c) {
            continue;
        }
        if !c.is_ascii_digit() || len == out.len() {
            return None;
        }
        out[len] = c as u8;
        len += 1;
    }
    Some((out, len))
}

/// The result of checking a code against a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Accepted { step: u64, drift: i64 },
    Replayed,
    Wrong,
}

impl Policy {
    /// Checks `typed` against the window around the remembered drift, then around now.
    fn check(
        &self,
        entry: &Entry,
        typed: &str,
        now: u64,
        last_step: Option<u64>,
        drift: i64,
    ) -> Check {
        let digits = entry.credential.params.digits;
        let Some((code, len)) = normalize_code(typed) else {
            return Check::Wrong;
        };
        let Some(typed) = TypedCode::new(&code[..len], digits) else {
            return Check::Wrong;
        };
        let current = i128::from(now / entry.period);
        let centres = [current + i128::from(drift), current];
        let mut tried = [i128::MIN; 2 * (2 * MAX_WINDOW as usize + 1)];
        let mut n = 0;
        let mut replayed = false;
        for (i, centre) in centres.iter().enumerate() {
            if i == 1 && drift == 0 {
                break;
            }
            let offsets = (0..=self.steps_back.max(self.steps_forward)).flat_map(|k| {
                let k = i128::from(k);
                [
                    (k <= i128::from(self.steps_back)).then_some(-k),
                    (k > 0 && k <= i128::from(self.steps_forward)).then_some(k),
                ]
            });
            for offset in offsets.flatten() {
                let step = centre + offset;
                if step < 0 || step > i128::from(u64::MAX) || tried[..n].contains(&step) {
                    continue;
                }
                tried[n] = step;
                n += 1;
                let step_u = step as u64;
                if entry.key.is_code(step_u, typed) {
                    if last_step.is_some_and(|last| step_u <= last) {
                        replayed = true;
                        continue;
                    }
                    let max = i128::from(self.max_drift);
                    return Check::Accepted {
                        step: step_u,
                        drift: (step - current).clamp(-max, max) as i64,
                    };
                }
            }
        }
        if replayed {
            Check::Replayed
        } else {
            Check::Wrong
        }
    }

    /// Counts a failure, locking at the threshold.
    fn fail(&self, binding: &mut Binding) -> Outcome {
        binding.failures = binding.failures.saturating_add(1);
        if binding.failures >= self.lockout_threshold {
            binding.state = BindingState::Locked;
        }
        Outcome::WrongCode {
            attempts_left: self.lockout_threshold.saturating_sub(binding.failures),
        }
    }
}

/// The outcome for a contract that cannot take codes now, if any.
fn blocked(binding: Option<&Binding>) -> Option<Outcome> {
    match binding.map(|b| b.state) {
        None | Some(BindingState::Unbound) => Some(Outcome::NotRegistered),
        Some(BindingState::Stopped) => Some(Outcome::Stopped),
        Some(BindingState::Locked) => Some(Outcome::Locked),
        Some(BindingState::Suspended) => Some(Outcome::Suspended),
        Some(BindingState::Active) => None,
    }
}

/// The bank-side verifier. `Send + Sync`: call it from any number of threads.
pub struct Verifier {
    directory: Arc<dyn Directory>,
    ledger: Arc<dyn Ledger>,
    clock: Arc<dyn Clock>,
    policy: Policy,
    audit: Option<Arc<dyn Audit>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier over a directory, a state store and a clock, with a policy.
    pub fn new(
        directory: Arc<dyn Directory>,
        ledger: Arc<dyn Ledger>,
        clock: Arc<dyn Clock>,
        policy: Policy,
    ) -> Self {
        Self {
            directory,
            ledger,
            clock,
            policy,
            audit: None,
        }
    }

    /// The same verifier reporting every operation to `audit`.
    pub fn with_audit(mut self, audit: Arc<dyn Audit>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The directory credentials are found in.
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.directory
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    fn report(
        &self,
        operation: Operation,
        contract: &str,
        serial: Option<String>,
        outcome: Outcome,
        step: Option<u64>,
        time: u64,
    ) -> Outcome {
        if let Some(audit) = &self.audit {
            audit.record(&AuditEvent {
                operation,
                contract: contract.to_string(),
                serial,
                outcome,
                step,
                time,
            });
        }
        outcome
    }

    /// The bound credential: cached with the binding, else from the directory (and then cached).
    fn entry_of(&self, binding: &mut Binding) -> Result<Option<Arc<Entry>>, VerifyError> {
        let Some(serial) = &binding.serial else {
            return Ok(None);
        };
        if let Some(entry) = binding.resolved.get(serial) {
            return Ok(Some(entry.clone()));
        }
        let entry = self.directory.lookup(serial)?;
        if let Some(entry) = &entry {
            binding.resolved.set(entry.clone());
        }
        Ok(entry)
    }

    /// B1: binds `serial` to `contract` when the serial is known and `code` is current. A contract with a token is refused (T7).
    pub fn register(
        &self,
        contract: &str,
        serial: &str,
        code: &str,
    ) -> Result<Outcome, VerifyError> {
        let now = self.clock.now()?;
        let Some(entry) = directory::find(self.directory.as_ref(), serial)? else {
            return Ok(self.report(
                Operation::Register,
                contract,
                Some(serial.trim().to_string()),
                Outcome::UnknownSerial,
                None,
                now,
            ));
        };
        let serial = entry.credential.serial.as_str().to_string();
        let (mut outcome, mut step) = (Outcome::NotApplicable, None);
        self.ledger.update(contract, &mut |slot| {
            let binding = slot.get_or_insert_with(|| Binding::unbound(contract));
            outcome = match binding.state {
                BindingState::Active => Outcome::AlreadyBound,
                BindingState::Locked => Outcome::Locked,
                BindingState::Suspended => Outcome::Suspended,
                BindingState::Unbound | BindingState::Stopped => {
                    match self.policy.check(&entry, code, now, None, 0) {
                        Check::Accepted { step: s, drift } => {
                            binding.bind(&entry, s, drift);
                            step = Some(s);
                            Outcome::Accepted
                        }
                        Check::Replayed | Check::Wrong => self.policy.fail(binding),
                    }
                }
            };
        })?;
        Ok(self.report(
            Operation::Register,
            contract,
            Some(serial),
            outcome,
            step,
            now,
        ))
    }

    /// Checks a code for an active contract, updating failures, last step and drift; `on_accept` runs on success.
    fn with_code(
        &self,
        operation: Operation,
        contract: &str,
        code: &str,
        on_accept: &dyn Fn(&mut Binding),
    ) -> Result<Outcome, VerifyError> {
        let now = self.clock.now()?;
        let (mut result, mut step, mut serial) = (Ok(Outcome::NotApplicable), None, None);
        let audited = self.audit.is_some();
        self.ledger.update(contract, &mut |slot| {
            if audited {
                serial = slot.as_ref().and_then(|b| b.serial.clone());
            }
            result = self.active(slot).map(|found| {
                let (binding, entry) = match found {
                    Ok(found) => found,
                    Err(halt) => return halt,
                };
                match self
                    .policy
                    .check(&entry, code, now, binding.last_step, binding.drift)
                {
                    Check::Accepted { step: s, drift } => {
                        binding.last_step = Some(s);
                        binding.drift = drift;
                        binding.failures = 0;
                        step = Some(s);
                        on_accept(binding);
                        Outcome::Accepted
                    }
                    Check::Replayed => Outcome::Replayed,
                    Check::Wrong => self.policy.fail(binding),
                }
            });
        })?;
        Ok(self.report(operation, contract, serial, result?, step, now))
    }

    /// The active binding in `slot` with its credential, or the outcome that ends the operation here.
    #[allow(clippy::type_complexity)]
    fn active<'s>(
        &self,
        slot: &'s mut Option<Binding>,
    ) -> Result<Result<(&'s mut Binding, Arc<Entry>), Outcome>, VerifyError> {
        if let Some(halt) = blocked(slot.as_ref()) {
            return Ok(Err(halt));
        }
        let Some(binding) = slot.as_mut() else {
            return Ok(Err(Outcome::NotRegistered));
        };
        Ok(match self.entry_of(binding)? {
            Some(entry) => Ok((binding, entry)),
            None => Err(Outcome::UnknownSerial),
        })
    }

    /// B2: logs in with the current code.
    pub fn login(&self, contract: &str, code: &str) -> Result<Outcome, VerifyError> {
        self.with_code(Operation::Login, contract, code, &|_| {})
    }

    /// B3, B8: the customer stops the token with a current code; the contract may then register a new one.
    pub fn stop(&self, contract: &str, code: &str) -> Result<Outcome, VerifyError> {
        self.with_code(Operation::Stop, contract, code, &|b| {
            b.state = BindingState::Stopped;
            b.serial = None;
            b.last_step = None;
            b.drift = 0;
        })
    }

    /// B6: moves the contract to a new token with the old token's code and the new one's; all or nothing.
    pub fn exchange(
        &self,
        contract: &str,
        old_code: &str,
        new_serial: &str,
        new_code: &str,
    ) -> Result<Outcome, VerifyError> {
        let now = self.clock.now()?;
        let Some(new_entry) = directory::find(self.directory.as_ref(), new_serial)? else {
            return Ok(self.report(
                Operation::Exchange,
                contract,
                Some(new_serial.trim().to_string()),
                Outcome::UnknownSerial,
                None,
                now,
            ));
        };
        let new = new_entry.credential.serial.as_str().to_string();
        let (mut result, mut step) = (Ok(Outcome::NotApplicable), None);
        self.ledger.update(contract, &mut |slot| {
            result = self.active(slot).map(|found| {
                let (binding, old_entry) = match found {
                    Ok(found) => found,
                    Err(halt) => return halt,
                };
                if binding.serial.as_deref() == Some(new.as_str()) {
                    return Outcome::AlreadyBound;
                }
                match self
                    .policy
                    .check(&old_entry, old_code, now, binding.last_step, binding.drift)
                {
                    Check::Wrong => self.policy.fail(binding),
                    Check::Replayed => Outcome::Replayed,
                    Check::Accepted { .. } => {
                        match self.policy.check(&new_entry, new_code, now, None, 0) {
                            Check::Accepted { step: s, drift } => {
                                binding.bind(&new_entry, s, drift);
                                step = Some(s);
                                Outcome::Accepted
                            }
                            Check::Replayed | Check::Wrong => self.policy.fail(binding),
                        }
                    }
                }
            });
        })?;
        Ok(self.report(Operation::Exchange, contract, Some(new), result?, step, now))
    }

    fn admin(
        &self,
        operation: Operation,
        contract: &str,
        action: &dyn Fn(&mut Option<Binding>) -> Outcome,
    ) -> Result<Outcome, VerifyError> {
        let now = self.clock.now()?;
        let (mut outcome, mut serial) = (Outcome::NotApplicable, None);
        let audited = self.audit.is_some();
        self.ledger.update(contract, &mut |slot| {
            if audited {
                serial = slot.as_ref().and_then(|b| b.serial.clone());
            }
            outcome = action(slot);
        })?;
        Ok(self.report(operation, contract, serial, outcome, None, now))
    }

    /// B4 (administrator): unlocks a locked contract and clears its failures.
    pub fn unlock(&self, contract: &str) -> Result<Outcome, VerifyError> {
        self.admin(Operation::Unlock, contract, &|slot| match slot {
            Some(b) if b.state == BindingState::Locked => {
                b.state = if b.serial.is_some() {
                    BindingState::Active
                } else {
                    BindingState::Unbound
                };
                b.failures = 0;
                Outcome::Accepted
            }
            Some(_) => Outcome::NotApplicable,
            None => Outcome::NotRegistered,
        })
    }

    /// B5, B7 (administrator): removes the contract's token so that a new one can be registered.
    pub fn unbind(&self, contract: &str) -> Result<Outcome, VerifyError> {
        self.admin(Operation::Unbind, contract, &|slot| match slot {
            Some(b) => {
                *b = Binding::unbound(&b.contract);
                Outcome::Accepted
            }
            None => Outcome::NotRegistered,
        })
    }

    /// B9 (administrator): suspends the contract at once; nothing is accepted until it is resumed.
    pub fn suspend(&self, contract: &str) -> Result<Outcome, VerifyError> {
        self.admin(Operation::Suspend, contract, &|slot| {
            let b = slot.get_or_insert_with(|| Binding::unbound(contract));
            if b.state == BindingState::Suspended {
                return Outcome::NotApplicable;
            }
            b.suspended_from = Some(b.state);
            b.state = BindingState::Suspended;
            Outcome::Accepted
        })
    }

    /// B9 (administrator): resumes a suspended contract in the state it had.
    pub fn resume(&self, contract: &str) -> Result<Outcome, VerifyError> {
        self.admin(Operation::Resume, contract, &|slot| match slot {
            Some(b) if b.state == BindingState::Suspended => {
                b.state = b.suspended_from.take().unwrap_or(BindingState::Unbound);
                Outcome::Accepted
            }
            Some(_) => Outcome::NotApplicable,
            None => Outcome::NotRegistered,
        })
    }

    /// Where a contract stands, or `None` when the verifier has never seen it.
    pub fn status(&self, contract: &str) -> Result<Option<Status>, VerifyError> {
        Ok(self.ledger.get(contract)?.map(|b| Status {
            attempts_left: self.policy.lockout_threshold.saturating_sub(b.failures),
            contract: b.contract,
            serial: b.serial,
            state: b.state,
            failures: b.failures,
            last_step: b.last_step,
            drift: b.drift,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::directory::MemoryDirectory;
    use crate::issuer::{Credential, Issuer};
    use crate::ledger::MemoryLedger;
    use crate::otp::{Algorithm, Digits, OtpParams, Totp};
    use crate::secret::Secret;
    use crate::serial::{Prefix, Serial};
    use std::sync::Mutex;

    const T: u64 = 1_700_000_010;

    struct Bank {
        verifier: Verifier,
        clock: Arc<ManualClock>,
        token: Credential,
        log: Arc<Log>,
    }

    #[derive(Default)]
    struct Log(Mutex<Vec<AuditEvent>>);
    impl Audit for Log {
        fn record(&self, e: &AuditEvent) {
            self.0.lock().unwrap().push(e.clone());
        }
    }

    fn bank(policy: Policy) -> Bank {
        let dir = Arc::new(MemoryDirectory::new());
        let token = directory::issue(dir.as_ref(), &Issuer::new(Prefix::ANDROID)).unwrap();
        let clock = Arc::new(ManualClock::new(T));
        let log = Arc::new(Log::default());
        let verifier = Verifier::new(dir, Arc::new(MemoryLedger::new()), clock.clone(), policy)
            .with_audit(log.clone());
        Bank {
            verifier,
            clock,
            token,
            log,
        }
    }

    fn code(c: &Credential, time: u64) -> String {
        let totp = Totp::new(&c.secret, c.params.algorithm, c.params.digits, 30).unwrap();
        totp.at(time).unwrap().value.to_string()
    }

    fn wrong(c: &Credential, time: u64) -> String {
        let right: u32 = code(c, time).parse().unwrap();
        // A code that matches no step in a wide window around `time`.
        (1..)
            .map(|d| format!("{:06}", (right + d) % 1_000_000))
            .find(|w| (-5i64..=5).all(|k| code(c, (time as i64 + k * 30) as u64) != *w))
            .unwrap()
    }

    #[test]
    fn policy_is_validated() {
        assert_eq!(Policy::new(1, 1, 0, 5), Err(PolicyError::Threshold(0)));
        assert_eq!(Policy::new(1, 1, 101, 5), Err(PolicyError::Threshold(101)));
        assert_eq!(Policy::new(11, 1, 10, 5), Err(PolicyError::Window(11)));
        assert_eq!(Policy::new(1, 1, 10, 101), Err(PolicyError::Drift(101)));
        assert_eq!(Policy::new(1, 1, 10, 5).unwrap(), Policy::default());
        assert!(Policy::new(0, 0, 100, 0).is_ok());
        assert!(Policy::new(1, 1, 0, 5)
            .unwrap_err()
            .to_string()
            .contains("use 1 to 100"));
    }

    #[test]
    fn codes_are_normalized_before_checking() {
        assert_eq!(
            normalize_code("123 456").map(|(a, n)| a[..n].to_vec()),
            Some(b"123456".to_vec())
        );
        assert_eq!(
            normalize_code("1234-5678").map(|(a, n)| a[..n].to_vec()),
            Some(b"12345678".to_vec())
        );
        assert_eq!(
            normalize_code("１２３４５６").map(|(a, n)| a[..n].to_vec()),
            Some(b"123456".to_vec())
        );
        assert_eq!(normalize_code("12a456"), None);
        assert_eq!(normalize_code("123456789"), None);
        assert_eq!(normalize_code("").map(|(_, n)| n), Some(0));
    }

    #[test]
    fn register_login_and_replay() {
        let b = bank(Policy::default());
        let v = &b.verifier;
        let serial = b.token.serial.grouped();
        assert_eq!(
            v.login("c", &code(&b.token, T)).unwrap(),
            Outcome::NotRegistered
        );
        assert_eq!(
            v.register("c", "SSTA 0000 0000", &code(&b.token, T))
                .unwrap(),
            Outcome::UnknownSerial
        );
        assert_eq!(
            v.register("c", &serial.to_lowercase(), &code(&b.token, T))
                .unwrap(),
            Outcome::Accepted
        );
        assert_eq!(
            v.register("c", &serial, &code(&b.token, T)).unwrap(),
            Outcome::AlreadyBound
        );
        // The registration used this step: the same code cannot log in.
        assert_eq!(v.login("c", &code(&b.token, T)).unwrap(), Outcome::Replayed);
        b.clock.advance(30);
        let c = code(&b.token, T + 30);
        let spaced = format!("{} {}", &c[..3], &c[3..]);
        let wide: String = spaced
            .chars()
            .map(|ch| {
                if ch.is_ascii_digit() {
                    char::from_u32(ch as u32 + 0xFEE0).unwrap()
                } else {
                    ch
                }
            })
            .collect();
        assert_eq!(v.login("c", &wide).unwrap(), Outcome::Accepted);
        assert_eq!(
            v.login("c", &c).unwrap(),
            Outcome::Replayed,
            "normalised before the replay check"
        );
        // An older code still in the window is refused too: it is before the last accepted step.
        assert_eq!(v.login("c", &code(&b.token, T)).unwrap(), Outcome::Replayed);
        let status = v.status("c").unwrap().unwrap();
        assert_eq!(
            (status.state, status.failures, status.last_step),
            (BindingState::Active, 0, Some((T + 30) / 30))
        );
        let events = b.log.0.lock().unwrap();
        assert_eq!(events.len(), 8);
        assert!(
            events.iter().all(|e| !format!("{e:?}").contains(&c)),
            "codes never reach the audit log"
        );
    }

    #[test]
    fn window_edges() {
        let b = bank(Policy::default());
        let v = &b.verifier;
        assert_eq!(
            v.register("c", b.token.serial.as_str(), &code(&b.token, T))
                .unwrap(),
            Outcome::Accepted
        );
        b.clock.advance(300);
        let now = T + 300;
        // Two steps behind or ahead: outside the window.
        assert!(matches!(
            v.login("c", &code(&b.token, now - 60)).unwrap(),
            Outcome::WrongCode { .. }
        ));
        assert!(matches!(
            v.login("c", &code(&b.token, now + 60)).unwrap(),
            Outcome::WrongCode { .. }
        ));
        // One step behind: inside.
        assert_eq!(
            v.login("c", &code(&b.token, now - 30)).unwrap(),
            Outcome::Accepted
        );
        assert_eq!(v.status("c").unwrap().unwrap().drift, -1);
        // Wrong length and non-digits count as failures, never panic.
        for bad in ["", "12345", "1234567", "abcdef", "12 34 5x", "𝟙𝟚𝟛𝟜𝟝𝟞"] {
            assert!(
                matches!(v.login("c", bad).unwrap(), Outcome::WrongCode { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn drift_centres_the_window() {
        let b = bank(Policy::default());
        let v = &b.verifier;
        // The token runs 60 s fast: register at +2 steps is outside a fresh window...
        assert!(matches!(
            v.register("c", b.token.serial.as_str(), &code(&b.token, T + 60))
                .unwrap(),
            Outcome::WrongCode { .. }
        ));
        // ...at +1 it is inside, and the drift is remembered.
        assert_eq!(
            v.register("c", b.token.serial.as_str(), &code(&b.token, T + 30))
                .unwrap(),
            Outcome::Accepted
        );
        b.clock.advance(30);
        assert_eq!(
            v.login("c", &code(&b.token, T + 90)).unwrap(),
            Outcome::Accepted,
            "+2 accepted around the drift"
        );
        assert_eq!(v.status("c").unwrap().unwrap().drift, 2);
        // A token whose clock was corrected is still accepted around now.
        b.clock.advance(300);
        assert_eq!(
            v.login("c", &code(&b.token, T + 330)).unwrap(),
            Outcome::Accepted
        );
        assert_eq!(v.status("c").unwrap().unwrap().drift, 0);
    }

    #[test]
    fn lockout_after_consecutive_failures_and_unlock() {
        let b = bank(Policy::new(1, 1, 3, 5).unwrap());
        let v = &b.verifier;
        v.register("c", b.token.serial.as_str(), &code(&b.token, T))
            .unwrap();
        b.clock.advance(30);
        let w = wrong(&b.token, T + 30);
        assert_eq!(
            v.login("c", &w).unwrap(),
            Outcome::WrongCode { attempts_left: 2 }
        );
        // A success resets the count.
        assert_eq!(
            v.login("c", &code(&b.token, T + 30)).unwrap(),
            Outcome::Accepted
        );
        assert_eq!(
            v.login("c", &w).unwrap(),
            Outcome::WrongCode { attempts_left: 2 }
        );
        assert_eq!(
            v.login("c", &w).unwrap(),
            Outcome::WrongCode { attempts_left: 1 }
        );
        assert_eq!(
            v.login("c", &w).unwrap(),
            Outcome::WrongCode { attempts_left: 0 }
        );
        b.clock.advance(30);
        assert_eq!(
            v.login("c", &code(&b.token, T + 60)).unwrap(),
            Outcome::Locked,
            "even the right code"
        );
        assert_eq!(
            v.stop("c", &code(&b.token, T + 60)).unwrap(),
            Outcome::Locked
        );
        assert_eq!(v.resume("c").unwrap(), Outcome::NotApplicable);
        assert_eq!(v.unlock("c").unwrap(), Outcome::Accepted);
        assert_eq!(v.unlock("c").unwrap(), Outcome::NotApplicable);
        assert_eq!(
            v.login("c", &code(&b.token, T + 60)).unwrap(),
            Outcome::Accepted
        );
        assert_eq!(v.unlock("nobody").unwrap(), Outcome::NotRegistered);
    }

    #[test]
    fn failed_registrations_lock_too() {
        let b = bank(Policy::new(1, 1, 2, 5).unwrap());
        let v = &b.verifier;
        let w = wrong(&b.token, T);
        assert_eq!(
            v.register("c", b.token.serial.as_str(), &w).unwrap(),
            Outcome::WrongCode { attempts_left: 1 }
        );
        assert_eq!(
            v.register("c", b.token.serial.as_str(), &w).unwrap(),
            Outcome::WrongCode { attempts_left: 0 }
        );
        assert_eq!(
            v.register("c", b.token.serial.as_str(), &code(&b.token, T))
                .unwrap(),
            Outcome::Locked
        );
        assert_eq!(v.unlock("c").unwrap(), Outcome::Accepted);
        assert_eq!(v.status("c").unwrap().unwrap().state, BindingState::Unbound);
        assert_eq!(
            v.register("c", b.token.serial.as_str(), &code(&b.token, T))
                .unwrap(),
            Outcome::Accepted
        );
    }

    #[test]
    fn step_zero_and_the_year_2106() {
        let b = bank(Policy::default());
        let v = &b.verifier;
        b.clock.set(0);
        assert_eq!(
            v.register("c", b.token.serial.as_str(), &code(&b.token, 0))
                .unwrap(),
            Outcome::Accepted
        );
        b.clock.set(30);
        // One step back from step 1 is step 0, already used: replay, not a wrap-around.
        assert_eq!(v.login("c", &code(&b.token, 0)).unwrap(), Outcome::Replayed);
        let y2106 = 1u64 << 32;
        b.clock.set(y2106);
        assert_eq!(
            v.login("c", &code(&b.token, y2106)).unwrap(),
            Outcome::Accepted
        );
        // The last representable second: the step is computed without overflow.
        let end = u64::MAX - 10;
        b.clock.set(end);
        let totp = Totp::new(&b.token.secret, Algorithm::Sha1, Digits::SIX, 30).unwrap();
        assert_eq!(
            v.login("c", totp.at_step(end / 30).as_str()).unwrap(),
            Outcome::Accepted
        );
        assert_eq!(v.status("c").unwrap().unwrap().last_step, Some(end / 30));
    }

    #[test]
    fn suspend_resume_unbind() {
        let b = bank(Policy::default());
        let v = &b.verifier;
        v.register("c", b.token.serial.as_str(), &code(&b.token, T))
            .unwrap();
        assert_eq!(v.suspend("c").unwrap(), Outcome::Accepted);
        assert_eq!(v.suspend("c").unwrap(), Outcome::NotApplicable);
        b.clock.advance(30);
        assert_eq!(
            v.login("c", &code(&b.token, T + 30)).unwrap(),
            Outcome::Suspended
        );
        assert_eq!(
            v.register("c", b.token.serial.as_str(), &code(&b.token, T + 30))
                .unwrap(),
            Outcome::Suspended
        );
        assert_eq!(v.unlock("c").unwrap(), Outcome::NotApplicable);
        assert_eq!(v.resume("c").unwrap(), Outcome::Accepted);
        assert_eq!(
            v.login("c", &code(&b.token, T + 30)).unwrap(),
            Outcome::Accepted
        );
        assert_eq!(v.unbind("c").unwrap(), Outcome::Accepted);
        assert_eq!(
            v.login("c", &code(&b.token, T + 30)).unwrap(),
            Outcome::NotRegistered
        );
        assert_eq!(v.unbind("nobody").unwrap(), Outcome::NotRegistered);
        assert_eq!(v.resume("nobody").unwrap(), Outcome::NotRegistered);
        // Suspending a contract the bank has no token for still blocks registration.
        assert_eq!(v.suspend("new").unwrap(), Outcome::Accepted);
        assert_eq!(
            v.register("new", b.token.serial.as_str(), &code(&b.token, T + 30))
                .unwrap(),
            Outcome::Suspended
        );
    }

    #[test]
    fn other_algorithms_and_lengths() {
        let dir = Arc::new(MemoryDirectory::new());
        let params = OtpParams::totp(Algorithm::Sha512, Digits::new(8).unwrap(), 30).unwrap();
        let token = Credential {
            serial: Serial::foreign("VSST12345678").unwrap(),
            secret: Secret::from_bytes(&[7; 64]).unwrap(),
            params,
        };
        dir.add(token.clone()).unwrap();
        let clock = Arc::new(ManualClock::new(T));
        let v = Verifier::new(dir, Arc::new(MemoryLedger::new()), clock, Policy::default());
        let c = Totp::new(
            &token.secret,
            Algorithm::Sha512,
            Digits::new(8).unwrap(),
            30,
        )
        .unwrap()
        .at(T)
        .unwrap()
        .value
        .to_string();
        assert_eq!(
            v.register("c", "VSST12345678", &c[..6]).unwrap(),
            Outcome::WrongCode { attempts_left: 9 }
        );
        assert_eq!(
            v.register("c", "VSST12345678", &c).unwrap(),
            Outcome::Accepted
        );
    }
}
