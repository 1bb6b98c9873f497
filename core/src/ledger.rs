//! The verifier's state: one record per contract (the bank's customer ID) with
//! its bound serial, state and consecutive failures, and one memory per token
//! (serial) with its last accepted time step and drift. A trait with an
//! in-memory implementation; the whole state is serde and holds no cache.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
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

impl BindingState {
    /// The state's name in lower case (as saved).
    pub fn name(self) -> &'static str {
        match self {
            BindingState::Unbound => "unbound",
            BindingState::Active => "active",
            BindingState::Locked => "locked",
            BindingState::Stopped => "stopped",
            BindingState::Suspended => "suspended",
        }
    }

    /// The state named `name` (as [`name`](Self::name) gives it).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            BindingState::Unbound,
            BindingState::Active,
            BindingState::Locked,
            BindingState::Stopped,
            BindingState::Suspended,
        ]
        .into_iter()
        .find(|s| s.name() == name)
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
        }
    }

    /// Binds `serial` afresh: active, no failures.
    pub fn bind(&mut self, serial: &str) {
        self.serial = Some(serial.to_string());
        self.state = BindingState::Active;
        self.failures = 0;
    }
}

/// One token's memory, shared by every contract it is bound to: the last accepted step and the drift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenMemory {
    /// The last accepted time step of the token, anywhere.
    pub last_step: Option<u64>,
    /// Steps between the token's clock and ours at its last success.
    pub drift: i64,
}

impl TokenMemory {
    /// Records an accepted code: its step is used up, its drift remembered.
    pub fn accept(&mut self, step: u64, drift: i64) {
        self.last_step = Some(step);
        self.drift = drift;
    }
}

/// One token's saved memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The token's serial.
    pub serial: String,
    /// Its memory.
    #[serde(flatten)]
    pub memory: TokenMemory,
}

/// The verifier's whole state, for saving and restoring.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerState {
    /// Every contract's record, sorted by contract.
    pub bindings: Vec<Binding>,
    /// Every token's memory, sorted by serial.
    #[serde(default)]
    pub tokens: Vec<TokenRecord>,
}

/// Token memories as an update sees them: read and written inside the update's atomic section.
pub trait Tokens {
    /// The memory of `serial` (a fresh one when it has none).
    fn get(&mut self, serial: &str) -> TokenMemory;
    /// Stores the memory of `serial`.
    fn set(&mut self, serial: &str, memory: TokenMemory);
}

/// Keeps contracts' records and tokens' memories; each update is atomic over the contract and every token it touches.
pub trait Ledger: Send + Sync {
    /// Runs `f` on the contract's record (`None` when there is none; set it to store one) and on the token memories, atomically.
    fn update(
        &self,
        contract: &str,
        f: &mut dyn FnMut(&mut Option<Binding>, &mut dyn Tokens),
    ) -> Result<(), LedgerError>;
    /// A copy of the contract's record.
    fn get(&self, contract: &str) -> Result<Option<Binding>, LedgerError> {
        let mut out = None;
        self.update(contract, &mut |b, _| out = b.clone())?;
        Ok(out)
    }
    /// A copy of a token's memory.
    fn token(&self, serial: &str) -> Result<TokenMemory, LedgerError> {
        let mut out = TokenMemory::default();
        self.update("", &mut |_, tokens| out = tokens.get(serial))?;
        Ok(out)
    }
    /// Every record, for saving.
    fn export(&self) -> Result<LedgerState, LedgerError>;
}

const SHARDS: usize = 64;

/// A ledger in memory: contracts sharded so that threads on different
/// contracts rarely wait for each other; token memories behind one lock taken
/// after the contract's (so an update over several tokens cannot deadlock).
#[derive(Debug)]
pub struct MemoryLedger {
    shards: Vec<Mutex<HashMap<String, Binding>>>,
    tokens: Mutex<HashMap<String, TokenMemory>>,
    hasher: RandomState,
}

impl Default for MemoryLedger {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            tokens: Mutex::new(HashMap::new()),
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
        if let Ok(mut tokens) = ledger.tokens.lock() {
            tokens.extend(state.tokens.into_iter().map(|t| (t.serial, t.memory)));
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

/// The token memories of one update: the lock is taken on first use and held to the update's end.
struct HeldTokens<'a> {
    lock: &'a Mutex<HashMap<String, TokenMemory>>,
    guard: Option<std::sync::MutexGuard<'a, HashMap<String, TokenMemory>>>,
    poisoned: bool,
}

impl HeldTokens<'_> {
    fn map(&mut self) -> Option<&mut HashMap<String, TokenMemory>> {
        if self.guard.is_none() && !self.poisoned {
            match self.lock.lock() {
                Ok(g) => self.guard = Some(g),
                Err(_) => self.poisoned = true,
            }
        }
        self.guard.as_deref_mut()
    }
}

