//! The verifier's rules as pure functions on plain state: a contract's record
//! ([`Binding`]), a token's memory ([`TokenMemory`]), the [`Policy`] and the
//! time. The in-memory [`Verifier`](crate::verifier::Verifier) and the token
//! service's database both call these, so there is one implementation of the
//! decisions (window, replay, drift, failure counting, lockout, the state
//! transitions); the stores only load, lock and save.
//!
//! Replay memory and drift belong to the token, not to the contract: a code
//! accepted for a token is used up for that token at every contract and bank,
//! after stop and re-register, and after a failed exchange (RFC 6238 §5.2).

use crate::directory::Entry;
use crate::input;
use crate::ledger::{Binding, BindingState, TokenMemory};
use crate::otp::TypedCode;
use std::fmt;
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

    /// Attempts left before lockout after `failures` consecutive wrong codes.
    pub fn attempts_left(&self, failures: u32) -> u32 {
        self.lockout_threshold.saturating_sub(failures)
    }
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

impl Outcome {
    /// The outcome's name in snake case, as the token service's JSON and metrics give it.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::WrongCode { .. } => "wrong_code",
            Outcome::Replayed => "replayed",
            Outcome::Locked => "locked",
            Outcome::Stopped => "stopped",
            Outcome::Suspended => "suspended",
            Outcome::NotRegistered => "not_registered",
            Outcome::UnknownSerial => "unknown_serial",
            Outcome::AlreadyBound => "already_registered",
            Outcome::NotApplicable => "not_applicable",
        }
    }
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
pub enum Check {
    /// Right, at this step, with this drift from now.
    Accepted {
        /// The time step the code belongs to.
        step: u64,
        /// Steps between the token's clock and ours, clamped to the policy's limit.
        drift: i64,
    },
    /// Right, but its step is not after the token's last accepted step.
    Replayed,
    /// Wrong (or not a code at all).
    Wrong,
}

impl Policy {
    /// Checks `typed` against the window around the remembered drift, then around now.
    pub fn check(
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

    /// Counts a failure, locking at exactly the threshold.
    pub fn fail(&self, binding: &mut Binding) -> Outcome {
        binding.failures = binding.failures.saturating_add(1);
        if binding.failures >= self.lockout_threshold {
            binding.state = BindingState::Locked;
        }
        Outcome::WrongCode {
            attempts_left: self.lockout_threshold.saturating_sub(binding.failures),
        }
    }
}

/// What a decision came to: the outcome, and the step used when a code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// What happened.
    pub outcome: Outcome,
    /// The time step accepted, when a code was accepted.
    pub step: Option<u64>,
}

impl From<Outcome> for Decision {
    fn from(outcome: Outcome) -> Self {
        Self {
            outcome,
            step: None,
        }
    }
}

/// The outcome for a contract that cannot take a code now (login, stop, exchange), if any.
pub fn gate(contract: Option<&Binding>) -> Option<Outcome> {
    match contract.map(|b| b.state) {
        None | Some(BindingState::Unbound) => Some(Outcome::NotRegistered),
        Some(BindingState::Stopped) => Some(Outcome::Stopped),
        Some(BindingState::Locked) => Some(Outcome::Locked),
        Some(BindingState::Suspended) => Some(Outcome::Suspended),
        Some(BindingState::Active) => None,
    }
}

/// The outcome for a contract that cannot register a token now (B1, T7), if any.
pub fn register_gate(contract: Option<&Binding>) -> Option<Outcome> {
    match contract.map(|b| b.state) {
        Some(BindingState::Active) => Some(Outcome::AlreadyBound),
        Some(BindingState::Locked) => Some(Outcome::Locked),
        Some(BindingState::Suspended) => Some(Outcome::Suspended),
        None | Some(BindingState::Unbound) | Some(BindingState::Stopped) => None,
    }
}

