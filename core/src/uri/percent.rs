//! Percent-encoding (RFC 3986) for key URIs, and text sized before it is
//! written: a URI holds a secret, so its buffer must never grow (a grown
//! buffer leaves the old copy in freed memory).

use super::UriError;
use std::fmt::{self, Write};
use zeroize::{Zeroize, Zeroizing};

/// Counts the bytes written.
struct Len(usize);

impl Write for Len {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Text written twice by `write`: first measured, then into a buffer of
/// exactly that size, wiped when dropped. `write` must write the same both times.
pub(crate) fn exact(write: impl Fn(&mut dyn Write) -> fmt::Result) -> Zeroizing<String> {
    let mut len = Len(0);
    // Neither writer fails: `Len` counts, and a String takes any text.
    let _ = write(&mut len);
    let mut out = Zeroizing::new(String::with_capacity(len.0));
    let _ = write(&mut *out);
    out
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Writes `text` with everything but RFC 3986's unreserved characters
/// percent-encoded, straight into `out` (no buffer of its own).
pub(crate) fn percent_encode(out: &mut dyn Write, text: &str) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if is_unreserved(b) {
            out.write_char(char::from(b))?;
        } else {
            out.write_char('%')?;
            out.write_char(char::from(HEX[usize::from(b >> 4)]))?;
            out.write_char(char::from(HEX[usize::from(b & 0xf)]))?;
        }
    }
    Ok(())
}

/// Decodes `%XX` escapes (and, in query values, `+` as a space); `offset`
/// places errors in the whole URI. The result is never longer than the text,
/// so its buffer is sized once; it is wiped when dropped, also on an error.
pub(crate) fn percent_decode(
    text: &str,
    plus_is_space: bool,
    offset: usize,
) -> Result<Zeroizing<String>, UriError> {
    let bytes = text.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or(UriError::BadPercentEncoding(offset + i + 1))?;
                out.push(hex);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    if std::str::from_utf8(&out).is_err() {
        return Err(UriError::BadPercentEncoding(offset + 1));
    }
    match String::from_utf8(std::mem::take(&mut *out)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        // Checked just above; the bytes are wiped all the same.
        Err(e) => {
            e.into_bytes().zeroize();
            Err(UriError::BadPercentEncoding(offset + 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_all_but_unreserved() {
        let text = exact(|out| percent_encode(out, "a b:c/é~-._+%"));
        assert_eq!(text.as_str(), "a%20b%3Ac%2F%C3%A9~-._%2B%25");
        assert_eq!(text.capacity(), text.len());
        assert_eq!(
            percent_decode(&text, false, 0).unwrap().as_str(),
            "a b:c/é~-._+%"
        );
        assert_eq!(percent_decode("a+b", true, 0).unwrap().as_str(), "a b");
        assert_eq!(percent_decode("a+b", false, 0).unwrap().as_str(), "a+b");
    }

    #[test]
    fn exact_text_is_sized_once() {
        for n in [0, 1, 127, 128, 129, 1000] {
            let text = exact(|out| {
                for i in 0..n {
                    write!(out, "{}", i % 10)?;
                }
                Ok(())
            });
            assert_eq!((text.len(), text.capacity()), (n, n));
        }
    }

    #[test]
    fn errors_name_the_character() {
        assert_eq!(
            percent_decode("ab%zz", false, 10).unwrap_err(),
            UriError::BadPercentEncoding(13)
        );
        assert_eq!(
            percent_decode("ab%F", false, 0).unwrap_err(),
            UriError::BadPercentEncoding(3)
        );
        assert_eq!(
            percent_decode("%FF", false, 4).unwrap_err(),
            UriError::BadPercentEncoding(5)
        );
    }
}
