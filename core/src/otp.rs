//! HOTP (RFC 4226) and TOTP (RFC 6238) codes.
//!
//! HMAC is the `hmac` crate's: the key is turned once into its inner and
//! outer hash states ([`HmacCore`]), so each code costs the two compressions
//! of its own blocks and allocates nothing.

use crate::secret::Secret;
use hmac::digest::block_buffer::Eager;
use hmac::digest::core_api::{Buffer, BufferKindUser, FixedOutputCore, UpdateCore};
use hmac::digest::typenum::{IsLess, Le, NonZero, U256};
use hmac::digest::{KeyInit, Output};
use hmac::HmacCore;
use serde::{Deserialize, Serialize};
use std::fmt;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Why a code could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OtpError {
    /// Digits other than 6, 7 or 8.
    #[error("{0} digits are not supported: use 6, 7 or 8")]
    InvalidDigits(u64),
    /// A period of zero seconds.
    #[error("a period of 0 seconds is not possible: use 1 or more (30 is usual)")]
    InvalidPeriod,
    /// An algorithm name that is not SHA1, SHA256 or SHA512.
    #[error("algorithm '{0}' is not supported: use SHA1, SHA256 or SHA512")]
    UnknownAlgorithm(String),
    /// The time is so far in the future that the code's window cannot be expressed.
    #[error(
        "time {0} is out of range: its validity window ends after the largest representable second"
    )]
    TimeOutOfRange(u64),
}

/// The HMAC hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Algorithm {
    /// HMAC-SHA-1, the default of nearly every token.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// All algorithms, for iteration in tests and menus.
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// The name used in key URIs: `SHA1`, `SHA256`, `SHA512`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Parses a name in any case, with or without a hyphen (`sha1`, `SHA-256`).
    pub fn from_name(name: &str) -> Result<Self, OtpError> {
        let folded: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        match folded.as_str() {
            "SHA1" => Ok(Algorithm::Sha1),
            "SHA256" => Ok(Algorithm::Sha256),
            "SHA512" => Ok(Algorithm::Sha512),
            _ => Err(OtpError::UnknownAlgorithm(name.to_string())),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many digits a code has: 6, 7 or 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Digits(u8);

impl Digits {
    /// Six digits, the default.
    pub const SIX: Digits = Digits(6);

    /// Checks that `n` is 6, 7 or 8.
    pub fn new(n: u64) -> Result<Self, OtpError> {
        match n {
            6..=8 => Ok(Digits(n as u8)),
            _ => Err(OtpError::InvalidDigits(n)),
        }
    }

    /// The number of digits.
    pub fn get(self) -> u8 {
        self.0
    }

    /// The code of a truncated HMAC value: its last `self` decimal digits (constant divisors).
    fn reduce(self, value: u32) -> u32 {
        match self.0 {
            6 => value % 1_000_000,
            7 => value % 10_000_000,
            _ => value % 100_000_000,
        }
    }
}

impl Default for Digits {
    fn default() -> Self {
        Digits::SIX
    }
}

impl TryFrom<u8> for Digits {
    type Error = OtpError;
    fn try_from(n: u8) -> Result<Self, OtpError> {
        Digits::new(u64::from(n))
    }
}

impl From<Digits> for u8 {
    fn from(d: Digits) -> u8 {
        d.0
    }
}

/// Time-based with a period, or counter-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Mode {
    /// TOTP: a new code every `period` seconds.
    Totp {
        /// Seconds per step (at least 1).
        period: u64,
    },
    /// HOTP: a new code each time the counter moves.
    Hotp {
        /// The next counter value to use.
        counter: u64,
    },
}

/// The default TOTP period in seconds.
pub const DEFAULT_PERIOD: u64 = 30;

impl Default for Mode {
    fn default() -> Self {
        Mode::Totp {
            period: DEFAULT_PERIOD,
        }
    }
}

/// Everything about a token's codes except its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct OtpParams {
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Code length.
    pub digits: Digits,
    /// TOTP period or HOTP counter.
    #[serde(flatten)]
    pub mode: Mode,
}

impl OtpParams {
    /// TOTP parameters, checking that the period is at least one second.
    pub fn totp(algorithm: Algorithm, digits: Digits, period: u64) -> Result<Self, OtpError> {
        if period == 0 {
            return Err(OtpError::InvalidPeriod);
        }
        Ok(Self {
            algorithm,
            digits,
            mode: Mode::Totp { period },
        })
    }