/// A serial not in the directory, typed to register (B1): a failed attempt on the contract.
pub fn register_unknown(policy: &Policy, contract: &mut Binding) -> Outcome {
    if let Some(halt) = register_gate(Some(contract)) {
        return halt;
    }
    policy.fail(contract);
    Outcome::UnknownSerial
}

/// A new serial not in the directory, typed to exchange (B6): a failed attempt on the contract.
pub fn exchange_unknown(policy: &Policy, contract: &mut Binding) -> Outcome {
    if let Some(halt) = gate(Some(contract)) {
        return halt;
    }
    policy.fail(contract);
    Outcome::UnknownSerial
}

/// B1: binds the token of `entry` to the contract when `code` is current and unused for that token.
pub fn register(
    policy: &Policy,
    contract: &mut Binding,
    token: &mut TokenMemory,
    entry: &Entry,
    code: &str,
    now: u64,
) -> Decision {
    if let Some(halt) = register_gate(Some(contract)) {
        return halt.into();
    }
    match policy.check(entry, code, now, token.last_step, token.drift) {
        Check::Accepted { step, drift } => {
            token.accept(step, drift);
            contract.bind(entry.credential.serial.as_str());
            Decision {
                outcome: Outcome::Accepted,
                step: Some(step),
            }
        }
        Check::Replayed => Outcome::Replayed.into(),
        Check::Wrong => policy.fail(contract).into(),
    }
}

/// Checks a code of the contract's bound token (`entry`, `token`); `on_accept` changes the contract on success.
fn with_code(
    policy: &Policy,
    contract: &mut Binding,
    token: &mut TokenMemory,
    entry: &Entry,
    code: &str,
    now: u64,
    on_accept: fn(&mut Binding),
) -> Decision {
    if let Some(halt) = gate(Some(contract)) {
        return halt.into();
    }
    match policy.check(entry, code, now, token.last_step, token.drift) {
        Check::Accepted { step, drift } => {
            token.accept(step, drift);
            contract.failures = 0;
            on_accept(contract);
            Decision {
                outcome: Outcome::Accepted,
                step: Some(step),
            }
        }
        Check::Replayed => Outcome::Replayed.into(),
        Check::Wrong => policy.fail(contract).into(),
    }
}

/// B2: a login with the bound token's current code.
pub fn login(
    policy: &Policy,
    contract: &mut Binding,
    token: &mut TokenMemory,
    entry: &Entry,
    code: &str,
    now: u64,
) -> Decision {
    with_code(policy, contract, token, entry, code, now, |_| {})
}

/// B3, B8: the customer stops the token with a current code; the contract may then register a new one.
pub fn stop(
    policy: &Policy,
    contract: &mut Binding,
    token: &mut TokenMemory,
    entry: &Entry,
    code: &str,
    now: u64,
) -> Decision {
    with_code(policy, contract, token, entry, code, now, |b| {
        b.state = BindingState::Stopped;
        b.serial = None;
    })
}

/// One side of an exchange: a token's memory, its credential and the code typed for it.
#[derive(Debug)]
pub struct Side<'a> {
    /// The token's replay memory and drift.
    pub token: &'a mut TokenMemory,
    /// The token's credential.
    pub entry: &'a Entry,
    /// The code typed for it.
    pub code: &'a str,
}

/// B6: moves the contract from its token (`old`) to `new`, all or nothing for the contract.
/// The old code, when right, is used up for the old token even if the new code is wrong.
pub fn exchange(
    policy: &Policy,
    contract: &mut Binding,
    old: Side<'_>,
    new: Side<'_>,
    now: u64,
) -> Decision {
    if let Some(halt) = gate(Some(contract)) {
        return halt.into();
    }
    if contract.serial.as_deref() == Some(new.entry.credential.serial.as_str()) {
        return Outcome::AlreadyBound.into();
    }
    match policy.check(
        old.entry,
        old.code,
        now,
        old.token.last_step,
        old.token.drift,
    ) {
        Check::Wrong => return policy.fail(contract).into(),
        Check::Replayed => return Outcome::Replayed.into(),
        Check::Accepted { step, drift } => old.token.accept(step, drift),
    }
    match policy.check(
        new.entry,
        new.code,
        now,
        new.token.last_step,
        new.token.drift,
    ) {
        Check::Accepted { step, drift } => {
            new.token.accept(step, drift);
            contract.bind(new.entry.credential.serial.as_str());
            Decision {
                outcome: Outcome::Accepted,
                step: Some(step),
            }
        }
        Check::Replayed => Outcome::Replayed.into(),
        Check::Wrong => policy.fail(contract).into(),
    }
}