impl Tokens for HeldTokens<'_> {
    fn get(&mut self, serial: &str) -> TokenMemory {
        self.map()
            .and_then(|m| m.get(serial).copied())
            .unwrap_or_default()
    }

    fn set(&mut self, serial: &str, memory: TokenMemory) {
        if let Some(map) = self.map() {
            match map.get_mut(serial) {
                Some(existing) => *existing = memory,
                None => {
                    map.insert(serial.to_string(), memory);
                }
            }
        }
    }
}

impl Ledger for MemoryLedger {
    fn update(
        &self,
        contract: &str,
        f: &mut dyn FnMut(&mut Option<Binding>, &mut dyn Tokens),
    ) -> Result<(), LedgerError> {
        let mut map = self.shards[self.shard(contract)].lock().map_err(poisoned)?;
        let mut tokens = HeldTokens {
            lock: &self.tokens,
            guard: None,
            poisoned: false,
        };
        match map.get_mut(contract) {
            // The common case updates in place: no key is allocated.
            Some(existing) => {
                let mut slot = Some(std::mem::replace(existing, Binding::unbound("")));
                f(&mut slot, &mut tokens);
                match slot {
                    Some(binding) => *existing = binding,
                    None => {
                        map.remove(contract);
                    }
                }
            }
            None => {
                let mut slot = None;
                f(&mut slot, &mut tokens);
                if let Some(binding) = slot {
                    map.insert(contract.to_string(), binding);
                }
            }
        }
        if tokens.poisoned {
            return Err(poisoned(()));
        }
        Ok(())
    }

    fn export(&self) -> Result<LedgerState, LedgerError> {
        let mut bindings = Vec::new();
        for shard in &self.shards {
            bindings.extend(shard.lock().map_err(poisoned)?.values().cloned());
        }
        bindings.sort_by(|a, b| a.contract.cmp(&b.contract));
        let mut tokens: Vec<TokenRecord> = self
            .tokens
            .lock()
            .map_err(poisoned)?
            .iter()
            .map(|(serial, memory)| TokenRecord {
                serial: serial.clone(),
                memory: *memory,
            })
            .collect();
        tokens.sort_by(|a, b| a.serial.cmp(&b.serial));
        Ok(LedgerState { bindings, tokens })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_export_restore() {
        let ledger = MemoryLedger::new();
        ledger
            .update("c1", &mut |b, _| *b = Some(Binding::unbound("c1")))
            .unwrap();
        ledger
            .update("c1", &mut |b, tokens| {
                if let Some(b) = b {
                    b.bind("SSTA12345678");
                    let mut t = tokens.get("SSTA12345678");
                    t.accept(7, -1);
                    tokens.set("SSTA12345678", t);
                }
            })
            .unwrap();
        ledger
            .update("c0", &mut |b, _| *b = Some(Binding::unbound("c0")))
            .unwrap();
        let state = ledger.export().unwrap();
        assert_eq!(state.bindings.len(), 2);
        assert_eq!(state.bindings[0].contract, "c0");
        assert_eq!(state.tokens.len(), 1);
        let json = serde_json::to_string(&state).unwrap();
        assert!(!json.contains("resolved"), "no cache in the saved state");
        let back: LedgerState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state, "the saved state round-trips exactly");
        let restored = MemoryLedger::restore(back);
        let b = restored.get("c1").unwrap().unwrap();
        assert_eq!(
            (b.state, b.serial.as_deref()),
            (BindingState::Active, Some("SSTA12345678"))
        );
        assert_eq!(
            restored.token("SSTA12345678").unwrap(),
            TokenMemory {
                last_step: Some(7),
                drift: -1
            }
        );
        assert_eq!(restored.get("nobody").unwrap(), None);
        // Setting the slot to None removes the record.
        restored.update("c0", &mut |b, _| *b = None).unwrap();
        assert_eq!(restored.export().unwrap().bindings.len(), 1);
    }

    #[test]
    fn a_saved_state_from_before_token_memories_still_loads() {
        let old = r#"{"bindings":[{"contract":"c","serial":"SSTA12345678","state":"active","failures":2,"last_step":9,"drift":0}]}"#;
        let state: LedgerState = serde_json::from_str(old).unwrap();
        assert_eq!(state.bindings[0].failures, 2);
        assert!(state.tokens.is_empty());
    }

    #[test]
    fn state_names_round_trip() {
        for s in [
            BindingState::Unbound,
            BindingState::Active,
            BindingState::Locked,
            BindingState::Stopped,
            BindingState::Suspended,
        ] {
            assert_eq!(BindingState::from_name(s.name()), Some(s));
        }
        assert_eq!(BindingState::from_name("gone"), None);
    }
}
