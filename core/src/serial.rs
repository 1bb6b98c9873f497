//! Serial numbers: an issuer prefix of 4 upper-case letters and 8 digits, the
//! last a Damm check digit; serials minted elsewhere are kept verbatim.

use crate::input;
use std::fmt;
use thiserror::Error;

/// Why a serial was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SerialError {
    /// Nothing was entered.
    #[error("the serial is empty: type the 12 characters shown in the token app")]
    Empty,
    /// Not 4 letters and 8 digits long.
    #[error("serial '{input}' has {found} characters; a serial has 4 letters and 8 digits, like SSTA 1234 5678")]
    Length {
        /// What was entered.
        input: String,
        /// Characters after removing spaces and hyphens.
        found: usize,
    },
    /// A prefix that is not 4 letters A–Z.
    #[error("serial '{input}': character {position} must be a letter A-Z (a serial starts with 4 letters)")]
    Prefix {
        /// What was entered.
        input: String,
        /// 1-based position among the serial's characters.
        position: usize,
    },
    /// A non-digit where a digit belongs.
    #[error("serial '{input}': character {position} must be a digit 0-9")]
    NotDigit {
        /// What was entered.
        input: String,
        /// 1-based position among the serial's characters.
        position: usize,
    },
    /// The Damm check digit does not match.
    #[error("serial {grouped}: check digit is wrong, please re-type it")]
    CheckDigit {
        /// The serial as entered, grouped.
        grouped: String,
    },
    /// A foreign serial that is too long or holds control characters.
    #[error("serial '{0}' is not usable: use at most 64 printable characters")]
    Foreign(String),
    /// A prefix that is not 4 letters A–Z.
    #[error("prefix '{0}' is not usable: a prefix is exactly 4 letters A-Z")]
    BadPrefix(String),
}

/// Whether a serial carries our check digit or was minted elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SerialKind {
    /// Ours: prefix + 7 digits + Damm check digit.
    Checked,
    /// Minted elsewhere (e.g. VIP-style `SYMC12345678`), kept verbatim.
    Foreign,
}

/// An issuer's prefix: 4 upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix([u8; 4]);

impl Prefix {
    /// Prefix for tokens issued on Android.
    pub const ANDROID: Prefix = Prefix(*b"SSTA");
    /// Prefix for tokens issued on iOS.
    pub const IOS: Prefix = Prefix(*b"SSTI");
    /// Prefix for tokens issued on a PC.
    pub const DESKTOP: Prefix = Prefix(*b"SSTD");

    /// Checks and upper-cases a 4-letter prefix.
    pub fn new(text: &str) -> Result<Self, SerialError> {
        let folded = input::normalize(text);
        let bytes = folded.as_bytes();
        match <[u8; 4]>::try_from(bytes) {
            Ok(arr) if arr.iter().all(u8::is_ascii_uppercase) => Ok(Prefix(arr)),
            _ => Err(SerialError::BadPrefix(text.to_string())),
        }
    }

    /// The 4 letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Damm quasigroup of order 10 (weakly totally anti-symmetric).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The Damm interim digit after `digits` (each 0–9); appending it makes the total 0.
pub fn damm(digits: impl IntoIterator<Item = u8>) -> u8 {
    digits.into_iter().fold(0, |interim, d| {
        DAMM[usize::from(interim)][usize::from(d % 10)]
    })
}

/// The number of distinct bodies (7 digits) per prefix.
pub const BODIES: u32 = 10_000_000;

/// A token's serial number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Serial {
    text: String,
    kind: SerialKind,
}

fn digits_of(body: u32) -> [u8; 7] {
    let mut out = [0u8; 7];
    let mut n = body;
    for slot in out.iter_mut().rev() {
        *slot = (n % 10) as u8;
        n /= 10;
    }
    out
}

impl Serial {
    /// Builds our serial from a prefix and a 7-digit body (taken modulo 10^7), adding the check digit.
    pub fn from_parts(prefix: Prefix, body: u32) -> Self {
        let digits = digits_of(body % BODIES);
        let check = damm(digits);
        let mut text = String::with_capacity(12);
        text.push_str(prefix.as_str());
        text.extend(
            digits
                .iter()
                .chain(std::iter::once(&check))
                .map(|d| char::from(b'0' + d)),
        );
        Self {
            text,
            kind: SerialKind::Checked,
        }
    }