    /// HOTP parameters starting at `counter`.
    pub fn hotp(algorithm: Algorithm, digits: Digits, counter: u64) -> Self {
        Self {
            algorithm,
            digits,
            mode: Mode::Hotp { counter },
        }
    }

    /// The TOTP period, or `None` for HOTP.
    pub fn period(&self) -> Option<u64> {
        match self.mode {
            Mode::Totp { period } => Some(period),
            Mode::Hotp { .. } => None,
        }
    }
}

/// A one-time code: up to 8 ASCII digits, zero-padded, held without allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OtpValue {
    /// Always 8 digits; the code is the last `len` of them.
    ascii: [u8; 8],
    len: u8,
}

impl OtpValue {
    #[inline]
    fn new(number: u32, digits: Digits) -> Self {
        // Eight digits, two per division from a table, whatever the length:
        // a fixed, branch-free sequence; the code is the tail.
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        // Split once into two halves so the four pairs are two short
        // dependency chains instead of one long one.
        let (high, low) = ((number / 10_000) % 10_000, number % 10_000);
        let pairs = [high / 100, high % 100, low / 100, low % 100];
        let mut ascii = [0u8; 8];
        for (out, pair) in ascii.chunks_exact_mut(2).zip(pairs) {
            let at = pair as usize * 2;
            out.copy_from_slice(&PAIRS[at..at + 2]);
        }
        Self {
            ascii,
            len: digits.get(),
        }
    }

    #[inline]
    fn digits(&self) -> &[u8] {
        &self.ascii[8 - usize::from(self.len)..]
    }

    /// The digits as ASCII bytes, leading zeros kept (what a display draws one by one).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.digits()
    }

    /// The digits as text, leading zeros kept.
    #[inline]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.digits()).unwrap_or_default()
    }

    /// The code as a number (leading zeros lost; for arithmetic only).
    pub fn number(&self) -> u32 {
        self.digits()
            .iter()
            .fold(0, |n, d| n * 10 + u32::from(d - b'0'))
    }

    /// Compares with typed digits in constant time (for equal lengths).
    pub fn matches(&self, digits: &[u8]) -> bool {
        self.digits().ct_eq(digits).into()
    }
}

/// Typed digits made ready to check against codes: read once, then compared
/// with each candidate code as a number, in constant time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TypedCode {
    number: u32,
    digits: Digits,
}

impl TypedCode {
    /// The typed code, when it is exactly `digits` ASCII digits.
    pub fn new(typed: &[u8], digits: Digits) -> Option<Self> {
        if typed.len() != usize::from(digits.get()) {
            return None;
        }
        typed
            .iter()
            .try_fold(0u32, |n, &d| {
                d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
            })
            .map(|number| TypedCode { number, digits })
    }
}

impl fmt::Debug for TypedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TypedCode(**redacted**)")
    }
}

impl fmt::Display for OtpValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for OtpValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtpValue({})", self.as_str())
    }
}

/// When a TOTP code is valid, for a countdown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// First second (Unix time) the code is valid.
    pub valid_from: u64,
    /// First second (Unix time) the code is no longer valid.
    pub valid_until: u64,
    /// Seconds from now until `valid_until` (1 to the period).
    pub seconds_left: u64,
    /// Share of the window already elapsed, from 0.0 up to (not including) 1.0.
    pub progress: f64,
}

/// A code with the next one, and for TOTP its validity window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Code {
    /// The code to type now.
    pub value: OtpValue,
    /// The code that follows it.
    pub next: OtpValue,
    /// The HOTP counter or TOTP time step that gave `value`.
    pub counter: u64,
    /// For TOTP, when `value` is valid; `None` for HOTP.
    pub window: Option<Window>,
}

/// A keyed HMAC core: the `hmac` crate's [`HmacCore`] for one hash, driven
/// through the `digest` crate's block API (no buffer beyond the stack).
trait MacCore: Clone {
    /// The core keyed with `key`.
    fn keyed(key: &[u8]) -> Self;
    /// HMAC(key, counter) truncated per RFC 4226 §5.3 to a 31-bit number.
    fn truncated(&self, counter: u64) -> u32;
}

