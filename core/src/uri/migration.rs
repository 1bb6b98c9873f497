//! Google Authenticator's export (`otpauth-migration://offline?data=…`): a
//! base64 protobuf `MigrationPayload`, read and written without a protobuf library.

use super::percent::{exact, percent_decode, percent_encode};
use super::{KeyUri, UriError};
use crate::otp::{Algorithm, Digits, Mode, OtpParams, DEFAULT_PERIOD};
use crate::secret::{Secret, SecretError};
use thiserror::Error;
use zeroize::Zeroizing;

/// Why an export could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MigrationError {
    /// No `data=` parameter.
    #[error("the export URI has no data= parameter: scan the whole export QR code again")]
    MissingData,
    /// `data` is not base64.
    #[error("the export's data is not base64 (character {0}): scan the export QR code again")]
    Base64(usize),
    /// The payload is cut short or not a MigrationPayload.
    #[error("the export's data is damaged ({0}): scan the export QR code again")]
    Malformed(&'static str),
    /// An account with an algorithm we do not support.
    #[error("account '{0}' uses MD5 or an unknown algorithm, which softtoken does not support")]
    Algorithm(String),
    /// An account whose secret is not usable.
    #[error("account '{account}': {error}")]
    Secret {
        /// The account's name.
        account: String,
        /// What is wrong with its secret.
        error: SecretError,
    },
    /// An export with no accounts.
    #[error("the export holds no accounts")]
    Empty,
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' | b' ' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Decodes standard or URL-safe base64, padding optional (a space is read as `+`).
fn base64_decode(text: &str) -> Result<Zeroizing<Vec<u8>>, MigrationError> {
    let body = text.trim_end_matches('=');
    let mut out = Zeroizing::new(Vec::with_capacity(body.len() * 3 / 4));
    let (mut buffer, mut bits) = (0u32, 0u32);
    for (i, c) in body.bytes().enumerate() {
        let v = b64_value(c).ok_or(MigrationError::Base64(i + 1))?;
        buffer = (buffer << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    if body.len() % 4 == 1 {
        return Err(MigrationError::Base64(body.len()));
    }
    Ok(out)
}

fn base64_encode(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(bytes.len().div_ceil(3) * 4));
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A protobuf reader over one message.
struct Reader<'a> {
    bytes: &'a [u8],
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, MigrationError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .bytes
                .split_first()
                .ok_or(MigrationError::Malformed("cut short"))?;
            self.bytes = rest;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(MigrationError::Malformed("number too long"))
    }

    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, MigrationError> {
        if self.bytes.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| MigrationError::Malformed("length too large"))?;
                if len > self.bytes.len() {
                    return Err(MigrationError::Malformed("cut short"));
                }
                let (value, rest) = self.bytes.split_at(len);
                self.bytes = rest;
                Field::Bytes(value)
            }
            1 => Field::Bytes(self.take(8)?),
            5 => Field::Bytes(self.take(4)?),
            _ => return Err(MigrationError::Malformed("unknown field type")),
        };
        Ok(Some((key >> 3, field)))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], MigrationError> {
        if n > self.bytes.len() {
            return Err(MigrationError::Malformed("cut short"));
        }
        let (value, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(value)
    }
}

fn text(bytes: &[u8]) -> Result<String, MigrationError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| MigrationError::Malformed("a name is not UTF-8"))
}

fn account(bytes: &[u8]) -> Result<KeyUri, MigrationError> {
    let mut reader = Reader { bytes };
    // The secret stays where it is in the (wiped) payload until the one copy
    // the `Secret` makes: a repeated field (the last one counts) leaves no
    // earlier copy behind.
    let mut secret: &[u8] = &[];
    let (mut name, mut issuer) = (String::new(), String::new());
    let (mut algorithm, mut digits, mut kind, mut counter) = (0u64, 0u64, 0u64, 0u64);
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(b)) => secret = b,
            (2, Field::Bytes(b)) => name = text(b)?,
            (3, Field::Bytes(b)) => issuer = text(b)?,
            (4, Field::Varint(v)) => algorithm = v,
            (5, Field::Varint(v)) => digits = v,
            (6, Field::Varint(v)) => kind = v,
            (7, Field::Varint(v)) => counter = v,
            (1..=7, _) => return Err(MigrationError::Malformed("a field has the wrong type")),
            _ => {}
        }
    }
    let (issuer, name) = match (issuer.is_empty(), name.split_once(':')) {
        (true, Some((i, a))) => (i.to_string(), a.trim_start().to_string()),
        (_, Some((i, a))) if i == issuer => (issuer, a.trim_start().to_string()),
        _ => (issuer, name),
    };
    let algorithm = match algorithm {
        0 | 1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        _ => return Err(MigrationError::Algorithm(name)),
    };
    let digits = match digits {
        0 | 1 => Digits::SIX,
        2 => Digits::new(8).map_err(|_| MigrationError::Malformed("digits"))?,
        _ => return Err(MigrationError::Malformed("digit count is not 6 or 8")),
    };
    let mode = match kind {
        1 => Mode::Hotp { counter },
        0 | 2 => Mode::Totp {
            period: DEFAULT_PERIOD,
        },
        _ => return Err(MigrationError::Malformed("unknown token type")),
    };
    let secret = Secret::from_bytes(secret).map_err(|error| MigrationError::Secret {
        account: name.clone(),
        error,
    })?;
    Ok(KeyUri {
        secret,
        params: OtpParams {
            algorithm,
            digits,
            mode,
        },
        issuer: Some(issuer.replace(':', " ")).filter(|i| !i.is_empty()),
        account: name,
    })
}

