//! Every parser under a million mutated and random inputs (in an optimised
//! build; fewer in a debug one): no panic, and what parses round-trips.

use softtoken_core::store::Record;
use softtoken_core::uri::migration::{self, decode_payload};
use softtoken_core::uri::{self, KeyUri};
use softtoken_core::{base32, Issuer, ManualClock, MemoryStore, Prefix, Serial, Vault};
use softtoken_tests::fuzz;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn base32() {
    let seeds: &[&[u8]] = &[
        b"JBSWY3DPEHPK3PXP",
        b"jbsw y3dp ehpk 3pxp",
        b"MZXW6YQ=",
        b"IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN",
        b"GEZDGNBVGY3TQ-OJQ",
    ];
    fuzz::run("base32", seeds, |input| {
        if let Ok(bytes) = base32::decode(&text(input)) {
            assert_eq!(base32::decode(&base32::encode(&bytes)).unwrap(), bytes);
        }
    });
}

#[test]
fn serial() {
    let ours = Serial::from_parts(Prefix::ANDROID, 1_234_567).grouped();
    let seeds: &[&[u8]] = &[
        ours.as_bytes(),
        b"ssta-1234-5671",
        b"SYMC26070843",
        "ＳＳＴＡ１２３４５６７１".as_bytes(),
        b"VSST 1234 5678",
    ];
    fuzz::run("serial", seeds, |input| {
        let typed = text(input);
        if let Ok(s) = Serial::parse(&typed) {
            assert_eq!(Serial::parse(&s.grouped()).unwrap(), s);
            assert!(s.matches_input(&typed));
        }
        if let Ok(s) = Serial::foreign(&typed) {
            assert_eq!(s.as_str(), typed.trim());
        }
    });
}

#[test]
fn key_uri() {
    let seeds: &[&[u8]] = &[
        b"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
        b"otpauth://hotp/a%3Ab?secret=JBSWY3DPEHPK3PXP&counter=42&digits=8&algorithm=SHA512",
        b"otpauth://totp/VIP%20Access:SYMC26070843?secret=IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN&image=https%3A%2F%2Fx%2Fy.png&period=30",
        b"otpauth://totp/ACME%20Co:john?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=60",
    ];
    fuzz::run("key-uri", seeds, |input| {
        if let Ok(key) = KeyUri::parse(&text(input)) {
            let again = KeyUri::parse(&key.to_uri()).unwrap();
            assert_eq!(again.secret, key.secret);
            assert_eq!(again.params, key.params);
        }
    });
}

#[test]
fn migration_payload() {
    let real = b"otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZSABKAEwAhABGAEgAA%3D%3D";
    let payload = [
        10u8, 49, 10, 10, 72, 101, 108, 108, 111, 33, 222, 173, 190, 239, 18, 24, 69, 120, 97, 109,
        112, 108, 101, 58, 97, 108, 105, 99, 101, 64, 103, 111, 111, 103, 108, 101, 46, 99, 111,
        109, 26, 7, 69, 120, 97, 109, 112, 108, 101, 32, 1, 40, 1, 48, 2, 16, 1, 24, 1, 32, 0,
    ];
    fuzz::run("migration-payload", &[&payload, &payload[..20]], |input| {
        if let Ok(accounts) = decode_payload(input) {
            if let Ok(uri) = migration::encode_uri(&accounts) {
                assert_eq!(uri::parse_any(&uri).unwrap(), accounts);
            }
        }
    });
    fuzz::run("migration-uri", &[real], |input| {
        let _ = uri::parse_any(&text(input));
    });
}

#[test]
fn stored_record() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(1_700_000_000);
    let mut vault = Vault::open(&store, &clock, Issuer::new(Prefix::DESKTOP)).unwrap();
    vault.issue().unwrap();
    vault
        .import_uri("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=3")
        .unwrap();
    let bytes = softtoken_core::SecureStore::read(&store, softtoken_core::vault::VAULT_KEY)
        .unwrap()
        .unwrap();
    // The body alone too, with a checksum made to fit each mutation, so the JSON reader is reached.
    let body_at = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    let body = bytes[body_at..].to_vec();
    fuzz::run("record", &[&bytes], |input| {
        if let Ok(record) = Record::decode(input) {
            assert_eq!(Record::decode(&record.encode()).unwrap(), record);
        }
    });
    fuzz::run("record-body", &[&body], |input| {
        use sha2_hex::hex_sha256;
        let mut framed = format!("softtoken-vault 1 sha256={}\n", hex_sha256(input)).into_bytes();
        framed.extend_from_slice(input);
        if let Ok(record) = Record::decode(&framed) {
            assert_eq!(Record::decode(&record.encode()).unwrap(), record);
        }
    });
}

/// SHA-256 in hex, for framing fuzzed record bodies (via the record's own encoder's format).
mod sha2_hex {
    pub fn hex_sha256(bytes: &[u8]) -> String {
        softtoken_core::store::checksum(bytes)
    }
}
