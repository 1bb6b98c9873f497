//! The host's storage hook and the versioned record the core keeps in it.
//!
//! A record is one header line and a JSON body:
//! `softtoken-vault 1 sha256=<hex of the body>\n{...}`. The checksum catches
//! truncation and flipped bits; the version lets a newer app's record be
//! refused untouched instead of misread. The body is mapped field by field
//! here, with every unknown or missing field named in the error.

use crate::json::{self, Value};
use crate::otp::{Algorithm, Digits, Mode, OtpParams};
use crate::secret::Secret;
use crate::serial::{Serial, SerialKind};
use crate::token::{Origin, Token};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use thiserror::Error;
use zeroize::Zeroizing;

/// The host's storage failed; the message is the host's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the secure store failed: {0}")]
pub struct StoreError(pub String);

/// Bytes under a key, kept by the host (Keychain, Android Keystore, a file).
///
/// `write` must replace the value atomically: after a failed write the old
/// value is still there (a file store writes a temporary file and renames it).
pub trait SecureStore: Send + Sync {
    /// The bytes stored under `key`, or `None` when there are none.
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` under `key`, replacing what was there.
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key` (no error when it is absent).
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// A store behind a pointer is the store it points to.
macro_rules! forward_store {
    ($($pointer:ty),*) => {$(
        impl<S: SecureStore + ?Sized> SecureStore for $pointer {
            fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
                (**self).read(key)
            }
            fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
                (**self).write(key, value)
            }
            fn delete(&self, key: &str) -> Result<(), StoreError> {
                (**self).delete(key)
            }
        }
    )*};
}

forward_store!(std::sync::Arc<S>, &S, Box<S>);

/// A store in memory, for tests and for trying things out.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Zeroizing<Vec<u8>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Zeroizing<Vec<u8>>>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SecureStore for MemoryStore {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries().get(key).map(|v| v.to_vec()))
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.entries()
            .insert(key.to_string(), Zeroizing::new(value.to_vec()));
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.entries().remove(key);
        Ok(())
    }
}

/// The record format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &str = "softtoken-vault";

/// Why a stored record could not be read. The stored bytes are never changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    /// The bytes are not a softtoken record at all.
    #[error("the stored data is not a softtoken vault; it was left untouched (move it aside to start a new vault)")]
    Foreign,
    /// A record written by a newer softtoken.
    #[error("the stored vault has format version {found}, newer than this softtoken reads ({supported}); update softtoken, the vault was left untouched")]
    NewerVersion {
        /// The record's version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// Truncated, bit-flipped or otherwise damaged.
    #[error("the stored vault is damaged ({0}); it was left untouched: restore it from a backup or move it aside to start a new vault")]
    Corrupt(String),
}

/// Device settings kept with the tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Seconds added to the device clock (either sign); 0 when absent.
    pub clock_offset: i64,
}

/// Everything a vault persists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The tokens, in the order they were added.
    pub tokens: Vec<Token>,
    /// Every serial ever issued on this device, so none is issued twice; empty when absent.
    pub issued: Vec<String>,
    /// Settings.
    pub settings: Settings,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The record checksum of a body: SHA-256 in lower-case hex.