/// Reads every account of a MigrationPayload.
pub fn decode_payload(bytes: &[u8]) -> Result<Vec<KeyUri>, MigrationError> {
    let mut reader = Reader { bytes };
    let mut accounts = Vec::new();
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(b)) => accounts.push(account(b)?),
            (1, Field::Varint(_)) => {
                return Err(MigrationError::Malformed("a field has the wrong type"))
            }
            _ => {}
        }
    }
    if accounts.is_empty() {
        return Err(MigrationError::Empty);
    }
    Ok(accounts)
}

/// Reads an `otpauth-migration://offline?data=…` URI.
pub fn decode_uri(uri: &str) -> Result<Vec<KeyUri>, UriError> {
    let query = uri.split_once('?').map(|(_, q)| q).unwrap_or("");
    let data = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("data="))
        .ok_or(MigrationError::MissingData)?;
    let data = percent_decode(data, false, uri.len() - query.len())?;
    let bytes = base64_decode(&data)?;
    Ok(decode_payload(&bytes)?)
}

/// Where protobuf bytes go: counted first, then written into a buffer of
/// exactly that size (it holds secrets, so it must never grow).
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for usize {
    fn put(&mut self, bytes: &[u8]) {
        *self += bytes.len();
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

fn put_varint(out: &mut impl Sink, mut n: u64) {
    let mut buf = [0u8; 10];
    let mut len = 0;
    while n >= 0x80 {
        buf[len] = (n as u8) | 0x80;
        n >>= 7;
        len += 1;
    }
    buf[len] = n as u8;
    out.put(&buf[..=len]);
}

fn put_bytes(out: &mut impl Sink, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.put(bytes);
}

/// One account's `OtpParameters` message.
fn put_account(out: &mut impl Sink, k: &KeyUri) -> Result<(), MigrationError> {
    put_bytes(out, 1, k.secret.expose());
    put_bytes(out, 2, k.account.as_bytes());
    put_bytes(out, 3, k.issuer.as_deref().unwrap_or("").as_bytes());
    put_varint(out, 4 << 3);
    put_varint(
        out,
        match k.params.algorithm {
            Algorithm::Sha1 => 1,
            Algorithm::Sha256 => 2,
            Algorithm::Sha512 => 3,
        },
    );
    put_varint(out, 5 << 3);
    put_varint(
        out,
        match k.params.digits.get() {
            6 => 1,
            8 => 2,
            _ => return Err(MigrationError::Malformed("7 digits cannot be exported")),
        },
    );
    put_varint(out, 6 << 3);
    match k.params.mode {
        Mode::Hotp { counter } => {
            put_varint(out, 1);
            put_varint(out, 7 << 3);
            put_varint(out, counter);
        }
        Mode::Totp {
            period: DEFAULT_PERIOD,
        } => put_varint(out, 2),
        Mode::Totp { .. } => {
            return Err(MigrationError::Malformed(
                "only 30-second periods can be exported",
            ))
        }
    }
    Ok(())
}

/// The `MigrationPayload` message: every account, then version 1, batch 1 of 1.
fn put_payload(out: &mut impl Sink, accounts: &[KeyUri]) -> Result<(), MigrationError> {
    for k in accounts {
        let mut len = 0usize;
        put_account(&mut len, k)?;
        put_varint(out, 1 << 3 | 2);
        put_varint(out, len as u64);
        put_account(out, k)?;
    }
    for (field, value) in [(2u64, 1u64), (3, 1), (4, 0)] {
        put_varint(out, field << 3);
        put_varint(out, value);
    }
    Ok(())
}

/// The payload's bytes, in a buffer sized before it is filled and wiped when dropped.
fn payload(accounts: &[KeyUri]) -> Result<Zeroizing<Vec<u8>>, MigrationError> {
    let mut len = 0usize;
    put_payload(&mut len, accounts)?;
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    put_payload(&mut *out, accounts)?;
    Ok(out)
}

/// Writes accounts as an export URI that Google Authenticator can import
/// (periods other than 30 s and 7 digits cannot be expressed and are refused).
/// Every buffer on the way (payload, base64, the URI) is sized before it is
/// filled and wiped when dropped.
pub fn encode_uri(accounts: &[KeyUri]) -> Result<Zeroizing<String>, MigrationError> {
    let data = base64_encode(&payload(accounts)?);
    Ok(exact(|out| {
        out.write_str("otpauth-migration://offline?data=")?;
        percent_encode(out, &data)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uri::parse_any;
    use proptest::prelude::*;

    /// The example export payload published with the format descriptions (one account).
    const REAL: &str = "otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZSABKAEwAhABGAEgAA%3D%3D";

    #[test]
    fn reads_a_real_export() {
        let accounts = parse_any(REAL).unwrap();
        assert_eq!(accounts.len(), 1);
        let a = &accounts[0];
        assert_eq!(a.issuer.as_deref(), Some("Example"));
        assert_eq!(a.account, "alice@google.com");
        assert_eq!(a.secret.expose(), b"Hello!\xde\xad\xbe\xef");
        assert_eq!(a.params, OtpParams::default());
    }

    #[test]
    fn damaged_exports() {
        assert_eq!(
            decode_uri("otpauth-migration://offline?x=1").unwrap_err(),
            UriError::Migration(MigrationError::MissingData)
        );
        assert_eq!(
            decode_uri("otpauth-migration://offline?data=AB*C").unwrap_err(),
            UriError::Migration(MigrationError::Base64(3))
        );
        assert_eq!(
            decode_uri("otpauth-migration://offline?data=").unwrap_err(),
            UriError::Migration(MigrationError::Empty)
        );
        let cut = &REAL[..REAL.len() - 30];
        assert!(matches!(
            decode_uri(cut),
            Err(UriError::Migration(MigrationError::Malformed(_)))
        ));
        let e = decode_uri(cut).unwrap_err().to_string();
        assert!(e.contains("scan the export QR code again"), "{e}");
    }

    fn account(secret: &[u8], name: &str) -> KeyUri {
        KeyUri::new(
            Secret::from_bytes(secret).unwrap(),
            OtpParams::default(),
            Some("Example".into()),
            name.into(),
        )
        .unwrap()
    }

    /// Every buffer that holds the secret is sized before it is filled: one
    /// that grew would have left a copy in the memory it freed.
    #[test]
    fn export_buffers_never_grow() {
        let accounts: Vec<KeyUri> = (0..20)
            .map(|i| account(&[i as u8; 40], &format!("user{i}@example.com")))
            .collect();
        let bytes = payload(&accounts).unwrap();
        assert_eq!(bytes.capacity(), bytes.len());
        let data = base64_encode(&bytes);
        assert_eq!(data.capacity(), data.len());
        let uri = encode_uri(&accounts).unwrap();
        assert_eq!(uri.capacity(), uri.len());
        assert!(uri.contains("%2B") || uri.contains("%2F") || uri.contains("%3D"));
        assert_eq!(parse_any(&uri).unwrap(), accounts);
    }

    /// A secret field given twice: the last one counts (protobuf's rule), and
    /// the first is never copied out of the payload.
    #[test]
    fn a_repeated_secret_field_keeps_the_last() {
        let mut message = Vec::new();
        put_bytes(&mut message, 1, b"first secret 0123");
        put_bytes(&mut message, 2, b"alice");
        put_bytes(&mut message, 1, b"second secret 456");
        let mut bytes = Vec::new();
        put_bytes(&mut bytes, 1, &message);
        let accounts = decode_payload(&bytes).unwrap();
        assert_eq!(accounts[0].secret.expose(), b"second secret 456");
        assert_eq!(accounts[0].account, "alice");
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()).as_str(), enc);
            assert_eq!(base64_decode(enc).unwrap().as_slice(), plain.as_bytes());
        }
    }

    proptest! {
        #[test]
        fn round_trip(
            accounts in proptest::collection::vec((
                proptest::collection::vec(any::<u8>(), 10..40),
                "[a-z@.]{1,12}",
                proptest::option::of("[A-Za-z ]{1,12}"),
                prop::sample::select(Algorithm::ALL.to_vec()),
                prop::bool::ANY,
                proptest::option::of(any::<u64>()),
            ), 1..5)
        ) {
            let keys: Vec<KeyUri> = accounts.into_iter().map(|(key, account, issuer, algorithm, eight, counter)| KeyUri {
                secret: Secret::from_bytes(&key).unwrap(),
                params: OtpParams {
                    algorithm,
                    digits: Digits::new(if eight { 8 } else { 6 }).unwrap(),
                    mode: counter.map_or(Mode::Totp { period: 30 }, |counter| Mode::Hotp { counter }),
                },
                issuer,
                account,
            }).collect();
            let uri = encode_uri(&keys).unwrap();
            prop_assert_eq!(parse_any(&uri).unwrap(), keys);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_payload(&bytes);
        }
    }
}
