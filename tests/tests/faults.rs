//! Storage faults: a store that fails the k-th read, write or delete, or hands
//! back truncated, bit-flipped or newer-version bytes. For every k over every
//! vault operation the result is a success or a typed error, and afterwards
//! every token committed before is still there and still gives the right codes.

use softtoken_core::otp::{self, Mode};
use softtoken_core::store::{Record, FORMAT_VERSION};
use softtoken_core::vault::VAULT_KEY;
use softtoken_core::{
    Issuer, KeyUri, ManualClock, MemoryStore, Prefix, SecureStore, StoreError, Vault, VaultError,
};
use std::collections::BTreeMap;
use std::sync::Mutex;

const T: u64 = 1_700_000_010;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    FailRead,
    FailWrite,
    FailDelete,
    Truncate,
    FlipBit(usize),
    Newer,
}

/// A store that injects one fault at the k-th operation of its kind.
struct FaultStore {
    inner: MemoryStore,
    fault: Fault,
    at: usize,
    counts: Mutex<[usize; 3]>,
    injected: Mutex<bool>,
}

impl FaultStore {
    fn new(inner: MemoryStore, fault: Fault, at: usize) -> Self {
        Self {
            inner,
            fault,
            at,
            counts: Mutex::new([0; 3]),
            injected: Mutex::new(false),
        }
    }

    /// Counts an operation of kind `i`; true when this is the one to fault.
    fn hit(&self, i: usize, kinds: &[Fault]) -> bool {
        let mut counts = self.counts.lock().unwrap();
        counts[i] += 1;
        let hit = counts[i] == self.at
            && kinds
                .iter()
                .any(|k| std::mem::discriminant(k) == std::mem::discriminant(&self.fault));
        if hit {
            *self.injected.lock().unwrap() = true;
        }
        hit
    }
}

impl SecureStore for FaultStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let bytes = self.inner.read(key)?;
        if !self.hit(
            0,
            &[
                Fault::FailRead,
                Fault::Truncate,
                Fault::FlipBit(0),
                Fault::Newer,
            ],
        ) {
            return Ok(bytes);
        }
        match (self.fault, bytes) {
            (Fault::FailRead, _) => Err(StoreError("injected read failure".into())),
            (Fault::Truncate, Some(b)) => Ok(Some(b[..b.len() / 2].to_vec())),
            (Fault::FlipBit(bit), Some(mut b)) => {
                let at = (bit / 8) % b.len();
                b[at] ^= 1 << (bit % 8);
                Ok(Some(b))
            }
            (Fault::Newer, Some(b)) => {
                let text = String::from_utf8(b).unwrap();
                Ok(Some(
                    text.replacen(
                        &format!("vault {FORMAT_VERSION} "),
                        &format!("vault {} ", FORMAT_VERSION + 1),
                        1,
                    )
                    .into_bytes(),
                ))
            }
            (_, bytes) => Ok(bytes),
        }
    }

    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        if self.hit(1, &[Fault::FailWrite]) {
            return Err(StoreError("injected write failure".into()));
        }
        self.inner.write(key, value)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        if self.hit(2, &[Fault::FailDelete]) {
            return Err(StoreError("injected delete failure".into()));
        }
        self.inner.delete(key)
    }
}

/// What the vault should hold: serial -> key URI (secret and parameters).
type Model = BTreeMap<String, String>;

/// What a vault holds, in the model's terms.
fn snapshot<S: SecureStore, C: softtoken_core::Clock>(vault: &Vault<S, C>) -> Model {
    vault
        .tokens()
        .iter()
        .map(|t| {
            (
                t.serial.as_str().to_string(),
                vault.export_uri(t.serial.as_str()).unwrap().to_string(),
            )
        })
        .collect()
}

fn baseline() -> (MemoryStore, Model) {
    let store = MemoryStore::new();
    let clock = ManualClock::new(T);
    let mut vault = Vault::open(&store, &clock, Issuer::new(Prefix::ANDROID)).unwrap();
    vault.issue().unwrap();
    vault
        .import_uri(
            "otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN",
        )
        .unwrap();
    vault
        .import_uri(
            "otpauth://hotp/Example:counter?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=3",
        )
        .unwrap();
    let model = snapshot(&vault);
    let copy = MemoryStore::new();
    copy.write(VAULT_KEY, &store.read(VAULT_KEY).unwrap().unwrap())
        .unwrap();
    drop(vault);
    (copy, model)
}