pub fn checksum(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

impl Record {
    /// The record's bytes (with secrets inside: wiped when dropped).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let body = self.to_json().to_pretty();
        let mut out = Zeroizing::new(Vec::with_capacity(body.len() + 96));
        out.extend_from_slice(
            format!("{MAGIC} {FORMAT_VERSION} sha256={}\n", checksum(&body)).as_bytes(),
        );
        out.extend_from_slice(&body);
        out
    }

    /// Reads a record, refusing foreign, newer and damaged bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let newline = bytes.iter().position(|b| *b == b'\n');
        let header = std::str::from_utf8(&bytes[..newline.unwrap_or(bytes.len())])
            .map_err(|_| RecordError::Foreign)?;
        let mut words = header.split(' ');
        if words.next() != Some(MAGIC) {
            return Err(RecordError::Foreign);
        }
        let version: u32 = words
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| RecordError::Corrupt("the header has no version".into()))?;
        if version > FORMAT_VERSION {
            return Err(RecordError::NewerVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(RecordError::Corrupt("version 0 does not exist".into()));
        }
        let want = words
            .next()
            .and_then(|w| w.strip_prefix("sha256="))
            .ok_or_else(|| RecordError::Corrupt("the header has no checksum".into()))?;
        let newline =
            newline.ok_or_else(|| RecordError::Corrupt("cut short after the header".into()))?;
        let body = &bytes[newline + 1..];
        if checksum(body) != want {
            return Err(RecordError::Corrupt(
                "checksum mismatch: cut short or altered".into(),
            ));
        }
        let value =
            json::parse(body).map_err(|e| RecordError::Corrupt(format!("unreadable body: {e}")))?;
        Self::from_json(value).map_err(|e| RecordError::Corrupt(format!("unreadable body: {e}")))
    }

    fn to_json(&self) -> Value {
        Value::object([
            (
                "tokens",
                Value::Array(self.tokens.iter().map(token_to_json).collect()),
            ),
            (
                "issued",
                Value::Array(self.issued.iter().map(|s| Value::string(s)).collect()),
            ),
            (
                "settings",
                Value::object([(
                    "clock_offset",
                    Value::Number(self.settings.clock_offset.into()),
                )]),
            ),
        ])
    }

    fn from_json(value: Value) -> Result<Self, String> {
        let mut fields = Fields::of(value, "the body")?;
        let tokens = array(fields.required("tokens")?, "tokens")?
            .into_iter()
            .enumerate()
            .map(|(i, t)| token_from_json(t).map_err(|e| format!("tokens[{i}]: {e}")))
            .collect::<Result<_, _>>()?;
        let issued = match fields.take("issued") {
            Some(list) => array(list, "issued")?
                .into_iter()
                .map(|s| text(s, "issued").map(|s| s.to_string()))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let settings = match fields.take("settings") {
            Some(value) => {
                let mut settings = Fields::of(value, "settings")?;
                let clock_offset = match settings.take("clock_offset") {
                    Some(n) => signed(n, "settings.clock_offset")?,
                    None => 0,
                };
                settings.finish("settings")?;
                Settings { clock_offset }
            }
            None => Settings::default(),
        };
        fields.finish("the body")?;
        Ok(Record {
            tokens,
            issued,
            settings,
        })
    }
}

fn token_to_json(token: &Token) -> Value {
    let mut fields = vec![("serial", Value::string(token.serial.as_str()))];
    if token.serial.kind() == SerialKind::Foreign {
        fields.push(("foreign", Value::Bool(true)));
    }
    fields.push(("secret", Value::String(token.secret.to_base32())));
    fields.push(("params", params_to_json(&token.params)));
    fields.push(("label", Value::string(&token.label)));
    if let Some(issuer) = &token.issuer {
        fields.push(("issuer", Value::string(issuer)));
    }
    let origin = match token.origin {
        Origin::Issued => "issued",
        Origin::Imported => "imported",
        Origin::Service => "service",
    };
    fields.push(("origin", Value::string(origin)));
    fields.push(("created", Value::Number(token.created.into())));
    Value::object(fields)
}

fn token_from_json(value: Value) -> Result<Token, String> {
    let mut fields = Fields::of(value, "a token")?;
    let serial = text(fields.required("serial")?, "serial")?;
    let kind = match fields.take("foreign") {
        Some(Value::Bool(true)) => SerialKind::Foreign,
        Some(Value::Bool(false)) | None => SerialKind::Checked,
        Some(_) => return Err("foreign is not true or false".into()),
    };
    let serial = Serial::restore(&serial, kind).map_err(|e| format!("serial: {e}"))?;
    let secret = Secret::from_base32(&text(fields.required("secret")?, "secret")?)
        .map_err(|e| format!("secret: {e}"))?;
    let params = params_from_json(fields.required("params")?)?;
    let label = text(fields.required("label")?, "label")?.to_string();
    let issuer = match fields.take("issuer") {
        Some(Value::Null) | None => None,
        Some(value) => Some(text(value, "issuer")?.to_string()),
    };
    let origin = match text(fields.required("origin")?, "origin")?.as_str() {
        "issued" => Origin::Issued,
        "imported" => Origin::Imported,
        "service" => Origin::Service,
        _ => return Err("origin is not issued, imported or service".into()),
    };
    let created = unsigned(fields.required("created")?, "created")?;
    fields.finish("a token")?;
    Ok(Token {
        serial,
        secret,
        params,
        label,
        issuer,
        origin,
        created,
    })
}

