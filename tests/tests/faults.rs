//! Storage faults: a store that fails the k-th read or write, or hands back
//! truncated, bit-flipped or newer-version bytes. Every planned fault must fire
//! (a fault planned where the vault never reaches injects nothing and proves
//! nothing); the operation it hits fails with that fault's own error, every
//! other operation succeeds, and afterwards every token committed before is
//! still there and still gives the right codes.

use softtoken_core::otp::{self, Mode};
use softtoken_core::store::{Record, FORMAT_VERSION};
use softtoken_core::vault::{LineImport, VAULT_KEY};
use softtoken_core::{
    Issuer, KeyUri, ManualClock, MemoryStore, Prefix, RecordError, SecureStore, StoreError, Vault,
    VaultError,
};
use std::collections::BTreeMap;
use std::sync::Mutex;

const T: u64 = 1_700_000_010;

/// A Google Authenticator export of two TOTP accounts (Example: alice, Example: bob), made here.
const EXPORT: &str = "otpauth-migration://offline?data=CiAKCkhlbGxvId6tvu8SBWFsaWNlGgdFeGFtcGxlIAEoATACCh4KCgECAwQFBgcICQoSA2JvYhoHRXhhbXBsZSABKAEwAhABGAEgAA%3D%3D";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// No fault: the store only counts.
    None,
    FailRead,
    FailWrite,
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
    fired: Mutex<usize>,
}

