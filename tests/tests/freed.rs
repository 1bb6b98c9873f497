//! No copy of a secret is left in freed memory: a global allocator scans every
//! block as it is freed (and the old block of every reallocation, which the
//! default `realloc` frees through `dealloc`) for the secret, while a call under
//! test runs on this thread. Every block is zeroed when it is allocated, so
//! every byte scanned has been written. A buffer that is wiped before it is
//! freed (`Zeroizing`) passes; one that grew after the secret was in it, or
//! was dropped without a wipe, is found. (A global allocator is unsafe to
//! implement: this test file alone allows it.)
#![allow(unsafe_code)]

use softtoken_core::otp::{Algorithm, Digits, Mode, OtpParams};
use softtoken_core::store::{Record, Settings};
use softtoken_core::token::{Origin, Token};
use softtoken_core::uri::{self, migration, KeyUri};
use softtoken_core::{Secret, Serial};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

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
                }
            }
        });
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
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

const SECRET: &str = "IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN";

fn secret() -> Secret {
    Secret::from_base32(SECRET).unwrap()
}

fn vip() -> KeyUri {
    KeyUri::new(
        secret(),
        OtpParams::default(),
        Some("VIP Access".into()),
        "SYMC26070843".into(),
    )
    .unwrap()
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
}

#[test]
fn key_uris_leave_no_copy() {
    let key = vip();
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
            let mut key = vip();
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
