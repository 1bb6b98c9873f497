//! Secrets never leak: Debug, Display and every error of every type that holds
//! or touched a secret, and the desktop's output, never contain it; and no
//! buffer that held a secret goes back to the allocator unwiped. That last is
//! watched by a global allocator that zeroes every block as it is allocated and
//! scans every block as it is freed (and the old block of every reallocation,
//! which the default `realloc` frees through `dealloc`) for the needles a test
//! watches, while the call under test runs on this thread. A buffer that is
//! wiped before it is freed (`Zeroizing`) passes; one that grew after the
//! secret was in it, or was dropped without a wipe, is found. (A global
//! allocator is unsafe to implement: this test file allows it; the product
//! itself has no `unsafe`.)
#![allow(unsafe_code)]

use softtoken_core::directory::{self, MemoryDirectory};
use softtoken_core::issuer::Credential;
use softtoken_core::otp::{Algorithm, Digits, Mode, OtpKey, OtpParams, Totp};
use softtoken_core::store::{Record, Settings};
use softtoken_core::token::{Origin, Token};
use softtoken_core::uri::{self, migration, KeyUri};
use softtoken_core::vault::VAULT_KEY;
use softtoken_core::{
    Issuer, ManualClock, MemoryLedger, MemoryStore, Policy, Prefix, Secret, SecureStore, Serial,
    Vault, Verifier,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

const SECRET: &str = "IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN";

/// The secret's bytes (SECRET decoded).
const RAW: [u8; 20] = [
    66, 128, 148, 16, 171, 20, 179, 160, 98, 182, 46, 160, 143, 95, 110, 10, 97, 93, 226, 173,
];

fn secret() -> Secret {
    Secret::from_base32(SECRET).unwrap()
}

/// Every spelling of the secret that would betray it.
fn forms() -> Vec<String> {
    let secret = Secret::from_base32(SECRET).unwrap();
    let bytes = secret.expose();
    vec![
        SECRET.to_string(),
        SECRET.to_lowercase(),
        SECRET[..16].to_string(),
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
        format!("{bytes:?}"),
        String::from_utf8_lossy(bytes).into_owned(),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for form in forms() {
        assert!(
            !text.contains(&form),
            "{what} shows the secret ({form}): {text}"
        );
    }
}

#[test]
fn debug_display_and_errors_never_show_the_secret() {
    let secret = Secret::from_base32(SECRET).unwrap();
    let uri = format!("otpauth://totp/VIP%20Access:SYMC26070843?secret={SECRET}");
    let key = KeyUri::parse(&uri).unwrap();
    let credential = Credential::try_from(key.clone()).unwrap();
    let mut shown = vec![
        format!("{secret:?}"),
        format!("{secret}"),
        format!("{key:?}"),
        format!("{credential:?}"),
        format!("{:?}", OtpKey::new(&secret, Algorithm::Sha1)),
        format!(
            "{:?}",
            Totp::new(&secret, Algorithm::Sha1, Digits::SIX, 30).unwrap()
        ),
    ];
    let store = MemoryStore::new();
    let clock = ManualClock::new(1_700_000_000);
    let mut vault = Vault::open(&store, &clock, Issuer::new(Prefix::DESKTOP)).unwrap();
    vault.import_uri(&uri).unwrap();
    shown.push(format!("{vault:?}"));
    shown.push(format!("{:?}", vault.tokens()));
    shown.push(format!("{:?}", vault.code("SYMC26070843").unwrap()));
    let record = Record::decode(&store.read(VAULT_KEY).unwrap().unwrap()).unwrap();
    shown.push(format!("{:?}", record.tokens));
    // Errors from operations on secret-bearing input.
    let errors = [
        vault.import_uri(&uri).unwrap_err().to_string(),
        vault
            .import_uri(&format!("otpauth://totp/x?secret={SECRET}&digits=9"))
            .unwrap_err()
            .to_string(),
        vault
            .import_uri(&format!("otpauth://totp/x?secret={SECRET}&secret={SECRET}"))
            .unwrap_err()
            .to_string(),
        vault
            .import_uri(&format!("otpauth://totp/x?secret={}!", &SECRET[..20]))
            .unwrap_err()
            .to_string(),
        vault
            .import_uri(&format!("otpauth://hotp/x?secret={SECRET}"))
            .unwrap_err()
            .to_string(),
        vault
            .import_uri(&format!("otpauth://totp/x?secret={SECRET}&period=0"))
            .unwrap_err()
            .to_string(),
        vault
            .import_uri(&format!("otpauth://totp/x%ZZ?secret={SECRET}"))
            .unwrap_err()
            .to_string(),
        Secret::from_base32(&SECRET[..14]).unwrap_err().to_string(),
        Secret::from_base32(&format!("{}0", &SECRET[..20]))
            .unwrap_err()
            .to_string(),
        Record::decode(&store.read(VAULT_KEY).unwrap().unwrap()[..200])
            .unwrap_err()
            .to_string(),
        directory::issue(&MemoryDirectory::new(), &Issuer::new(Prefix::ANDROID))
            .map(|c| format!("{c:?}"))
            .unwrap(),
    ];
    shown.extend(errors.iter().cloned());
    shown.extend(errors.iter().map(|e| format!("{e:?}")));
    let dir = Arc::new(MemoryDirectory::new());
    softtoken_core::Directory::add(dir.as_ref(), credential.clone()).unwrap();
    shown.push(format!(
        "{:?}",
        softtoken_core::Directory::lookup(dir.as_ref(), "SYMC26070843").unwrap()
    ));
    let verifier = Verifier::new(
        dir,
        Arc::new(MemoryLedger::new()),
        Arc::new(ManualClock::new(0)),
        Policy::default(),
    );
    shown.push(format!("{verifier:?}"));
    for (i, text) in shown.iter().enumerate() {
        assert_clean(&format!("rendering {i}"), text);
    }
}

struct Scanning;

/// At most this many needles are watched at once.
const NEEDLES: usize = 3;

thread_local! {
    /// The needles watched on this thread, as (address, length); length 0 is unused.
    static WATCHED: Cell<[(usize, usize); NEEDLES]> = const { Cell::new([(0, 0); NEEDLES]) };
    /// Freed blocks that held a needle since the watch began.
    static FOUND: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Every block starts zeroed, so that what a freed block holds was written by its
        // user, not left over from a block freed unwiped before (on any thread).
        // SAFETY: forwards to the system allocator with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Not while the thread's storage is being torn down.
        let _ = WATCHED.try_with(|watched| {
            for (at, len) in watched.get() {
                if len == 0 || layout.size() < len {
                    continue;
                }
                // SAFETY: the block is still allocated (it is freed below), has
                // `layout.size()` bytes, and each was written (zeroed at allocation).
                let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
                // SAFETY: the needle is a slice the watching test keeps alive.
                let needle = unsafe { std::slice::from_raw_parts(at as *const u8, len) };
                if block.windows(len).any(|w| w == needle) {
                    let _ = FOUND.try_with(|n| n.set(n.get() + 1));
                    // A block is counted once, however many needles it holds.
                    break;
                }
            }
        });
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    // `realloc` is the trait's own: a new block, a copy, then `dealloc` of the old one, scanned.
}

#[global_allocator]
static GLOBAL: Scanning = Scanning;

/// Runs `call` and counts the blocks freed meanwhile that held one of `needles`.
/// The result is dropped after the watch ends.
fn freed_copies<T>(needles: &[&[u8]], call: impl FnOnce() -> T) -> usize {
    assert!(needles.len() <= NEEDLES);
    let mut watched = [(0, 0); NEEDLES];
    for (slot, needle) in watched.iter_mut().zip(needles) {
        *slot = (needle.as_ptr() as usize, needle.len());
    }
    FOUND.with(|n| n.set(0));
    WATCHED.with(|w| w.set(watched));
    let result = call();
    WATCHED.with(|w| w.set([(0, 0); NEEDLES]));
    drop(result);
    FOUND.with(Cell::get)
}

/// A named path a secret passes through.
type Path<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// How many blocks freed while `work` ran (and dropped all it made) still held the secret:
/// its base32 text or its bytes, or the first 10 bytes of either (a copy cut short still
/// betrays it).
fn unwiped_frees(work: impl FnOnce()) -> usize {
    freed_copies(&[&SECRET.as_bytes()[..10], &RAW[..10]], work)
}

/// The detector can fail: a plain `String` that grows past the secret, and one dropped
/// unwiped, are both caught.
#[test]
fn the_search_finds_an_unwiped_copy() {
    let grown = unwiped_frees(|| {
        let mut text = String::with_capacity(SECRET.len());
        text.push_str(SECRET);
        text.push_str(&"x".repeat(100));
        drop(zeroize::Zeroizing::new(text));
    });
    assert_eq!(grown, 1, "the buffer left behind by growth");
    assert_eq!(unwiped_frees(|| drop(RAW.to_vec())), 1);
    // A copy cut short still betrays the secret.
    assert_eq!(unwiped_frees(|| drop(RAW[..10].to_vec())), 1);
    assert_eq!(
        unwiped_frees(|| drop(zeroize::Zeroizing::new(RAW.to_vec()))),
        0
    );
}

#[test]
fn the_scanner_finds_a_copy_left_behind() {
    let needle = SECRET.as_bytes();
    // A buffer dropped with the secret in it.
    assert_eq!(freed_copies(&[needle], || drop(SECRET.to_string())), 1);
    // A buffer that grows after the secret was written to it: the old block is freed unwiped.
    let grown = freed_copies(&[needle], || {
        let mut text = zeroize::Zeroizing::new(String::with_capacity(SECRET.len()));
        text.push_str(SECRET);
        text.push_str("&issuer=VIP%20Access");
        text
    });
    assert_eq!(grown, 1);
    // The same, sized first: nothing.
    let sized = freed_copies(&[needle], || {
        let mut text = zeroize::Zeroizing::new(String::with_capacity(SECRET.len() + 20));
        text.push_str(SECRET);
        text.push_str("&issuer=VIP%20Access");
        text
    });
    assert_eq!(sized, 0);
    // A block is counted once, however many of the watched needles it holds.
    let both = [SECRET.as_bytes(), &SECRET.as_bytes()[..10]];
    assert_eq!(freed_copies(&both, || drop(SECRET.to_string())), 1);
}

/// Every path of the core that a secret passes through, on the owner's side, frees nothing
/// that still holds it: reading a key URI, a base32 secret, importing (one URI, a batch),
/// the stored record written and read back, codes, the export URI.
#[test]
fn no_buffer_is_freed_holding_the_secret() {
    let uri = format!("otpauth://totp/Example:alice?secret={SECRET}&issuer=Example");
    let paths: Vec<Path> = vec![
        (
            "Secret::from_base32",
            Box::new(|| drop(Secret::from_base32(SECRET).unwrap())),
        ),
        (
            "Secret::to_base32",
            Box::new(|| drop(Secret::from_base32(SECRET).unwrap().to_base32())),
        ),
        (
            "KeyUri::parse",
            Box::new(|| drop(KeyUri::parse(&uri).unwrap())),
        ),
        (
            "Vault::import_uri, code, reopen",
            Box::new(|| {
                let store = MemoryStore::new();
                let clock = ManualClock::new(1_700_000_000);
                let mut vault = Vault::open(&store, &clock, Issuer::new(Prefix::DESKTOP)).unwrap();
                let serial = vault.import_uri(&uri).unwrap().remove(0).serial;
                vault.code(serial.as_str()).unwrap();
                drop(vault);
                let again = Vault::open(&store, &clock, Issuer::new(Prefix::DESKTOP)).unwrap();
                assert_eq!(again.tokens().len(), 1);
                drop(again);
                // The store's own copy is the host's to keep (wiped or not is the host's store).
                let record = store.read(VAULT_KEY).unwrap().unwrap();
                drop(zeroize::Zeroizing::new(record));
            }),
        ),
        (
            "Vault::import_lines",
            Box::new(|| {
                let store = MemoryStore::new();
                let clock = ManualClock::new(1_700_000_000);
                let mut vault = Vault::open(&store, &clock, Issuer::new(Prefix::DESKTOP)).unwrap();
                vault
                    .import_lines([
                        uri.as_str(),
                        "otpauth://steam/x?secret=JBSWY3DPEHPK3PXP",
                        uri.as_str(),
                    ])
                    .unwrap();
                drop(vault);
                drop(zeroize::Zeroizing::new(
                    store.read(VAULT_KEY).unwrap().unwrap(),
                ));
            }),
        ),
        (
            "Vault::export_uri",
            Box::new(|| {
                let store = MemoryStore::new();
                let clock = ManualClock::new(1_700_000_000);
                let mut vault = Vault::open(&store, &clock, Issuer::new(Prefix::DESKTOP)).unwrap();
                let serial = vault.import_uri(&uri).unwrap().remove(0).serial;
                drop(vault.export_uri(serial.as_str()).unwrap());
                drop(vault);
                drop(zeroize::Zeroizing::new(
                    store.read(VAULT_KEY).unwrap().unwrap(),
                ));
            }),
        ),
    ];
    assert_all_wiped(&paths);
}

/// Runs each path and names those that freed a block still holding the secret.
fn assert_all_wiped(paths: &[Path]) {
    let mut leaking = Vec::new();
    for (name, path) in paths {
        let leaks = unwiped_frees(path);
        if leaks > 0 {
            leaking.push(format!("{name}: {leaks}"));
        }
    }
    assert!(leaking.is_empty(), "freed unwiped: {leaking:?}");
}

/// The key-URI writer and the export format (issue 17): a VIP-style URI's buffer grows after
/// the secret is written, the export's percent-encoding and a repeated secret field in a
/// migration payload left copies before they were sized up front.
#[test]
fn key_uri_writing_and_the_export_format_free_nothing_unwiped() {
    let uri = format!("otpauth://totp/Example:alice?secret={SECRET}&issuer=Example");
    // Made here, outside the path under test: this test's own copy of the secret.
    let vip = format!("otpauth://totp/VIP%20Access:SYMC26070843?secret={SECRET}&issuer=Symantec");
    let paths: Vec<Path> = vec![
        (
            "KeyUri::to_uri (VIP-style)",
            Box::new(|| {
                drop(KeyUri::parse(&vip).unwrap().to_uri());
            }),
        ),
        (
            "migration::encode_uri",
            Box::new(|| {
                let key = KeyUri::parse(&uri).unwrap();
                drop(softtoken_core::uri::migration::encode_uri(&[key.clone(), key]).unwrap());
            }),
        ),
        (
            "migration::decode_payload (the secret field twice)",
            Box::new(|| {
                // Made at their final size, so that this test's own buffers never grow.
                let mut params = Vec::with_capacity(64);
                params.extend_from_slice(&[0x0a, 20]);
                params.extend_from_slice(&RAW);
                params.extend_from_slice(&[0x0a, 20]);
                params.extend_from_slice(&RAW);
                params.extend_from_slice(&[0x12, 1, b'x', 0x20, 1, 0x28, 1, 0x30, 2]);
                let mut payload = Vec::with_capacity(80);
                payload.extend_from_slice(&[0x0a, params.len() as u8]);
                payload.extend_from_slice(&params);
                let decoded = softtoken_core::uri::migration::decode_payload(&payload);
                drop(decoded);
                drop(zeroize::Zeroizing::new(params));
                drop(zeroize::Zeroizing::new(payload));
            }),
        ),
    ];
    assert_all_wiped(&paths);
}

/// A VIP-style key: the secret with a long issuer and account.
fn vip_key() -> KeyUri {
    KeyUri::new(
        secret(),
        OtpParams::default(),
        Some("VIP Access".into()),
        "SYMC26070843".into(),
    )
    .unwrap()
}

#[test]
fn key_uris_leave_no_copy() {
    let key = vip_key();
    let raw = key.secret.expose().to_vec();
    // Writing a VIP-style URI (longer than the 128 bytes once reserved).
    assert_eq!(freed_copies(&[SECRET.as_bytes()], || key.to_uri()), 0);
    // Reading one back, in lower case with spaces as people type it.
    let text = key
        .to_uri()
        .replace(SECRET, "ikaj iefl csz2 ayvw f2qi 6x3o bjqv 3yvn");
    let lower = SECRET.to_lowercase();
    assert_eq!(
        freed_copies(&[&raw, lower.as_bytes()], || KeyUri::parse(&text).unwrap()),
        0
    );
    assert_eq!(
        freed_copies(&[&raw, SECRET.as_bytes()], || Secret::from_base32(SECRET)),
        0
    );
}

/// A Google Authenticator export with the secret field given twice.
fn repeated_secret_export(first: &[u8], second: &[u8]) -> String {
    let field = |out: &mut Vec<u8>, number: u8, bytes: &[u8]| {
        out.push(number << 3 | 2);
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    };
    let mut account = Vec::new();
    field(&mut account, 1, first);
    field(&mut account, 2, b"alice@example.com");
    field(&mut account, 1, second);
    let mut payload = Vec::new();
    field(&mut payload, 1, &account);
    // Base64 of the payload, then percent-encoded as a URI carries it.
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut data = String::new();
    for chunk in payload.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            data.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    let data = data.replace('+', "%2B").replace('/', "%2F");
    format!("otpauth-migration://offline?data={data}")
}

#[test]
fn exports_leave_no_copy() {
    let first = b"first secret, replaced";
    let second = b"second secret, the one kept";
    let export = repeated_secret_export(first, second);
    let accounts = uri::parse_any(&export).unwrap();
    assert_eq!(accounts[0].secret.expose(), second);
    assert_eq!(
        freed_copies(&[first, second], || uri::parse_any(&export).unwrap()),
        0
    );

    // Writing an export: payload, base64 and percent-encoding.
    let keys: Vec<KeyUri> = (0..8u8)
        .map(|i| {
            let mut key = vip_key();
            key.account = format!("account {i}");
            key
        })
        .collect();
    let written = migration::encode_uri(&keys).unwrap();
    let data = written.split_once("data=").unwrap().1;
    let raw = keys[0].secret.expose().to_vec();
    assert_eq!(
        freed_copies(&[&raw, &data.as_bytes()[..32]], || migration::encode_uri(
            &keys
        )
        .unwrap()),
        0
    );
}

#[test]
fn records_leave_no_copy() {
    let token = |i: u32| Token {
        serial: Serial::foreign(&format!("SYMC{:08}", 26_070_843 + i)).unwrap(),
        secret: secret(),
        params: OtpParams {
            algorithm: Algorithm::Sha256,
            digits: Digits::new(8).unwrap(),
            mode: Mode::Hotp { counter: 7 },
        },
        label: format!("account {i}"),
        issuer: Some("VIP Access".into()),
        origin: Origin::Imported,
        created: 1_700_000_000,
    };
    let record = Record {
        tokens: (0..40).map(token).collect(),
        issued: vec![],
        settings: Settings { clock_offset: 3 },
    };
    let raw = secret().expose().to_vec();
    assert_eq!(freed_copies(&[SECRET.as_bytes()], || record.encode()), 0);
    let bytes = record.encode();
    assert_eq!(
        freed_copies(&[&raw, SECRET.as_bytes()], || Record::decode(&bytes)
            .unwrap()),
        0
    );
}