fn params_to_json(params: &OtpParams) -> Value {
    let (kind, name, n) = match params.mode {
        Mode::Totp { period } => ("totp", "period", period),
        Mode::Hotp { counter } => ("hotp", "counter", counter),
    };
    Value::object([
        ("algorithm", Value::string(params.algorithm.name())),
        (
            "digits",
            Value::Number(u64::from(params.digits.get()).into()),
        ),
        ("kind", Value::string(kind)),
        (name, Value::Number(n.into())),
    ])
}

fn params_from_json(value: Value) -> Result<OtpParams, String> {
    let mut fields = Fields::of(value, "params")?;
    let algorithm = match text(fields.required("algorithm")?, "params.algorithm")?.as_str() {
        "SHA1" => Algorithm::Sha1,
        "SHA256" => Algorithm::Sha256,
        "SHA512" => Algorithm::Sha512,
        _ => return Err("params.algorithm is not SHA1, SHA256 or SHA512".into()),
    };
    let digits = Digits::new(unsigned(fields.required("digits")?, "params.digits")?)
        .map_err(|e| format!("params.digits: {e}"))?;
    let params = match text(fields.required("kind")?, "params.kind")?.as_str() {
        "totp" => {
            let period = unsigned(fields.required("period")?, "params.period")?;
            OtpParams::totp(algorithm, digits, period).map_err(|e| format!("params.period: {e}"))?
        }
        "hotp" => {
            let counter = unsigned(fields.required("counter")?, "params.counter")?;
            OtpParams::hotp(algorithm, digits, counter)
        }
        _ => return Err("params.kind is neither totp nor hotp".into()),
    };
    fields.finish("params")?;
    Ok(params)
}

/// An object's fields as they are read: each taken once, any left over unknown.
struct Fields(Vec<(String, Value)>);

impl Fields {
    fn of(value: Value, what: &str) -> Result<Self, String> {
        match value {
            Value::Object(fields) => Ok(Fields(fields)),
            _ => Err(format!("{what} is not an object")),
        }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.swap_remove(at).1)
    }

    fn required(&mut self, key: &str) -> Result<Value, String> {
        self.take(key)
            .ok_or_else(|| format!("missing field `{key}`"))
    }

    fn finish(self, what: &str) -> Result<(), String> {
        match self.0.first() {
            Some((key, _)) => Err(format!("unknown field `{key}` in {what}")),
            None => Ok(()),
        }
    }
}

fn text(value: Value, what: &str) -> Result<Zeroizing<String>, String> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(format!("{what} is not a string")),
    }
}

fn array(value: Value, what: &str) -> Result<Vec<Value>, String> {
    match value {
        Value::Array(items) => Ok(items),
        _ => Err(format!("{what} is not a list")),
    }
}

