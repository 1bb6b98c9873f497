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

/// A Google Authenticator account (OtpParameters) with `secret` and the name `name`.
fn account(secret: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0a];
    varint(&mut out, secret.len());
    out.extend_from_slice(secret);
    out.push(0x12);
    varint(&mut out, name.len());
    out.extend_from_slice(name);
    out.extend_from_slice(&[0x20, 1, 0x28, 1, 0x30, 2]);
    out
}

/// A record around `body`, the whole at most about `n` bytes (the body is cut to fit).
fn framed(mut body: Vec<u8>) -> Vec<u8> {
    body.truncate(fuzz::LARGE - 100);
    let mut out = format!(
        "softtoken-vault 1 sha256={}\n",
        softtoken_core::store::checksum(&body)
    )
    .into_bytes();
    out.extend(body);
    out
}

/// Large records of `shapes`, read by the record's reader.
fn read_records(name: &str, shapes: &[fuzz::Shape]) -> fuzz::Large {
    fuzz::run_large(name, shapes, |input| {
        let _ = Record::decode(input);
    })
}

/// An object with many keys: the hand-written reader this replaced compared every key with
/// all keys read before it, so its time grew with the square of the keys (a 256 KB record
/// took 7 s in a debug build, 1 MB 153 s). The record's reader must stay linear.
#[test]
fn json_objects_with_many_keys_are_read_in_linear_time() {
    let many_keys = |n: usize| {
        let mut body = String::from("{");
        let mut i = 0;
        while body.len() < n {
            body.push_str(&format!(r#""k{i}":0,"#));
            i += 1;
        }
        body.push_str(r#""tokens":[]}"#);
        framed(body.into_bytes())
    };
    read_records("record with many keys", &[("many keys", &many_keys)]);
}

fn varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A payload field 1 (an account) holding `inner`.
fn field(inner: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0a];
    varint(&mut out, inner.len());
    out.extend_from_slice(inner);
    out
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len() / 3 * 4 + 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Many accounts, each its own field, to about `n` bytes.
fn many_accounts(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut i = 0u32;
    while out.len() < n {
        let name = format!("user{i}");
        out.extend(field(&account(&i.to_be_bytes().repeat(3), name.as_bytes())));
        i += 1;
    }
    out
}

/// Every parser of outside input, fed inputs up to 1 MB of the shapes that make a parser slow
/// (long fields, many fields, repeated fields, deep nesting, escapes): each input is read or
/// refused within `fuzz::time_bound()`, and the time grows about linearly with the size.
#[test]
fn large_inputs_are_read_in_linear_time() {
    use fuzz::repeat_to;
    let uri = |prefix: &str, unit: &str, suffix: &str| {
        let (prefix, unit, suffix) = (prefix.to_string(), unit.to_string(), suffix.to_string());
        move |n: usize| {
            let mut out = prefix.clone().into_bytes();
            out.extend(repeat_to(unit.as_bytes(), n));
            out.extend_from_slice(suffix.as_bytes());
            out
        }
    };
    let label = uri("otpauth://totp/", "a%20b:", "?secret=JBSWY3DPEHPK3PXP");
    let secret = uri("otpauth://totp/x?secret=", "JBSWY3DP", "");
    let params = uri("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", "&image=x", "");
    let secrets = uri("otpauth://totp/x?", "secret=JBSWY3DPEHPK3PXP&", "");
    let percents = uri("otpauth://totp/", "%", "?secret=JBSWY3DPEHPK3PXP");
    let spaces = uri("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", "\u{3000}", "");
    let mut reports = vec![fuzz::run_large(
        "key-uri",
        &[
            ("long label", &label),
            ("long secret", &secret),
            ("many parameters", &params),
            ("repeated secret", &secrets),
            ("run of %", &percents),
            ("trailing wide spaces", &spaces),
        ],
        |input| {
            let _ = uri::parse_any(&text(input));
        },
    )];

    let huge_secret = |n: usize| field(&account(&vec![7u8; n], b"x"));
    let repeated_secret = |n: usize| {
        let one = account(b"0123456789", b"x");
        field(&repeat_to(&one[..12], n))
    };
    let unknown_fields = |n: usize| repeat_to(&[0x78, 0x81, 0x80, 0x80, 0x80, 0x01], n);
    let nested_lengths = |n: usize| repeat_to(&[0x0a, 0xff, 0xff, 0x3f], n);
    reports.push(fuzz::run_large(
        "migration-payload",
        &[
            ("many accounts", &many_accounts),
            ("one huge secret", &huge_secret),
            ("a secret field repeated", &repeated_secret),
            ("unknown fields", &unknown_fields),
            ("lengths past the end", &nested_lengths),
        ],
        |input| {
            let _ = decode_payload(input);
        },
    ));
    let data = |n: usize| {
        format!(
            "otpauth-migration://offline?data={}",
            base64(&many_accounts(n * 3 / 4))
        )
        .into_bytes()
    };
    let escaped = |n: usize| {
        format!(
            "otpauth-migration://offline?data={}",
            base64(&many_accounts(n / 4))
                .replace('+', "%2B")
                .replace('/', "%2F")
        )
        .into_bytes()
    };
    reports.push(fuzz::run_large(
        "migration-uri",
        &[("many accounts", &data), ("percent-encoded", &escaped)],
        |input| {
            let _ = uri::parse_any(&text(input));
        },
    ));

    let token = |i: usize| {
        format!(
            r#"{{"serial":"VSST{i:08}","foreign":true,"secret":"JBSWY3DPEHPK3PXP","params":{{"algorithm":"SHA1","digits":6,"kind":"totp","period":30}},"label":"x","origin":"imported","created":1}}"#
        )
    };
    let many_tokens = |n: usize| {
        let mut body = String::from(r#"{"tokens":["#);
        let mut i = 0;
        while body.len() < n {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&token(i));
            i += 1;
        }
        body.push_str("]}");
        framed(body.into_bytes())
    };
    let long_label = |n: usize| {
        let label = String::from_utf8(repeat_to(br#"\u00e9\n\""#, n)).unwrap();
        let one = token(1).replace(r#""label":"x""#, &format!(r#""label":"{label}""#));
        framed(format!(r#"{{"tokens":[{one}]}}"#).into_bytes())
    };
    let deep = |n: usize| framed(repeat_to(b"[", n));
    let garbage = |n: usize| {
        let mut r = softtoken_tests::Cases::new(n as u64);
        r.bytes(n)
    };
    let record_shapes: [fuzz::Shape; 4] = [
        ("many tokens", &many_tokens),
        ("a long escaped label", &long_label),
        ("deep nesting", &deep),
        ("random bytes", &garbage),
    ];
    reports.push(read_records("record", &record_shapes));
    let inputs: usize = reports.iter().map(|r| r.inputs).sum();
    let slowest = reports.iter().map(|r| r.slowest).max().unwrap_or_default();
    println!("fuzz: large inputs: {inputs} inputs up to 1 MB, slowest {slowest:?}");
}