impl<C> MacCore for C
where
    C: KeyInit + UpdateCore + FixedOutputCore + BufferKindUser<BufferKind = Eager> + Clone,
    C::BlockSize: IsLess<U256>,
    Le<C::BlockSize, U256>: NonZero,
{
    fn keyed(key: &[u8]) -> Self {
        match C::new_from_slice(key) {
            Ok(core) => core,
            // HmacCore takes keys of every length (a longer one is hashed first):
            // its `Result` exists only for the `KeyInit` trait's sake.
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        }
    }

    #[inline]
    fn truncated(&self, counter: u64) -> u32 {
        let mut core = self.clone();
        let mut buffer = Buffer::<C>::default();
        buffer.digest_blocks(&counter.to_be_bytes(), |blocks| core.update_blocks(blocks));
        let mut mac = Output::<C>::default();
        core.finalize_fixed_core(&mut buffer, &mut mac);
        truncate(&mac)
    }
}

/// One hash's HMAC key schedule, done once: the inner and outer hash states
/// after the padded key, copied for each code, so a code costs the two
/// compressions of its own two blocks and no allocation.
#[derive(Clone)]
struct Keyed<C: MacCore> {
    core: C,
}

impl<C: MacCore> Keyed<C> {
    fn new(key: &[u8]) -> Self {
        Self {
            core: C::keyed(key),
        }
    }

    #[inline]
    fn truncated(&self, counter: u64) -> u32 {
        self.core.truncated(counter)
    }
}

impl<C: MacCore> Drop for Keyed<C> {
    /// The cores have no `Zeroize`: the key-derived states are overwritten
    /// with those of an empty key, and `black_box` keeps the optimiser from
    /// removing that store (best effort, as `std` documents it). The hmac
    /// crate's own stack copy of the padded key while keying is not wiped.
    fn drop(&mut self) {
        self.core = C::keyed(&[]);
        std::hint::black_box(&self.core);
    }
}

/// RFC 4226 §5.3 dynamic truncation of an HMAC value.
#[inline]
fn truncate(mac: &[u8]) -> u32 {
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let word = [
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ];
    u32::from_be_bytes(word) & 0x7fff_ffff
}

/// A key's HMAC state for its hash: one generic shape per hash.
#[derive(Clone)]
enum KeyState {
    Sha1(Keyed<HmacCore<sha1::Sha1>>),
    Sha256(Keyed<HmacCore<sha2::Sha256>>),
    Sha512(Keyed<HmacCore<sha2::Sha512>>),
}

impl KeyState {
    fn new(secret: &Secret, algorithm: Algorithm) -> Self {
        let key = secret.expose();
        match algorithm {
            Algorithm::Sha1 => KeyState::Sha1(Keyed::new(key)),
            Algorithm::Sha256 => KeyState::Sha256(Keyed::new(key)),
            Algorithm::Sha512 => KeyState::Sha512(Keyed::new(key)),
        }
    }

    /// HMAC(key, counter) truncated per RFC 4226 §5.3 to a 31-bit number.
    #[inline]
    fn truncated(&self, counter: u64) -> u32 {
        match self {
            KeyState::Sha1(keyed) => keyed.truncated(counter),
            KeyState::Sha256(keyed) => keyed.truncated(counter),
            KeyState::Sha512(keyed) => keyed.truncated(counter),
        }
    }
}

/// A key made ready for codes: the HMAC key schedule done once.
#[derive(Clone)]
pub struct OtpKey {
    state: KeyState,
    algorithm: Algorithm,
}

impl OtpKey {
    /// Prepares `secret` for codes with `algorithm`.
    pub fn new(secret: &Secret, algorithm: Algorithm) -> Self {
        Self {
            state: KeyState::new(secret, algorithm),
            algorithm,
        }
    }

    /// The hash this key was prepared for.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The HOTP code for `counter` (RFC 4226).
    #[inline]
    pub fn hotp(&self, counter: u64, digits: Digits) -> OtpValue {
        OtpValue::new(digits.reduce(self.state.truncated(counter)), digits)
    }

    /// Whether `typed` is the HOTP code for `counter` with as many digits as were
    /// typed (a constant-time comparison).
    #[inline]
    pub fn is_code(&self, counter: u64, typed: TypedCode) -> bool {
        typed
            .digits
            .reduce(self.state.truncated(counter))
            .ct_eq(&typed.number)
            .into()
    }
}

