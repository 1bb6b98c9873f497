//! RFC 4648 base32, as people type it: upper or lower case, spaces and hyphens
//! between groups, padding optional. Errors name the position of the mistake.

use thiserror::Error;
use zeroize::Zeroizing;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Why a text is not base32.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Base32Error {
    /// A character outside A–Z, 2–7 (and the accepted separators).
    #[error("character {position} ('{character}') is not base32: only the letters A-Z and the digits 2-7 are used; check for 0/O, 1/I and 8/B")]
    InvalidCharacter {
        /// 1-based position in the text as given.
        position: usize,
        /// The offending character.
        character: char,
    },
    /// Padding (`=`) followed by more data.
    #[error("character {position}: '=' padding may only stand at the end")]
    MisplacedPadding {
        /// 1-based position in the text as given.
        position: usize,
    },
    /// A number of base32 characters that no byte string encodes to.
    #[error("{count} base32 characters cannot encode whole bytes: the text looks cut short, copy it again in full")]
    IncompleteLength {
        /// Base32 characters seen (separators and padding not counted).
        count: usize,
    },
    /// Nothing but separators.
    #[error("the base32 text is empty")]
    Empty,
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\t' | '\n' | '\r')
}

/// Decodes base32 text into bytes that are wiped when dropped.
///
/// The text is checked here first, so each mistake gets its own message; the
/// characters that remain (upper-cased, without separators and padding) are
/// decoded by the `base32` crate. Both buffers are sized before they are
/// filled and wiped when dropped.
pub fn decode(text: &str) -> Result<Zeroizing<Vec<u8>>, Base32Error> {
    let mut clean = Zeroizing::new(String::with_capacity(text.len()));
    let mut padding_at: Option<usize> = None;
    for (index, ch) in text.chars().enumerate() {
        let position = index + 1;
        if is_separator(ch) {
            continue;
        }
        if ch == '=' {
            padding_at.get_or_insert(position);
            continue;
        }
        if !matches!(ch, 'A'..='Z' | 'a'..='z' | '2'..='7') {
            return Err(Base32Error::InvalidCharacter {
                position,
                character: ch,
            });
        }
        if let Some(at) = padding_at {
            return Err(Base32Error::MisplacedPadding { position: at });
        }
        clean.push(ch.to_ascii_uppercase());
    }
    let count = clean.len();
    if count == 0 {
        return Err(Base32Error::Empty);
    }
    if matches!(count % 8, 1 | 3 | 6) {
        return Err(Base32Error::IncompleteLength { count });
    }
    // The crate sizes its buffer for whole 8-character groups before it fills it.
    ::base32::decode(::base32::Alphabet::Rfc4648 { padding: false }, &clean)
        .map(Zeroizing::new)
        .ok_or(Base32Error::IncompleteLength { count })
}

/// Encodes bytes as upper-case base32 without padding, in a buffer wiped when dropped.
///
/// Written here rather than by the `base32` crate: the crate's `encode` sizes
/// its buffer for 5 characters per 4 bytes and then grows it, which would
/// leave a copy of a secret's text in freed memory.
pub fn encode(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(bytes.len().div_ceil(5) * 8));
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u64::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc4648_vectors() {
        let cases: [(&str, &str); 7] = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(encode(plain.as_bytes()).as_str(), encoded);
            if !encoded.is_empty() {
                assert_eq!(decode(encoded).unwrap().as_slice(), plain.as_bytes());
            }
        }
        assert_eq!(
            decode("MZXW6YQ=").unwrap().as_slice(),
            b"foob",
            "padding accepted"
        );
    }

    #[test]
    fn people_typing() {
        let want = decode("JBSWY3DPEHPK3PXP").unwrap();
        for typed in [
            "jbsw y3dp ehpk 3pxp",
            "JBSW-Y3DP-EHPK-3PXP",
            "jbswY3dpehpk3pxp====",
        ] {
            assert_eq!(decode(typed).unwrap(), want, "{typed}");
        }
    }

    #[test]
    fn errors_name_the_position() {
        assert_eq!(
            decode("JBSW Y3D0").unwrap_err(),
            Base32Error::InvalidCharacter {
                position: 9,
                character: '0'
            }
        );
        let message = decode("JBSWY1").unwrap_err().to_string();
        assert!(
            message.starts_with("character 6 ('1') is not base32"),
            "{message}"
        );
        assert_eq!(
            decode("MY=A").unwrap_err(),
            Base32Error::MisplacedPadding { position: 3 }
        );
        assert_eq!(decode(" - ").unwrap_err(), Base32Error::Empty);
        assert_eq!(
            decode("MZX").unwrap_err(),
            Base32Error::IncompleteLength { count: 3 }
        );
        assert!(matches!(
            decode("JBSWÿ"),
            Err(Base32Error::InvalidCharacter {
                position: 5,
                character: 'ÿ'
            })
        ));
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 1..80)) {
            let text = encode(&bytes);
            prop_assert_eq!(text.capacity(), bytes.len().div_ceil(5) * 8, "the text's buffer never grew");
            let decoded = decode(&text).unwrap();
            // Sized once for whole groups of 8 characters: never grown, so no copy left behind.
            prop_assert_eq!(decoded.capacity(), text.len().div_ceil(8) * 5);
            prop_assert_eq!(decoded.to_vec(), bytes.clone());
            prop_assert_eq!(decode(&text.to_lowercase()).unwrap().to_vec(), bytes);
        }

        #[test]
        fn agrees_with_the_base32_crate(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let theirs = ::base32::encode(::base32::Alphabet::Rfc4648 { padding: false }, &bytes);
            prop_assert_eq!(encode(&bytes).to_string(), theirs);
            let padded = ::base32::encode(::base32::Alphabet::Rfc4648 { padding: true }, &bytes);
            if !bytes.is_empty() {
                prop_assert_eq!(decode(&padded).unwrap().to_vec(), bytes);
            }
        }

        #[test]
        fn never_panics(text in "\\PC{0,64}") {
            let _ = decode(&text);
        }
    }
}