fn unsigned(value: Value, what: &str) -> Result<u64, String> {
    match value {
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
    .ok_or_else(|| format!("{what} is not a whole number from 0 to {}", u64::MAX))
}

fn signed(value: Value, what: &str) -> Result<i64, String> {
    match value {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "{what} is not a whole number from {} to {}",
            i64::MIN,
            i64::MAX
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::Prefix;
    use proptest::prelude::*;

    fn record() -> Record {
        Record {
            tokens: vec![
                Token {
                    serial: Serial::from_parts(Prefix::ANDROID, 1234567),
                    secret: Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap(),
                    params: OtpParams::default(),
                    label: "SSTA12345678".into(),
                    issuer: Some("softtoken".into()),
                    origin: Origin::Issued,
                    created: 1_700_000_000,
                },
                Token {
                    serial: Serial::foreign("SYMC26070843").unwrap(),
                    secret: Secret::from_base32("IKAJIEFLCSZ2AYVWF2QI6X3OBJQV3YVN").unwrap(),
                    params: OtpParams::default(),
                    label: "SYMC26070843".into(),
                    issuer: Some("VIP Access".into()),
                    origin: Origin::Imported,
                    created: 1_700_000_001,
                },
            ],
            issued: vec!["SSTA12345678".into()],
            settings: Settings { clock_offset: -7 },
        }
    }

    #[test]
    fn round_trip_and_inspectable() {
        let r = record();
        let bytes = r.encode();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("softtoken-vault 1 sha256="));
        assert!(text.contains("\"foreign\": true"));
        assert_eq!(Record::decode(&bytes).unwrap(), r);
    }

    #[test]
    fn damage_is_a_typed_error() {
        let bytes = record().encode();
        for cut in [0, 10, 30, bytes.len() / 2, bytes.len() - 1] {
            let e = Record::decode(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(e, RecordError::Corrupt(_) | RecordError::Foreign),
                "cut {cut}: {e:?}"
            );
        }
        let mut flipped = bytes.to_vec();
        let at = flipped.len() - 20;
        flipped[at] ^= 1;
        assert!(matches!(
            Record::decode(&flipped),
            Err(RecordError::Corrupt(_))
        ));
        assert_eq!(
            Record::decode(b"{\"tokens\":[]}"),
            Err(RecordError::Foreign)
        );
        let newer = String::from_utf8(bytes.to_vec())
            .unwrap()
            .replacen("vault 1 ", "vault 2 ", 1);
        assert_eq!(
            Record::decode(newer.as_bytes()).unwrap_err().to_string(),
            "the stored vault has format version 2, newer than this softtoken reads (1); update softtoken, the vault was left untouched"
        );
    }

    /// A record as softtoken 0.1 wrote it with serde_json: still read, and written again byte for byte.
    #[test]
    fn version_1_records_read_and_write_byte_for_byte() {
        let golden = include_bytes!("../tests/data/record-v1.txt");
        let record = Record::decode(golden).unwrap();
        assert_eq!(record.tokens.len(), 2);
        assert_eq!(record.tokens[0].serial.as_str(), "SSTA12345671");
        let hotp = &record.tokens[1];
        assert_eq!(hotp.serial.kind(), SerialKind::Foreign);
        assert_eq!(
            hotp.params,
            OtpParams::hotp(Algorithm::Sha512, Digits::new(8).unwrap(), 42)
        );
        assert_eq!(hotp.label, "a \"q\" \\ \n\t\u{1} é 日本 \u{7f}");
        assert_eq!(hotp.issuer, None);
        assert_eq!(record.issued, ["SSTA12345678", "SSTA00000001"]);
        assert_eq!(record.settings.clock_offset, -7);
        assert_eq!(&record.encode()[..], &golden[..]);
    }

    fn framed(body: &str) -> Vec<u8> {
        let mut bytes =
            format!("softtoken-vault 1 sha256={}\n", checksum(body.as_bytes())).into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        bytes
    }

    const TOKEN: &str = r#""serial":"SSTA12345671","secret":"JBSWY3DPEHPK3PXP","label":"x","origin":"issued","created":1"#;
    const PARAMS: &str = r#""algorithm":"SHA1","digits":6,"kind":"totp","period":30"#;

    #[test]
    fn optional_fields_default_and_any_order_or_spacing_reads() {
        let body = format!(
            "{{ \"tokens\" : [ {{\"params\":{{{PARAMS}}}, {TOKEN}, \"issuer\": null, \"foreign\": false }} ] }}"
        );
        let record = Record::decode(&framed(&body)).unwrap();
        assert_eq!(record.tokens[0].issuer, None);
        assert_eq!(record.tokens[0].params, OtpParams::default());
        assert_eq!(record.issued, Vec::<String>::new());
        assert_eq!(record.settings, Settings::default());
        let empty = Record::decode(&framed(r#"{"tokens":[],"settings":{}}"#)).unwrap();
        assert_eq!(empty, Record::default());
    }

    #[test]
    fn each_wrong_field_is_named() {
        let token = |extra: &str, params: &str| {
            format!(r#"{{"tokens":[{{{TOKEN},"params":{{{params}}}{extra}}}]}}"#)
        };
        for (body, message) in [
            ("[]".to_string(), "the body is not an object"),
            ("{}".to_string(), "missing field `tokens`"),
            (r#"{"tokens":{}}"#.to_string(), "tokens is not a list"),
            (r#"{"tokens":[],"extra":1}"#.to_string(), "unknown field `extra` in the body"),
            (r#"{"tokens":[],"issued":[1]}"#.to_string(), "issued is not a string"),
            (r#"{"tokens":[],"settings":{"clock_offset":9223372036854775808}}"#.to_string(),
             "settings.clock_offset is not a whole number from -9223372036854775808 to 9223372036854775807"),
            (r#"{"tokens":[],"settings":{"x":0}}"#.to_string(), "unknown field `x` in settings"),
            (r#"{"tokens":[1]}"#.to_string(), "tokens[0]: a token is not an object"),
            (token(r#","created":2"#, PARAMS), "unreadable body: a key appears twice in one object"),
            (token(r#","pin":1"#, PARAMS), "tokens[0]: unknown field `pin` in a token"),
            (token(r#","foreign":1"#, PARAMS), "tokens[0]: foreign is not true or false"),
            (token(r#","issuer":7"#, PARAMS), "tokens[0]: issuer is not a string"),
            (token("", r#""algorithm":"MD5","digits":6,"kind":"totp","period":30"#),
             "tokens[0]: params.algorithm is not SHA1, SHA256 or SHA512"),
            (token("", r#""algorithm":"SHA1","digits":9,"kind":"totp","period":30"#),
             "tokens[0]: params.digits: "),
            (token("", r#""algorithm":"SHA1","digits":6,"kind":"totp","period":0"#),
             "tokens[0]: params.period: "),
            (token("", r#""algorithm":"SHA1","digits":6,"kind":"totp","counter":0"#),
             "tokens[0]: missing field `period`"),
            (token("", r#""algorithm":"SHA1","digits":6,"kind":"hotp","counter":-1"#),
             "tokens[0]: params.counter is not a whole number from 0 to 18446744073709551615"),
            (token("", r#""algorithm":"SHA1","digits":6,"kind":"push","period":30"#),
             "tokens[0]: params.kind is neither totp nor hotp"),
            (token("", &format!("{PARAMS},\"counter\":1")), "tokens[0]: unknown field `counter` in params"),
        ] {
            let e = Record::decode(&framed(&body)).unwrap_err();
            assert!(matches!(e, RecordError::Corrupt(_)), "{body}: {e:?}");
            assert!(e.to_string().contains(message), "{body}: {e}");
        }
        let bad_serial = format!(
            r#"{{"tokens":[{{{},"params":{{{PARAMS}}}}}]}}"#,
            TOKEN.replace("SSTA12345671", "SSTA12345672")
        );
        assert!(Record::decode(&framed(&bad_serial))
            .unwrap_err()
            .to_string()
            .contains("tokens[0]: serial: "));
        let bad_secret = format!(
            r#"{{"tokens":[{{{},"params":{{{PARAMS}}}}}]}}"#,
            TOKEN.replace("JBSWY3DPEHPK3PXP", "JBSW1")
        );
        let e = Record::decode(&framed(&bad_secret))
            .unwrap_err()
            .to_string();
        assert!(e.contains("tokens[0]: secret: "), "{e}");
        assert!(!e.contains("JBSW"), "{e}");
    }

    fn any_token() -> impl Strategy<Value = Token> {
        (
            any::<u32>(),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 10..64),
            (0usize..3, 6u64..=8, any::<bool>(), 1u64..u64::MAX),
            any::<String>(),
            proptest::option::of(any::<String>()),
            any::<bool>(),
            any::<u64>(),
        )
            .prop_map(
                |(body, foreign, key, (alg, digits, totp, n), label, issuer, imported, created)| {
                    let serial = if foreign {
                        Serial::foreign(&format!("VSST{:08}", body % 100_000_000)).unwrap()
                    } else {
                        Serial::from_parts(Prefix::IOS, body % crate::serial::BODIES)
                    };
                    let digits = Digits::new(digits).unwrap();
                    let params = if totp {
                        OtpParams::totp(Algorithm::ALL[alg], digits, n).unwrap()
                    } else {
                        OtpParams::hotp(Algorithm::ALL[alg], digits, n)
                    };
                    Token {
                        serial,
                        secret: Secret::from_bytes(&key).unwrap(),
                        params,
                        label,
                        issuer,
                        origin: if imported {
                            Origin::Imported
                        } else {
                            Origin::Issued
                        },
                        created,
                    }
                },
            )
    }

    /// The record as an independent JSON implementation sees it.
    fn as_serde(record: &Record) -> serde_json::Value {
        let tokens: Vec<_> = record
            .tokens
            .iter()
            .map(|t| {
                let mut v = serde_json::json!({
                    "serial": t.serial.as_str(),
                    "secret": t.secret.to_base32().as_str(),
                    "params": {
                        "algorithm": t.params.algorithm.name(),
                        "digits": t.params.digits.get(),
                    },
                    "label": t.label,
                    "origin": if t.origin == Origin::Issued { "issued" } else { "imported" },
                    "created": t.created,
                });
                if t.serial.kind() == SerialKind::Foreign {
                    v["foreign"] = true.into();
                }
                if let Some(issuer) = &t.issuer {
                    v["issuer"] = issuer.as_str().into();
                }
                match t.params.mode {
                    Mode::Totp { period } => {
                        v["params"]["kind"] = "totp".into();
                        v["params"]["period"] = period.into();
                    }
                    Mode::Hotp { counter } => {
                        v["params"]["kind"] = "hotp".into();
                        v["params"]["counter"] = counter.into();
                    }
                }
                v
            })
            .collect();
        serde_json::json!({
            "tokens": tokens,
            "issued": record.issued,
            "settings": { "clock_offset": record.settings.clock_offset },
        })
    }

    proptest! {
        /// Random records: serde_json reads our body as the same record, and we read
        /// serde_json's own writing of it (compact and pretty, keys sorted) back.
        #[test]
        fn agrees_with_serde_json(
            tokens in prop::collection::vec(any_token(), 0..4),
            issued in prop::collection::vec("SST[ADI][0-9]{8}", 0..4),
            clock_offset in any::<i64>(),
        ) {
            let record = Record { tokens, issued, settings: Settings { clock_offset } };
            let bytes = record.encode();
            let body = &bytes[bytes.iter().position(|b| *b == b'\n').unwrap() + 1..];
            let expected = as_serde(&record);
            prop_assert_eq!(serde_json::from_slice::<serde_json::Value>(body).unwrap(), expected.clone());
            prop_assert_eq!(&Record::decode(&bytes).unwrap(), &record);
            for theirs in [serde_json::to_string(&expected).unwrap(), serde_json::to_string_pretty(&expected).unwrap()] {
                prop_assert_eq!(&Record::decode(&framed(&theirs)).unwrap(), &record);
            }
        }
    }

    #[test]
    fn memory_store() {
        let s = MemoryStore::new();
        assert_eq!(s.read("k").unwrap(), None);
        s.write("k", b"v").unwrap();
        assert_eq!(s.read("k").unwrap().as_deref(), Some(&b"v"[..]));
        s.delete("k").unwrap();
        s.delete("k").unwrap();
        assert_eq!(s.read("k").unwrap(), None);
    }

    proptest! {
        #[test]
        fn any_bit_flip_is_caught(at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let bytes = record().encode();
            let mut damaged = bytes.to_vec();
            let i = at.index(damaged.len());
            damaged[i] ^= 1 << bit;
            prop_assert!(Record::decode(&damaged).is_err());
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Record::decode(&bytes);
        }
    }
}