impl fmt::Debug for OtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtpKey({}, **redacted**)", self.algorithm)
    }
}

/// A TOTP generator (RFC 6238) with its key prepared.
#[derive(Clone, Debug)]
pub struct Totp {
    key: OtpKey,
    digits: Digits,
    period: u64,
}

impl Totp {
    /// A generator for `secret` with the given hash, digits and period (≥ 1 s).
    pub fn new(
        secret: &Secret,
        algorithm: Algorithm,
        digits: Digits,
        period: u64,
    ) -> Result<Self, OtpError> {
        if period == 0 {
            return Err(OtpError::InvalidPeriod);
        }
        Ok(Self {
            key: OtpKey::new(secret, algorithm),
            digits,
            period,
        })
    }

    /// The period in seconds.
    pub fn period(&self) -> u64 {
        self.period
    }

    /// The digits per code.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// The time step that contains Unix time `time`.
    #[inline(always)]
    pub fn step(&self, time: u64) -> u64 {
        // The usual period gets a constant divisor, which compiles to a multiplication.
        if self.period == DEFAULT_PERIOD {
            time / DEFAULT_PERIOD
        } else {
            time / self.period
        }
    }

    /// The code for a given time step.
    #[inline(always)]
    pub fn at_step(&self, step: u64) -> OtpValue {
        self.key.hotp(step, self.digits)
    }

    /// Just the code valid at Unix time `time` (one HMAC; no window, no next code).
    #[inline(always)]
    pub fn value_at(&self, time: u64) -> OtpValue {
        self.at_step(self.step(time))
    }

    /// The step whose code is `typed` (ASCII digits), looking `back` steps
    /// before and `forward` after the one containing `time`, nearest first;
    /// `None` when none matches. Each comparison takes constant time. It keeps
    /// no state, so it cannot refuse a replayed code: the verifier does that.
    pub fn verify(&self, typed: &[u8], time: u64, back: u32, forward: u32) -> Option<u64> {
        let typed = TypedCode::new(typed, self.digits)?;
        let now = self.step(time);
        let nearby = (1..=u64::from(back.max(forward))).flat_map(|k| {
            [
                (k <= u64::from(back)).then(|| now.checked_sub(k)).flatten(),
                (k <= u64::from(forward))
                    .then(|| now.checked_add(k))
                    .flatten(),
            ]
        });
        std::iter::once(Some(now))
            .chain(nearby)
            .flatten()
            .find(|&step| self.key.is_code(step, typed))
    }

    /// The code valid at Unix time `time`, its window and the next code.
    pub fn at(&self, time: u64) -> Result<Code, OtpError> {
        let step = self.step(time);
        let valid_from = step * self.period;
        let valid_until = valid_from
            .checked_add(self.period)
            .ok_or(OtpError::TimeOutOfRange(time))?;
        let elapsed = time - valid_from;
        Ok(Code {
            value: self.at_step(step),
            next: self.at_step(step + 1),
            counter: step,
            window: Some(Window {
                valid_from,
                valid_until,
                seconds_left: valid_until - time,
                progress: elapsed as f64 / self.period as f64,
            }),
        })
    }
}

/// The HOTP code for `counter`, and the next, without a window.
pub fn hotp_code(key: &OtpKey, counter: u64, digits: Digits) -> Code {
    Code {
        value: key.hotp(counter, digits),
        next: key.hotp(counter.wrapping_add(1), digits),
        counter,
        window: None,
    }
}