    /// Parses one of our serials as a person types it (spaces, hyphens, lower case, full width) and checks its check digit.
    pub fn parse(typed: &str) -> Result<Self, SerialError> {
        let text = input::normalize(typed);
        let chars: Vec<char> = text.chars().collect();
        if chars.is_empty() {
            return Err(SerialError::Empty);
        }
        if chars.len() != 12 {
            return Err(SerialError::Length {
                input: typed.trim().to_string(),
                found: chars.len(),
            });
        }
        if let Some(i) = chars[..4].iter().position(|c| !c.is_ascii_uppercase()) {
            return Err(SerialError::Prefix {
                input: typed.trim().to_string(),
                position: i + 1,
            });
        }
        if let Some(i) = chars[4..].iter().position(|c| !c.is_ascii_digit()) {
            return Err(SerialError::NotDigit {
                input: typed.trim().to_string(),
                position: i + 5,
            });
        }
        let serial = Self {
            text,
            kind: SerialKind::Checked,
        };
        if damm(serial.text.bytes().skip(4).map(|b| b - b'0')) != 0 {
            return Err(SerialError::CheckDigit {
                grouped: serial.grouped(),
            });
        }
        Ok(serial)
    }

    /// Keeps a serial minted elsewhere exactly as given (surrounding white space trimmed).
    pub fn foreign(text: &str) -> Result<Self, SerialError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SerialError::Empty);
        }
        if text.chars().count() > 64 || text.chars().any(char::is_control) {
            return Err(SerialError::Foreign(text.chars().take(64).collect()));
        }
        Ok(Self {
            text: text.to_string(),
            kind: SerialKind::Foreign,
        })
    }

    /// Reads a stored serial: ours when it passes our checks, else foreign.
    pub fn restore(text: &str, kind: SerialKind) -> Result<Self, SerialError> {
        match kind {
            SerialKind::Checked => Self::parse(text),
            SerialKind::Foreign => Self::foreign(text),
        }
    }

    /// Whether a VIP-style serial (4 letters then 8 digits, no check digit) could be this text.
    pub fn looks_like_vip(text: &str) -> bool {
        let b = text.as_bytes();
        b.len() == 12
            && b[..4].iter().all(u8::is_ascii_uppercase)
            && b[4..].iter().all(u8::is_ascii_digit)
    }

    /// The serial without spaces, as stored and compared.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Ours or foreign.
    pub fn kind(&self) -> SerialKind {
        self.kind
    }

    /// The issuer prefix of one of our serials.
    pub fn prefix(&self) -> Option<Prefix> {
        match self.kind {
            SerialKind::Checked => Prefix::new(self.text.get(..4)?).ok(),
            SerialKind::Foreign => None,
        }
    }

    /// The serial as shown to people: ours grouped (`SSTA 1234 5678`), foreign verbatim.
    pub fn grouped(&self) -> String {
        match (
            self.kind,
            self.text.get(..4),
            self.text.get(4..8),
            self.text.get(8..),
        ) {
            (SerialKind::Checked, Some(a), Some(b), Some(c)) => format!("{a} {b} {c}"),
            _ => self.text.clone(),
        }
    }

    /// Whether what a person typed names this serial (spaces, hyphens, case and width ignored).
    pub fn matches_input(&self, typed: &str) -> bool {
        self.text == typed || input::normalize(&self.text) == input::normalize(typed)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_damm_values() {
        // The worked example of the Damm algorithm: 572 -> check digit 4.
        assert_eq!(damm([5, 7, 2]), 4);
        assert_eq!(damm([5, 7, 2, 4]), 0);
    }

    #[test]
    fn parse_and_show() {
        let s = Serial::from_parts(Prefix::ANDROID, 1_234_567);
        assert_eq!(s.as_str().len(), 12);
        assert_eq!(s.kind(), SerialKind::Checked);
        assert_eq!(s.prefix(), Some(Prefix::ANDROID));
        let check = s.as_str().as_bytes()[11] - b'0';
        assert_eq!(check, damm([1, 2, 3, 4, 5, 6, 7]));
        assert_eq!(s.grouped(), format!("SSTA 1234 567{check}"));
        for typed in [
            s.grouped(),
            s.as_str().to_lowercase(),
            format!("ssta-1234-567{check}"),
            format!(" SSTA1234 567{check} "),
            format!(
                "ＳＳＴＡ　１２３４　５６７{}",
                char::from_u32(0xFF10 + u32::from(check)).unwrap()
            ),
        ] {
            assert_eq!(Serial::parse(&typed).unwrap(), s, "{typed}");
            assert!(s.matches_input(&typed));
        }
    }

    #[test]
    fn clear_errors() {
        let good = Serial::from_parts(Prefix::ANDROID, 1_234_567);
        let wrong = (good.as_str().as_bytes()[11] - b'0' + 1) % 10;
        let typed = format!("SSTA 1234 567{wrong}");
        assert_eq!(
            Serial::parse(&typed).unwrap_err().to_string(),
            format!("serial SSTA 1234 567{wrong}: check digit is wrong, please re-type it")
        );
        assert_eq!(Serial::parse("  ").unwrap_err(), SerialError::Empty);
        assert!(Serial::parse("SSTA 1234 567")
            .unwrap_err()
            .to_string()
            .contains("has 11 characters"));
        assert_eq!(
            Serial::parse("SST1 1234 5678").unwrap_err(),
            SerialError::Prefix {
                input: "SST1 1234 5678".into(),
                position: 4
            }
        );
        assert_eq!(
            Serial::parse("SSTA 12X4 5678").unwrap_err(),
            SerialError::NotDigit {
                input: "SSTA 12X4 5678".into(),
                position: 7
            }
        );
        assert!(Serial::parse("SSTAé12345678").is_err());
        assert!(Prefix::new("SS1A").is_err());
        assert_eq!(Prefix::new("ssta").unwrap(), Prefix::ANDROID);
    }

    #[test]
    fn foreign_serials_kept_verbatim() {
        let vip = Serial::foreign("SYMC26070843").unwrap();
        assert_eq!(vip.kind(), SerialKind::Foreign);
        assert_eq!(vip.to_string(), "SYMC26070843");
        assert_eq!(vip.prefix(), None);
        assert!(Serial::looks_like_vip("VSST12345678"));
        assert!(!Serial::looks_like_vip("VSST1234567"));
        assert!(vip.matches_input("symc 2607 0843"));
        assert!(Serial::foreign("a\u{7}b").is_err());
        assert!(Serial::foreign(&"x".repeat(65)).is_err());
        assert_eq!(
            Serial::restore("SYMC26070843", SerialKind::Foreign).unwrap(),
            vip
        );
    }

    /// Every single-digit error and every neighbour swap is caught: over all
    /// 10^7 bodies in an optimised build, over every 37th body in a debug build.
    #[test]
    fn check_digit_catches_every_typo() {
        let stride = if cfg!(debug_assertions) { 37 } else { 1 };
        let mut checked = 0u64;
        for body in (0..BODIES).step_by(stride) {
            let mut d = [0u8; 8];
            d[..7].copy_from_slice(&digits_of(body));
            d[7] = damm(d[..7].iter().copied());
            // prefix[i]: interim before digit i; suffix[i][s]: final value from state s before digit i.
            let mut prefix = [0u8; 9];
            for i in 0..8 {
                prefix[i + 1] = DAMM[usize::from(prefix[i])][usize::from(d[i])];
            }
            assert_eq!(prefix[8], 0);
            let mut suffix = [[0u8; 10]; 9];
            suffix[8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
            for i in (0..8).rev() {
                for s in 0..10 {
                    suffix[i][s] = suffix[i + 1][usize::from(DAMM[s][usize::from(d[i])])];
                }
            }
            for i in 0..8 {
                for e in 0..10u8 {
                    if e != d[i] {
                        let state = DAMM[usize::from(prefix[i])][usize::from(e)];
                        assert_ne!(
                            suffix[i + 1][usize::from(state)],
                            0,
                            "substitution at {i} in {d:?}"
                        );
                    }
                }
            }
            for i in 0..7 {
                if d[i] != d[i + 1] {
                    let s1 = DAMM[usize::from(prefix[i])][usize::from(d[i + 1])];
                    let s2 = DAMM[usize::from(s1)][usize::from(d[i])];
                    assert_ne!(suffix[i + 2][usize::from(s2)], 0, "swap at {i} in {d:?}");
                }
            }
            checked += 1;
        }
        assert_eq!(checked, u64::from(BODIES).div_ceil(stride as u64));
    }

    proptest! {
        #[test]
        fn round_trip(body in 0u32..BODIES, prefix in "[A-Z]{4}") {
            let s = Serial::from_parts(Prefix::new(&prefix).unwrap(), body);
            prop_assert_eq!(Serial::parse(&s.grouped()).unwrap(), s.clone());
            prop_assert_eq!(Serial::parse(s.as_str()).unwrap(), s);
        }

        #[test]
        fn never_panics(text in "\\PC{0,20}") {
            let _ = Serial::parse(&text);
            let _ = Serial::foreign(&text);
        }
    }
}