impl FaultStore {
    fn new(inner: MemoryStore, fault: Fault, at: usize) -> Self {
        Self {
            inner,
            fault,
            at,
            counts: Mutex::new([0; 3]),
            fired: Mutex::new(0),
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
        hit
    }

    /// Records that the fault was really applied to what the store handed back.
    fn fire(&self) {
        *self.fired.lock().unwrap() += 1;
    }

    fn fired(&self) -> usize {
        *self.fired.lock().unwrap()
    }

    fn count(&self, i: usize) -> usize {
        self.counts.lock().unwrap()[i]
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
            (Fault::FailRead, _) => {
                self.fire();
                Err(StoreError("injected read failure".into()))
            }
            (Fault::Truncate, Some(b)) => {
                self.fire();
                Ok(Some(b[..b.len() / 2].to_vec()))
            }
            (Fault::FlipBit(bit), Some(mut b)) if bit / 8 < b.len() => {
                self.fire();
                b[bit / 8] ^= 1 << (bit % 8);
                Ok(Some(b))
            }
            (Fault::Newer, Some(b)) => {
                let text = String::from_utf8(b).unwrap();
                let from = format!("vault {FORMAT_VERSION} ");
                if text.contains(&from) {
                    self.fire();
                }
                Ok(Some(
                    text.replacen(&from, &format!("vault {} ", FORMAT_VERSION + 1), 1)
                        .into_bytes(),
                ))
            }
            (_, bytes) => Ok(bytes),
        }
    }

    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        if self.hit(1, &[Fault::FailWrite]) {
            self.fire();
            return Err(StoreError("injected write failure".into()));
        }
        self.inner.write(key, value)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        // The vault never deletes its record (a change is a whole new record written);
        // counted so that the test can say so.
        self.hit(2, &[]);
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

/// The failures one scenario run met: (operation, error).
type Failures = Vec<(&'static str, VaultError)>;

/// Runs every vault operation once over the faulty store, keeping the model in step with what
/// succeeded; returns the operations that failed, with their errors.
fn scenario(store: &FaultStore, model: &mut Model) -> Failures {
    let clock = ManualClock::new(T);
    let mut failures = Failures::new();
    let mut vault = match Vault::open(store, &clock, Issuer::new(Prefix::ANDROID)) {
        Ok(v) => v,
        Err(e) => {
            failures.push(("open", e));
            return failures;
        }
    };
    let seed = vault.tokens()[0].serial.as_str().to_string();
    let hotp = vault
        .tokens()
        .into_iter()
        .find(|t| matches!(t.params.mode, Mode::Hotp { .. }))
        .unwrap()
        .serial;
    type Operation<'a> = (
        &'static str,
        Box<dyn Fn(&mut Vault<&FaultStore, &ManualClock>) -> Result<(), VaultError> + 'a>,
    );
    let operations: Vec<Operation> = vec![
        ("issue", Box::new(|v| v.issue().map(drop))),
        (
            "import_uri",
            Box::new(|v| {
                v.import_uri("otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub")
                    .map(drop)
            }),
        ),
        (
            "import_uri of an export",
            Box::new(|v| v.import_uri(EXPORT).map(drop)),
        ),
        (
            "import_lines",
            Box::new(|v| {
                let outcomes = v.import_lines([
                    "otpauth://totp/Forge:ana?secret=GEZDGNBVGY3TQOJQ",
                    "otpauth://steam/Game:cy?secret=ONSWG4TFORZWK3DM",
                ])?;
                assert!(
                    matches!(&outcomes[0], LineImport::Done { imported, .. } if imported.len() == 1)
                );
                assert!(matches!(
                    &outcomes[1],
                    LineImport::Refused(VaultError::Uri(_))
                ));
                Ok(())
            }),
        ),
        ("code (HOTP)", Box::new(|v| v.code(hotp.as_str()).map(drop))),
        ("delete", Box::new(|v| v.delete("SYMC26070843").map(drop))),
        ("reissue", Box::new(|v| v.reissue(&seed).map(drop))),
        ("set_clock_offset", Box::new(|v| v.set_clock_offset(-30))),
    ];
    for (name, operation) in &operations {
        match operation(&mut vault) {
            Ok(()) => *model = snapshot(&vault),
            Err(e) => failures.push((name, e)),
        }
        // The vault in memory always equals what was committed.
        assert_eq!(&snapshot(&vault), model, "after {name}");
    }
    failures
}

/// The error a fault must cause, exactly: its kind and its message.
fn assert_caused_by(fault: Fault, e: &VaultError) {
    let message = e.to_string();
    match (fault, e) {
        (Fault::FailRead, VaultError::Store(StoreError(inner))) => {
            assert_eq!(inner, "injected read failure");
            assert_eq!(message, "the secure store failed: injected read failure");
        }
        (Fault::FailWrite, VaultError::Store(StoreError(inner))) => {
            assert_eq!(inner, "injected write failure");
            assert_eq!(message, "the secure store failed: injected write failure");
        }
        (Fault::Truncate, VaultError::Record(RecordError::Corrupt(why))) => {
            assert_eq!(
                message,
                format!("the stored vault is damaged ({why}); it was left untouched: restore it from a backup or move it aside to start a new vault")
            );
        }
        (Fault::Newer, VaultError::Record(RecordError::NewerVersion { found, supported })) => {
            assert_eq!((*found, *supported), (FORMAT_VERSION + 1, FORMAT_VERSION));
            assert_eq!(
                message,
                format!("the stored vault has format version {}, newer than this softtoken reads ({FORMAT_VERSION}); update softtoken, the vault was left untouched", FORMAT_VERSION + 1)
            );
        }
        // A flipped bit is caught by the checksum, the frame or the version number.
        (Fault::FlipBit(_), VaultError::Record(RecordError::Corrupt(why))) => {
            assert!(!why.is_empty());
            assert!(
                message.starts_with("the stored vault is damaged ("),
                "{message}"
            );
        }
        (Fault::FlipBit(_), VaultError::Record(RecordError::Foreign)) => {
            assert!(
                message.starts_with("the stored data is not a softtoken vault"),
                "{message}"
            );
        }
        (Fault::FlipBit(_), VaultError::Record(RecordError::NewerVersion { found, .. })) => {
            assert!(*found > FORMAT_VERSION, "{message}");
        }
        (fault, e) => panic!("{fault:?} caused {e:?} ({message})"),
    }
}

#[test]
fn every_fault_at_every_step_fires_and_keeps_committed_tokens() {
    // A run without faults: how many reads, writes and deletes the scenario makes.
    let (store, mut model) = baseline();
    let clean = FaultStore::new(store, Fault::None, 0);
    assert!(scenario(&clean, &mut model).is_empty());
    let (reads, writes, deletes) = (clean.count(0), clean.count(1), clean.count(2));
    assert_eq!(reads, 1, "the vault reads its record once, when it opens");
    assert_eq!(
        writes, 8,
        "one write per change, one for a whole export or batch"
    );
    assert_eq!(deletes, 0, "the vault never deletes its record");
    let record_bits = baseline().0.read(VAULT_KEY).unwrap().unwrap().len() * 8;
    // The read faults hit the one read; each write in turn fails; every third bit of the record is flipped.
    let plan: Vec<(Fault, usize)> = [Fault::FailRead, Fault::Truncate, Fault::Newer]
        .into_iter()
        .map(|f| (f, 1))
        .chain((1..=writes).map(|at| (Fault::FailWrite, at)))
        .chain(
            (0..record_bits)
                .step_by(3)
                .map(|bit| (Fault::FlipBit(bit), 1)),
        )
        .collect();
    let mut fired = BTreeMap::<&str, (usize, usize)>::new();
    for &(fault, at) in &plan {
        let (store, base) = baseline();
        let faulty = FaultStore::new(store, fault, at);
        let mut model = base.clone();
        let failures = scenario(&faulty, &mut model);
        assert_eq!(faulty.fired(), 1, "{fault:?} at {at} fired once");
        let kind = match fault {
            Fault::FlipBit(_) => "flipped bit",
            Fault::FailWrite => "failed write",
            Fault::FailRead => "failed read",
            Fault::Truncate => "truncated read",
            Fault::Newer => "newer version",
            Fault::None => unreachable!(),
        };
        let entry = fired.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += faulty.fired();
        // Exactly one operation failed, and with the fault's own error.
        match failures.as_slice() {
            [(operation, e)] => {
                assert_caused_by(fault, e);
                if fault == Fault::FailWrite {
                    assert_ne!(*operation, "open");
                } else {
                    assert_eq!(*operation, "open", "{fault:?}");
                    assert_eq!(model, base);
                }
            }
            other => panic!("{fault:?} at {at}: {other:?}"),
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
    let planned: usize = fired.values().map(|(p, _)| p).sum();
    let total: usize = fired.values().map(|(_, f)| f).sum();
    assert_eq!(total, planned);
    for (kind, (planned, fired)) in &fired {
        println!("faults: {kind}: {planned} planned, {fired} fired");
    }
    println!("faults: {total} of {planned} planned faults fired, each with its own error");
}