/// B4 (branch): unlocks a locked contract and clears its failures.
pub fn unlock(contract: Option<&mut Binding>) -> Outcome {
    match contract {
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
    }
}

/// B5, B7 (branch): removes the contract's token so that a new one can be registered.
pub fn unbind(contract: Option<&mut Binding>) -> Outcome {
    match contract {
        Some(b) => {
            *b = Binding::unbound(&b.contract);
            Outcome::Accepted
        }
        None => Outcome::NotRegistered,
    }
}

/// B9 (branch): suspends the contract at once (one the bank has no record of yet too).
pub fn suspend(contract: &mut Binding) -> Outcome {
    if contract.state == BindingState::Suspended {
        return Outcome::NotApplicable;
    }
    contract.suspended_from = Some(contract.state);
    contract.state = BindingState::Suspended;
    Outcome::Accepted
}

/// B9 (branch): resumes a suspended contract in the state it had.
pub fn resume(contract: Option<&mut Binding>) -> Outcome {
    match contract {
        Some(b) if b.state == BindingState::Suspended => {
            b.state = b.suspended_from.take().unwrap_or(BindingState::Unbound);
            Outcome::Accepted
        }
        Some(_) => Outcome::NotApplicable,
        None => Outcome::NotRegistered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn failures_lock_at_exactly_the_threshold() {
        let policy = Policy::new(1, 1, 3, 5).unwrap();
        let mut b = Binding::unbound("c");
        b.bind("SSTA12345678");
        let left: Vec<Outcome> = (0..3).map(|_| policy.fail(&mut b)).collect();
        assert_eq!(
            left,
            [2, 1, 0].map(|attempts_left| Outcome::WrongCode { attempts_left })
        );
        assert_eq!(b.state, BindingState::Locked);
        assert_eq!(gate(Some(&b)), Some(Outcome::Locked));
        assert_eq!(unlock(Some(&mut b)), Outcome::Accepted);
        assert_eq!((b.state, b.failures), (BindingState::Active, 0));
    }

    #[test]
    fn an_unknown_serial_is_a_failed_attempt() {
        let policy = Policy::new(1, 1, 2, 5).unwrap();
        let mut b = Binding::unbound("c");
        assert_eq!(register_unknown(&policy, &mut b), Outcome::UnknownSerial);
        assert_eq!(register_unknown(&policy, &mut b), Outcome::UnknownSerial);
        assert_eq!((b.state, b.failures), (BindingState::Locked, 2));
        assert_eq!(register_unknown(&policy, &mut b), Outcome::Locked);
        assert_eq!(b.failures, 2, "a locked contract counts no more");
    }

    #[test]
    fn suspend_and_resume_return_to_the_state_before() {
        let mut b = Binding::unbound("c");
        b.bind("SSTA12345678");
        assert_eq!(suspend(&mut b), Outcome::Accepted);
        assert_eq!(suspend(&mut b), Outcome::NotApplicable);
        assert_eq!(register_gate(Some(&b)), Some(Outcome::Suspended));
        assert_eq!(resume(Some(&mut b)), Outcome::Accepted);
        assert_eq!(b.state, BindingState::Active);
        assert_eq!(resume(Some(&mut b)), Outcome::NotApplicable);
        assert_eq!(resume(None), Outcome::NotRegistered);
        assert_eq!(unbind(Some(&mut b)), Outcome::Accepted);
        assert_eq!(b, Binding::unbound("c"));
    }
}
