//! The verifier's state: one record per contract (the bank's customer ID) with
//! its bound serial, state, consecutive failures, last accepted time step and
//! drift. A trait with an in-memory implementation; the whole state is serde.

use crate::directory::Entry;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::Mutex;
use thiserror::Error;

/// The state store failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the verifier's state store failed: {0}")]
pub struct LedgerError(pub String);

/// Where a contract stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BindingState {
    /// No token bound (never, or unbound by an administrator): may register.
    Unbound,
    /// A token is bound and logs in.
    Active,
    /// Too many wrong codes: nothing works until an administrator unlocks (B4).
    Locked,
    /// The customer stopped the token with a code (B3): may register a new one.
    Stopped,
    /// Suspended for a lost device (B9): nothing works until an administrator resumes.
    Suspended,
}

/// The bound credential as the verifier last resolved it from the directory:
/// kept beside the record in memory so a login need not look it up again.
/// Not part of the record: never saved, and equal to any other.
#[derive(Clone, Default)]
pub struct Resolved(Option<Arc<Entry>>);

impl Resolved {
    /// The cached credential, when it is the one for `serial`.
    pub fn get(&self, serial: &str) -> Option<&Arc<Entry>> {
        self.0
            .as_ref()
            .filter(|e| e.credential.serial.as_str() == serial)
    }

    /// Caches `entry`.
    pub fn set(&mut self, entry: Arc<Entry>) {
        self.0 = Some(entry);
    }
}

impl PartialEq for Resolved {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Resolved {}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Resolved(cached)"
        } else {
            "Resolved(none)"
        })
    }
}

/// One contract's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The bank's customer ID.
    pub contract: String,
    /// The bound serial, when one is bound.
    pub serial: Option<String>,
    /// Where it stands.
    pub state: BindingState,
    /// The state to return to on resume (when suspended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_from: Option<BindingState>,
    /// Consecutive wrong codes.
    pub failures: u32,
    /// The last accepted time step of the bound serial.
    pub last_step: Option<u64>,
    /// Steps between the token's clock and ours at the last success.
    pub drift: i64,
    /// The bound credential, cached in memory.
    #[serde(skip)]
    pub resolved: Resolved,
}

impl Binding {
    /// A contract with nothing bound.
    pub fn unbound(contract: &str) -> Self {
        Self {
            contract: contract.to_string(),
            serial: None,
            state: BindingState::Unbound,
            suspended_from: None,
            failures: 0,
            last_step: None,
            drift: 0,
            resolved: Resolved::default(),
        }
    }

    /// Binds the credential of `entry` afresh: active, no failures, `step` used, `drift` remembered.
    pub fn bind(&mut self, entry: &Arc<Entry>, step: u64, drift: i64) {
        self.serial = Some(entry.credential.serial.as_str().to_string());
        self.resolved.set(entry.clone());
        self.state = BindingState::Active;
        self.failures = 0;
        self.last_step = Some(step);
        self.drift = drift;
    }
}

/// The verifier's whole state, for saving and restoring.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerState {
    /// Every contract's record, sorted by contract.
    pub bindings: Vec<Binding>,
}

/// Keeps contracts' records; each update of one contract is atomic.
pub trait Ledger: Send + Sync {
    /// Runs `f` on the contract's record (`None` when there is none; set it to store one), atomically for that contract.
    fn update(
        &self,
        contract: &str,
        f: &mut dyn FnMut(&mut Option<Binding>),
    ) -> Result<(), LedgerError>;
    /// A copy of the contract's record.
    fn get(&self, contract: &str) -> Result<Option<Binding>, LedgerError> {
        let mut out = None;
        self.update(contract, &mut |b| out = b.clone())?;
        Ok(out)
    }
    /// Every record, for saving.
    fn export(&self) -> Result<LedgerState, LedgerError>;
}

const SHARDS: usize = 64;

/// A ledger in memory, sharded so that threads on different contracts rarely wait for each other.
#[derive(Debug)]
pub struct MemoryLedger {
    shards: Vec<Mutex<HashMap<String, Binding>>>,
    hasher: RandomState,
}

impl Default for MemoryLedger {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// A ledger holding a saved state.
    pub fn restore(state: LedgerState) -> Self {
        let ledger = Self::new();
        for binding in state.bindings {
            let shard = ledger.shard(&binding.contract);
            if let Ok(mut map) = ledger.shards[shard].lock() {
                map.insert(binding.contract.clone(), binding);
            }
        }
        ledger
    }

    fn shard(&self, contract: &str) -> usize {
        (self.hasher.hash_one(contract) as usize) % SHARDS
    }
}

fn poisoned<T>(_: T) -> LedgerError {
    LedgerError("a thread panicked while holding the state".into())
}

impl Ledger for MemoryLedger {
    fn update(
        &self,
        contract: &str,
        f: &mut dyn FnMut(&mut Option<Binding>),
    ) -> Result<(), LedgerError> {
        let mut map = self.shards[self.shard(contract)].lock().map_err(poisoned)?;
        match map.get_mut(contract) {
            // The common case updates in place: no key is allocated.
            Some(existing) => {
                let mut slot = Some(std::mem::replace(existing, Binding::unbound("")));
                f(&mut slot);
                match slot {
                    Some(binding) => *existing = binding,
                    None => {
                        map.remove(contract);
                    }
                }
            }
            None => {
                let mut slot = None;
                f(&mut slot);
                if let Some(binding) = slot {
                    map.insert(contract.to_string(), binding);
                }
            }
        }
        Ok(())
    }

    fn export(&self) -> Result<LedgerState, LedgerError> {
        let mut bindings = Vec::new();
        for shard in &self.shards {
            bindings.extend(shard.lock().map_err(poisoned)?.values().cloned());
        }
        bindings.sort_by(|a, b| a.contract.cmp(&b.contract));
        Ok(LedgerState { bindings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_export_restore() {
        let ledger = MemoryLedger::new();
        ledger
            .update("c1", &mut |b| *b = Some(Binding::unbound("c1")))
            .unwrap();
        let dir = crate::directory::MemoryDirectory::new();
        let credential = crate::directory::issue(
            &dir,
            &crate::issuer::Issuer::new(crate::serial::Prefix::ANDROID),
        )
        .unwrap();
        let entry = crate::directory::Directory::lookup(&dir, credential.serial.as_str())
            .unwrap()
            .unwrap();
        ledger
            .update("c1", &mut |b| {
                if let Some(b) = b {
                    b.bind(&entry, 7, -1);
                }
            })
            .unwrap();
        assert!(ledger
            .get("c1")
            .unwrap()
            .unwrap()
            .resolved
            .get(credential.serial.as_str())
            .is_some());
        ledger
            .update("c0", &mut |b| *b = Some(Binding::unbound("c0")))
            .unwrap();
        let state = ledger.export().unwrap();
        assert_eq!(state.bindings.len(), 2);
        assert_eq!(state.bindings[0].contract, "c0");
        let json = serde_json::to_string(&state).unwrap();
        let back: LedgerState = serde_json::from_str(&json).unwrap();
        let restored = MemoryLedger::restore(back);
        let b = restored.get("c1").unwrap().unwrap();
        assert_eq!(
            (b.state, b.last_step, b.drift),
            (BindingState::Active, Some(7), -1)
        );
        assert_eq!(restored.get("nobody").unwrap(), None);
        // Setting the slot to None removes the record.
        restored.update("c0", &mut |b| *b = None).unwrap();
        assert_eq!(restored.export().unwrap().bindings.len(), 1);
    }
}
