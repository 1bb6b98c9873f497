//! The bank side: register a token to a contract, log in, stop, exchange,
//! lock after wrong codes, and the administrator's unlock, unbind, suspend and
//! resume (the seed's B1–B9, T6, T7), over a [`Directory`] and a [`Ledger`].
//! The decisions are [`rules`](crate::rules)'; this module finds the
//! credentials, runs each decision atomically in the ledger, and reports it.

use crate::clock::{Clock, ClockError};
use crate::directory::{self, Directory, DirectoryError, Entry};
use crate::ledger::{Binding, BindingState, Ledger, LedgerError, Tokens};
use crate::rules::{self, Side};
pub use crate::rules::{Outcome, Policy, PolicyError};
use std::fmt;
use std::sync::Arc;
use thiserror::Error;

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

/// Runs a code decision on `serial`'s memory: read, decide, write back.
fn on_token<T>(
    tokens: &mut dyn Tokens,
    serial: &str,
    decide: impl FnOnce(&mut crate::ledger::TokenMemory) -> T,
) -> T {
    let mut memory = tokens.get(serial);
    let before = memory;
    let out = decide(&mut memory);
    if memory != before {
        tokens.set(serial, memory);
    }
    out
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

    /// The credential of the contract's bound serial, read before the atomic update.
    fn bound_entry(&self, contract: &str) -> Result<Option<Arc<Entry>>, VerifyError> {
        match self.ledger.get(contract)?.and_then(|b| b.serial) {
            Some(serial) => Ok(self.directory.lookup(&serial)?),
            None => Ok(None),
        }
    }

    /// B1: binds `serial` to `contract` when the serial is known and `code` is current and unused for the token. A contract with a token is refused (T7).
    pub fn register(
        &self,
        contract: &str,
        serial: &str,
        code: &str,
    ) -> Result<Outcome, VerifyError> {
        let now = self.clock.now()?;
        let found = directory::find(self.directory.as_ref(), serial)?;
        let policy = &self.policy;
        let mut decision = rules::Decision::from(Outcome::NotApplicable);
        self.ledger.update(contract, &mut |slot, tokens| {
            let binding = slot.get_or_insert_with(|| Binding::unbound(contract));
            decision = match &found {
                None => rules::register_unknown(policy, binding).into(),
                Some(entry) => on_token(tokens, entry.credential.serial.as_str(), |token| {
                    rules::register(policy, binding, token, entry, code, now)
                }),
            };
        })?;
        let shown = match &found {
            Some(entry) => entry.credential.serial.as_str().to_string(),
            None => serial.trim().to_string(),
        };
        Ok(self.report(
            Operation::Register,
            contract,
            Some(shown),
            decision.outcome,
            decision.step,
            now,
        ))
    }

    /// Checks a code of the contract's bound token with `decide` (login or stop).
    fn with_code(
        &self,
        operation: Operation,
        contract: &str,
        code: &str,
        decide: fn(
            &Policy,
            &mut Binding,
            &mut crate::ledger::TokenMemory,
            &Entry,
            &str,
            u64,
        ) -> rules::Decision,
    ) -> Result<Outcome, VerifyError> {
        let now = self.clock.now()?;
        let mut entry = self.bound_entry(contract)?;
        loop {
            let (mut decision, mut serial, mut stale) = (None, None, false);
            self.ledger.update(contract, &mut |slot, tokens| {
                if let Some(halt) = rules::gate(slot.as_ref()) {
                    decision = Some(rules::Decision::from(halt));
                    return;
                }
                let Some(binding) = slot.as_mut() else {
                    return;
                };
                serial = binding.serial.clone();
                let Some(bound) = serial.as_deref() else {
                    decision = Some(Outcome::NotRegistered.into());
                    return;
                };
                match &entry {
                    Some(e) if e.credential.serial.as_str() == bound => {
                        decision = Some(on_token(tokens, bound, |token| {
                            decide(&self.policy, binding, token, e, code, now)
                        }));
                    }
                    // The binding changed since the credential was looked up: look again.
                    _ => stale = true,
                }
            })?;
            if stale {
                let bound = serial.as_deref().unwrap_or_default();
                entry = self.directory.lookup(bound)?;
                if entry.is_none() {
                    return Ok(self.report(
                        operation,
                        contract,
                        serial,
                        Outcome::UnknownSerial,
                        None,
                        now,
                    ));
                }
                continue;
            }
            let decision = decision.unwrap_or(Outcome::NotRegistered.into());
            return Ok(self.report(
                operation,
                contract,
                serial,
                decision.outcome,
                decision.step,
                now,
            ));
        }
    }

    /// B2: logs in with the current code.
    pub fn login(&self, contract: &str, code: &str) -> Result<Outcome, VerifyError> {
        self.with_code(Operation::Login, contract, code, rules::login)
    }

    /// B3, B8: the customer stops the token with a current code; the contract may then register a new one.
    pub fn stop(&self, contract: &str, code: &str) -> Result<Outcome, VerifyError> {
        self.with_code(Operation::Stop, contract, code, rules::stop)
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
        let new_entry = directory::find(self.directory.as_ref(), new_serial)?;
        let shown = match &new_entry {
            Some(e) => e.credential.serial.as_str().to_string(),
            None => new_serial.trim().to_string(),
        };
        let mut old_entry = self.bound_entry(contract)?;
        let policy = &self.policy;
        loop {
            let (mut decision, mut bound, mut stale) = (None, None, false);
            self.ledger.update(contract, &mut |slot, tokens| {
                if let Some(halt) = rules::gate(slot.as_ref()) {
                    decision = Some(rules::Decision::from(halt));
                    return;
                }
                let Some(binding) = slot.as_mut() else {
                    return;
                };
                bound = binding.serial.clone();
                let Some(new) = &new_entry else {
                    decision = Some(rules::exchange_unknown(policy, binding).into());
                    return;
                };
                let Some(old) = old_entry
                    .as_ref()
                    .filter(|e| Some(e.credential.serial.as_str()) == bound.as_deref())
                else {
                    stale = true;
                    return;
                };
                let old_serial = old.credential.serial.as_str();
                let new_serial = new.credential.serial.as_str();
                let (mut old_memory, mut new_memory) =
                    (tokens.get(old_serial), tokens.get(new_serial));
                let d = rules::exchange(
                    policy,
                    binding,
                    Side {
                        token: &mut old_memory,
                        entry: old,
                        code: old_code,
                    },
                    Side {
                        token: &mut new_memory,
                        entry: new,
                        code: new_code,
                    },
                    now,
                );
                if old_serial != new_serial {
                    tokens.set(old_serial, old_memory);
                    tokens.set(new_serial, new_memory);
                }
                decision = Some(d);
            })?;
            if stale {
                old_entry = match bound.as_deref() {
                    Some(serial) => self.directory.lookup(serial)?,
                    None => None,
                };
                if old_entry.is_none() {
                    return Ok(self.report(
                        Operation::Exchange,
                        contract,
                        Some(shown),
                        Outcome::UnknownSerial,
                        None,
                        now,
                    ));
                }
                continue;
            }
            let decision = decision.unwrap_or(Outcome::NotRegistered.into());
            return Ok(self.report(
                Operation::Exchange,
                contract,
                Some(shown),
                decision.outcome,
                decision.step,
                now,
            ));
        }
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
        self.ledger.update(contract, &mut |slot, _| {
            if audited {
                serial = slot.as_ref().and_then(|b| b.serial.clone());
            }
            outcome = action(slot);
        })?;
        Ok(self.report(operation, contract, serial, outcome, None, now))
    }

    /// B4 (administrator): unlocks a locked contract and clears its failures.
    pub fn unlock(&self, contract: &str) -> Result<Outcome, VerifyError> {
        self.admin(Operation::Unlock, contract, &|slot| {
            rules::unlock(slot.as_mut())
        })
    }

    /// B5, B7 (administrator): removes the contract's token so that a new one can be registered.
    pub fn unbind(&self, contract: &str) -> Result<Outcome, VerifyError> {
        self.admin(Operation::Unbind, contract, &|slot| {
            rules::unbind(slot.as_mut())
        })
    }

    /// B9 (administrator): suspends the contract at once; nothing is accepted until it is resumed.
    pub fn suspend(&self, contract: &str) -> Result<Outcome, VerifyError> {
        self.admin(Operation::Suspend, contract, &|slot| {
            rules::suspend(slot.get_or_insert_with(|| Binding::unbound(contract)))
        })
    }

    /// B9 (administrator): resumes a suspended contract in the state it had.
    pub fn resume(&self, contract: &str) -> Result<Outcome, VerifyError> {
        self.admin(Operation::Resume, contract, &|slot| {
            rules::resume(slot.as_mut())
        })
    }

    /// Where a contract stands, or `None` when the verifier has never seen it.
    pub fn status(&self, contract: &str) -> Result<Option<Status>, VerifyError> {
        let Some(b) = self.ledger.get(contract)? else {
            return Ok(None);
        };
        let memory = match &b.serial {
            Some(serial) => self.ledger.token(serial)?,
            None => Default::default(),
        };
        Ok(Some(Status {
            attempts_left: self.policy.attempts_left(b.failures),
            contract: b.contract,
            serial: b.serial,
            state: b.state,
            failures: b.failures,
            last_step: memory.last_step,
            drift: memory.drift,
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

    #[test]
    fn a_code_is_used_up_for_the_token_after_stop_and_register_again() {
        let b = bank(Policy::default());
        let v = &b.verifier;
        let serial = b.token.serial.as_str();
        assert_eq!(
            v.register("c", serial, &code(&b.token, T)).unwrap(),
            Outcome::Accepted
        );
        b.clock.advance(30);
        let c = code(&b.token, T + 30);
        assert_eq!(v.stop("c", &c).unwrap(), Outcome::Accepted);
        assert_eq!(
            v.register("c", serial, &c).unwrap(),
            Outcome::Replayed,
            "the code that stopped the token cannot register it again"
        );
        assert_eq!(v.status("c").unwrap().unwrap().failures, 0);
        b.clock.advance(30);
        assert_eq!(
            v.register("c", serial, &code(&b.token, T + 60)).unwrap(),
            Outcome::Accepted
        );
        assert_eq!(v.unbind("c").unwrap(), Outcome::Accepted);
        assert_eq!(
            v.register("c", serial, &code(&b.token, T + 60)).unwrap(),
            Outcome::Replayed,
            "nor after the branch unbinds it"
        );
    }

    #[test]
    fn a_code_is_used_up_for_the_token_at_every_contract() {
        let b = bank(Policy::default());
        let v = &b.verifier;
        let serial = b.token.serial.as_str();
        assert_eq!(
            v.register("a", serial, &code(&b.token, T)).unwrap(),
            Outcome::Accepted
        );
        b.clock.advance(30);
        let c = code(&b.token, T + 30);
        assert_eq!(v.register("b", serial, &c).unwrap(), Outcome::Accepted);
        assert_eq!(v.login("a", &c).unwrap(), Outcome::Replayed);
        b.clock.advance(30);
        let c = code(&b.token, T + 60);
        assert_eq!(v.login("a", &c).unwrap(), Outcome::Accepted);
        assert_eq!(v.login("b", &c).unwrap(), Outcome::Replayed);
        // Drift is the token's too: learnt at one contract, used at the other.
        b.clock.advance(30);
        assert_eq!(
            v.login("a", &code(&b.token, T + 120)).unwrap(),
            Outcome::Accepted
        );
        assert_eq!(v.status("b").unwrap().unwrap().drift, 1);
        let status = v.status("a").unwrap().unwrap();
        assert_eq!((status.last_step, status.drift), (Some((T + 120) / 30), 1));
    }

    #[test]
    fn a_failed_exchange_uses_up_the_old_code() {
        let b = bank(Policy::default());
        let v = &b.verifier;
        let new = directory::issue(v.directory().as_ref(), &Issuer::new(Prefix::IOS)).unwrap();
        v.register("c", b.token.serial.as_str(), &code(&b.token, T))
            .unwrap();
        b.clock.advance(30);
        let old_code = code(&b.token, T + 30);
        assert_eq!(
            v.exchange("c", &old_code, new.serial.as_str(), &wrong(&new, T + 30))
                .unwrap(),
            Outcome::WrongCode { attempts_left: 9 }
        );
        assert_eq!(
            v.exchange("c", &old_code, new.serial.as_str(), &code(&new, T + 30))
                .unwrap(),
            Outcome::Replayed
        );
        assert_eq!(v.login("c", &old_code).unwrap(), Outcome::Replayed);
        // An unknown new serial is a failed attempt.
        assert_eq!(
            v.exchange("c", &old_code, "SSTA 0000 0000", "123456")
                .unwrap(),
            Outcome::UnknownSerial
        );
        assert_eq!(v.status("c").unwrap().unwrap().failures, 2);
        b.clock.advance(30);
        assert_eq!(
            v.exchange(
                "c",
                &code(&b.token, T + 60),
                &new.serial.grouped(),
                &code(&new, T + 60)
            )
            .unwrap(),
            Outcome::Accepted
        );
        let status = v.status("c").unwrap().unwrap();
        assert_eq!(
            (status.serial.as_deref(), status.failures),
            (Some(new.serial.as_str()), 0)
        );
    }
}