fn assert_typed(e: &VaultError) {
    // Every error renders a message a person can act on; none is empty.
    assert!(!e.to_string().is_empty());
}

/// Runs every vault operation once over the faulty store, keeping the model in step with what succeeded.
fn scenario(store: &FaultStore, model: &mut Model) {
    let clock = ManualClock::new(T);
    let mut vault = match Vault::open(store, &clock, Issuer::new(Prefix::ANDROID)) {
        Ok(v) => v,
        Err(e) => return assert_typed(&e),
    };
    let seed = vault.tokens()[0].serial.as_str().to_string();
    let record =
        |vault: &Vault<&FaultStore, &ManualClock>, model: &mut Model| *model = snapshot(vault);
    match vault.issue() {
        Ok(_) => record(&vault, model),
        Err(e) => assert_typed(&e),
    }
    match vault.import_uri("otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub") {
        Ok(_) => record(&vault, model),
        Err(e) => assert_typed(&e),
    }
    let hotp = vault
        .tokens()
        .into_iter()
        .find(|t| matches!(t.params.mode, Mode::Hotp { .. }))
        .unwrap();
    match vault.code(hotp.serial.as_str()) {
        Ok(_) => record(&vault, model),
        Err(e) => assert_typed(&e),
    }
    match vault.delete("SYMC26070843") {
        Ok(_) => record(&vault, model),
        Err(e) => assert_typed(&e),
    }
    match vault.reissue(&seed) {
        Ok(_) => record(&vault, model),
        Err(e) => assert_typed(&e),
    }
    match vault.set_clock_offset(-30) {
        Ok(()) => record(&vault, model),
        Err(e) => assert_typed(&e),
    }
    // The vault in memory always equals what was committed.
    let in_memory: Model = snapshot(&vault);
    assert_eq!(&in_memory, model);
}

#[test]
fn every_fault_at_every_step_keeps_committed_tokens() {
    let record_bits = baseline().0.read(VAULT_KEY).unwrap().unwrap().len() * 8;
    // Reads happen once (at open); writes once per change; every third bit of the record is flipped in turn.
    let plan: Vec<(Fault, usize)> = [Fault::FailRead, Fault::Truncate, Fault::Newer]
        .into_iter()
        .map(|f| (f, 1))
        .chain((1..=8).flat_map(|at| [(Fault::FailWrite, at), (Fault::FailDelete, at)]))
        .chain(
            (0..record_bits)
                .step_by(3)
                .map(|bit| (Fault::FlipBit(bit), 1)),
        )
        .collect();
    let mut injected = 0;
    let mut runs = 0;
    for (fault, at) in plan {
        {
            let (store, base) = baseline();
            let faulty = FaultStore::new(store, fault, at);
            let mut model = base.clone();
            scenario(&faulty, &mut model);
            runs += 1;
            if *faulty.injected.lock().unwrap() {
                injected += 1;
            }
            // Reopen without faults: exactly the committed tokens, each with the right codes.
            let clock = ManualClock::new(T);
            let reopened = Vault::open(&faulty.inner, &clock, Issuer::new(Prefix::ANDROID))
                .unwrap_or_else(|e| panic!("{fault:?} at {at}: the store was damaged: {e}"));
            let now: Model = snapshot(&reopened);
            assert_eq!(now, model, "{fault:?} at {at}");
            for (serial, uri) in &model {
                let key = KeyUri::parse(uri).unwrap();
                let want = otp::generate(&key.secret, &key.params, T).unwrap();
                assert_eq!(
                    reopened.code_at(serial, T).unwrap(),
                    want,
                    "{fault:?} at {at}: {serial}"
                );
            }
            // The record itself is sound.
            Record::decode(&faulty.inner.read(VAULT_KEY).unwrap().unwrap()).unwrap();
        }
    }
    assert!(
        injected > record_bits / 3,
        "only {injected} faults were injected"
    );
    println!("faults: {injected} injected faults survived over {runs} runs");
}