/// One-shot: the code for a token with `params` at Unix time `time` (TOTP) or at its counter (HOTP).
pub fn generate(secret: &Secret, params: &OtpParams, time: u64) -> Result<Code, OtpError> {
    match params.mode {
        Mode::Totp { period } => {
            Totp::new(secret, params.algorithm, params.digits, period)?.at(time)
        }
        Mode::Hotp { counter } => Ok(hotp_code(
            &OtpKey::new(secret, params.algorithm),
            counter,
            params.digits,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;

    fn secret(bytes: &[u8]) -> Secret {
        Secret::from_bytes(bytes).unwrap()
    }

    /// The RFC 6238 SHA-1 seed, 6 digits, 30 s.
    fn rfc_totp() -> Totp {
        Totp::new(
            &secret(b"12345678901234567890"),
            Algorithm::Sha1,
            Digits::SIX,
            30,
        )
        .unwrap()
    }

    #[test]
    fn rfc4226_appendix_d() {
        let key = OtpKey::new(&secret(b"12345678901234567890"), Algorithm::Sha1);
        let want = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let truncated = [
            0x4c93cf18u32,
            0x41397eea,
            0x82fef30,
            0x66ef7655,
            0x61c5938a,
            0x33c083d4,
            0x7256c032,
            0x4e5b397,
            0x2823443f,
            0x2679dc69,
        ];
        for (counter, (code, t)) in want.iter().zip(truncated).enumerate() {
            assert_eq!(key.hotp(counter as u64, Digits::SIX).as_str(), *code);
            assert_eq!(key.state.truncated(counter as u64), t);
        }
    }

    /// RFC 6238 Appendix B, all 18 rows; each hash has its own seed length.
    #[test]
    fn rfc6238_appendix_b() {
        let seed20 = b"12345678901234567890";
        let seed32 = b"12345678901234567890123456789012";
        let seed64 = b"1234567890123456789012345678901234567890123456789012345678901234";
        let rows: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        let eight = Digits::new(8).unwrap();
        for (time, sha1, sha256, sha512) in rows {
            for (alg, seed, want) in [
                (Algorithm::Sha1, &seed20[..], sha1),
                (Algorithm::Sha256, &seed32[..], sha256),
                (Algorithm::Sha512, &seed64[..], sha512),
            ] {
                let totp = Totp::new(&secret(seed), alg, eight, 30).unwrap();
                assert_eq!(
                    totp.at(time).unwrap().value.as_str(),
                    want,
                    "{alg} at {time}"
                );
            }
        }
    }

    #[test]
    fn window_and_next() {
        let totp = rfc_totp();
        let code = totp.at(59).unwrap();
        let window = code.window.unwrap();
        assert_eq!(
            (window.valid_from, window.valid_until, window.seconds_left),
            (30, 60, 1)
        );
        assert!((window.progress - 29.0 / 30.0).abs() < 1e-12);
        assert_eq!(code.next, totp.at(60).unwrap().value);
        assert_eq!(code.counter, 1);
        let start = totp.at(60).unwrap().window.unwrap();
        assert_eq!((start.seconds_left, start.progress), (30, 0.0));
        assert_eq!(totp.at(0).unwrap().value.as_str(), "755224");
    }

    #[test]
    fn far_future_and_overflow() {
        let s = secret(b"12345678901234567890");
        let totp = Totp::new(&s, Algorithm::Sha1, Digits::SIX, 30).unwrap();
        let big = u64::MAX - 100;
        let code = totp.at(big).unwrap();
        assert_eq!(code.counter, big / 30);
        let end = u128::from(u64::MAX / 30 * 30) + 30;
        assert_eq!(totp.at(u64::MAX).is_ok(), end <= u128::from(u64::MAX));
        let one = Totp::new(&s, Algorithm::Sha1, Digits::SIX, 1).unwrap();
        assert_eq!(one.at(u64::MAX), Err(OtpError::TimeOutOfRange(u64::MAX)));
        assert_eq!(
            Totp::new(&s, Algorithm::Sha1, Digits::SIX, 0).unwrap_err(),
            OtpError::InvalidPeriod
        );
        let huge = Totp::new(&s, Algorithm::Sha1, Digits::SIX, u64::MAX).unwrap();
        assert_eq!(huge.at(5).unwrap().window.unwrap().valid_until, u64::MAX);
    }

    #[test]
    fn leading_zeros_kept() {
        // RFC 6238 row 1111111109 with SHA1 is "07081804".
        let totp = Totp::new(
            &secret(b"12345678901234567890"),
            Algorithm::Sha1,
            Digits::new(8).unwrap(),
            30,
        )
        .unwrap();
        let value = totp.at(1111111109).unwrap().value;
        assert_eq!(value.to_string(), "07081804");
        assert_eq!(value.number(), 7081804);
        assert!(value.matches(b"07081804"));
        assert!(!value.matches(b"7081804"));
    }

    #[test]
    fn params_and_names() {
        assert_eq!(Algorithm::from_name("sha-256").unwrap(), Algorithm::Sha256);
        assert_eq!(
            Algorithm::from_name("MD5").unwrap_err().to_string(),
            "algorithm 'MD5' is not supported: use SHA1, SHA256 or SHA512"
        );
        assert_eq!(
            Digits::new(9).unwrap_err().to_string(),
            "9 digits are not supported: use 6, 7 or 8"
        );
        assert!(Digits::new(5).is_err());
        let p = OtpParams::totp(Algorithm::Sha1, Digits::SIX, 30).unwrap();
        assert_eq!(p, OtpParams::default());
        assert_eq!(
            OtpParams::totp(Algorithm::Sha1, Digits::SIX, 0),
            Err(OtpError::InvalidPeriod)
        );
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"algorithm":"SHA1","digits":6,"kind":"totp","period":30}"#
        );
        assert!(serde_json::from_str::<OtpParams>(
            r#"{"algorithm":"SHA1","digits":9,"kind":"totp","period":30}"#
        )
        .is_err());
    }

    fn reference(key: &[u8], alg: Algorithm, counter: u64, digits: u32) -> String {
        let msg = counter.to_be_bytes();
        let mac: Vec<u8> = match alg {
            Algorithm::Sha1 => {
                let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key).unwrap();
                m.update(&msg);
                m.finalize().into_bytes().to_vec()
            }
            Algorithm::Sha256 => {
                let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
                m.update(&msg);
                m.finalize().into_bytes().to_vec()
            }
            Algorithm::Sha512 => {
                let mut m = <Hmac<sha2::Sha512> as Mac>::new_from_slice(key).unwrap();
                m.update(&msg);
                m.finalize().into_bytes().to_vec()
            }
        };
        let off = usize::from(mac[mac.len() - 1] & 0xf);
        let bin =
            u32::from_be_bytes([mac[off], mac[off + 1], mac[off + 2], mac[off + 3]]) & 0x7fff_ffff;
        format!(
            "{:0width$}",
            bin % 10u32.pow(digits),
            width = digits as usize
        )
    }

    #[test]
    fn typed_codes_are_read_once_and_compared_as_numbers() {
        let eight = Digits::new(8).unwrap();
        let key = OtpKey::new(&secret(b"12345678901234567890"), Algorithm::Sha1);
        // RFC 6238: SHA1, T = 1111111109 (step 37037036): 07081804.
        let typed = TypedCode::new(b"07081804", eight).unwrap();
        assert!(key.is_code(37_037_036, typed));
        assert!(!key.is_code(37_037_037, typed));
        // A 7-digit reading of the same code does not pass for the 6-digit one.
        let seven = Digits::new(7).unwrap();
        assert!(!key.is_code(37_037_036, TypedCode::new(b"0081804", seven).unwrap()));
        assert!(key.is_code(37_037_036, TypedCode::new(b"7081804", seven).unwrap()));
        assert!(key.is_code(37_037_036, TypedCode::new(b"081804", Digits::SIX).unwrap()));
        assert_eq!(TypedCode::new(b"7081804", eight), None);
        assert_eq!(TypedCode::new(b"0708180a", eight), None);
        assert_eq!(
            TypedCode::new(b"99999999", eight),
            Some(TypedCode {
                number: 99_999_999,
                digits: eight
            })
        );
        assert_eq!(format!("{typed:?}"), "TypedCode(**redacted**)");
    }

    #[test]
    fn verify_searches_the_window_nearest_first() {
        let totp = rfc_totp();
        let t = 1_111_111_109;
        let step = t / 30;
        let code = |s: u64| totp.at_step(s).as_bytes().to_vec();
        assert_eq!(totp.verify(b"081804", t, 0, 0), Some(step));
        assert_eq!(totp.verify(&code(step - 1), t, 1, 1), Some(step - 1));
        assert_eq!(totp.verify(&code(step + 1), t, 1, 1), Some(step + 1));
        assert_eq!(totp.verify(&code(step + 1), t, 1, 0), None);
        assert_eq!(totp.verify(&code(step - 2), t, 2, 0), Some(step - 2));
        assert_eq!(totp.verify(&code(step - 2), t, 1, 1), None);
        assert_eq!(totp.verify(b"81804", t, 1, 1), None);
        assert_eq!(totp.verify(b"0081804", t, 1, 1), None);
        assert_eq!(totp.verify(b"", t, 1, 1), None);
        assert_eq!(totp.verify(b"08180x", t, 1, 1), None);
        assert_eq!(totp.verify("０８１８０４".as_bytes(), t, 1, 1), None);
        // The ends of time: no step before 0 or after the last.
        assert_eq!(totp.verify(&code(0), 0, 5, 5), Some(0));
        assert_eq!(totp.verify(&code(1), 29, 1, 1), Some(1));
        let last = u64::MAX / 30;
        assert_eq!(totp.verify(&code(last), u64::MAX, 3, 3), Some(last));
    }

    #[test]
    fn digit_layout_edges() {
        for (n, six, eight) in [
            (0, "000000", "00000000"),
            (99, "000099", "00000099"),
            (10_000, "010000", "00010000"),
            (99_999_999, "999999", "99999999"),
        ] {
            assert_eq!(
                OtpValue::new(Digits::SIX.reduce(n), Digits::SIX).as_str(),
                six
            );
            let d8 = Digits::new(8).unwrap();
            assert_eq!(OtpValue::new(d8.reduce(n), d8).as_str(), eight);
        }
    }

    proptest! {
        /// The keyed-core path equals the plain `Hmac` (`Mac` trait) path.
        #[test]
        fn fast_path_equals_hmac_crate(
            key in proptest::collection::vec(any::<u8>(), 10..300),
            counter in any::<u64>(),
            alg in prop::sample::select(Algorithm::ALL.to_vec()),
            digits in 6u32..=8,
        ) {
            let d = Digits::new(u64::from(digits)).unwrap();
            let ours = OtpKey::new(&secret(&key), alg).hotp(counter, d);
            let want = reference(&key, alg, counter, digits);
            prop_assert_eq!(ours.as_str(), want.as_str());
            prop_assert_eq!(ours.as_bytes(), want.as_bytes());
            prop_assert_eq!(ours.number(), want.parse::<u32>().unwrap());
        }

        /// Whatever `verify` finds is in the window and has the typed code; a code
        /// of a step in the window is always found (at that step or a nearer one
        /// whose code happens to be the same).
        #[test]
        fn verify_finds_exactly_the_window(
            time in any::<u64>(),
            offset in -4i64..=4,
            back in 0u32..=3,
            forward in 0u32..=3,
            period in 1u64..=120,
        ) {
            let totp = Totp::new(&secret(b"12345678901234567890"), Algorithm::Sha256, Digits::SIX, period).unwrap();
            let now = totp.step(time);
            let Some(target) = now.checked_add_signed(offset) else { return Ok(()) };
            let typed = totp.at_step(target);
            let inside = -i64::from(back) <= offset && offset <= i64::from(forward);
            match totp.verify(typed.as_bytes(), time, back, forward) {
                Some(step) => {
                    prop_assert_eq!(totp.at_step(step), typed);
                    prop_assert!(step.abs_diff(now) <= u64::from(back.max(forward)));
                    prop_assert!(step >= now || now - step <= u64::from(back));
                    prop_assert!(step <= now || step - now <= u64::from(forward));
                    if inside {
                        prop_assert!(step.abs_diff(now) <= offset.unsigned_abs());
                    }
                }
                None => prop_assert!(!inside),
            }
        }

        /// Every number below 10^8 is laid out as its zero-padded digits.
        #[test]
        fn digits_are_zero_padded(n in 0u32..100_000_000, digits in 6u64..=8) {
            let d = Digits::new(digits).unwrap();
            let value = OtpValue::new(d.reduce(n), d);
            let want = format!("{:0width$}", n % 10u32.pow(digits as u32), width = digits as usize);
            prop_assert_eq!(value.as_str(), want.as_str());
        }

        #[test]
        fn window_invariants(time in any::<u64>(), period in 1u64..100_000) {
            let totp = Totp::new(&secret(b"12345678901234567890"), Algorithm::Sha1, Digits::SIX, period).unwrap();
            if let Ok(code) = totp.at(time) {
                let w = code.window.unwrap();
                prop_assert!(w.valid_from <= time && time < w.valid_until);
                prop_assert_eq!(w.valid_until - w.valid_from, period);
                prop_assert!(w.seconds_left >= 1 && w.seconds_left <= period);
                prop_assert!((0.0..1.0).contains(&w.progress));
                prop_assert_eq!(code.value.as_str().len(), 6);
            } else {
                prop_assert!(time / period * period > u64::MAX - period);
            }
        }
    }
}
