//! Reading text that holds a secret (a key, a key URI) into memory that is wiped
//! when dropped, without leaving copies behind as the buffer grows.

use std::io::{ErrorKind, Read};
use zeroize::Zeroizing;

/// The first buffer's size; each growth doubles it.
const FIRST: usize = 16 * 1024;

/// Reads all of `reader`, up to `limit` bytes, as UTF-8. When the buffer must grow, the
/// bytes move to a new wiped buffer twice the size and the old one is wiped as it is
/// dropped: no buffer that ever held a byte of the text is freed unwiped.
pub fn read_to_string(mut reader: impl Read, limit: usize) -> std::io::Result<Zeroizing<String>> {
    let mut buf = Zeroizing::new(vec![0u8; FIRST.min(limit.max(1))]);
    let mut len = 0;
    loop {
        if len == buf.len() {
            if len >= limit {
                return Err(std::io::Error::new(
                    ErrorKind::InvalidData,
                    format!("more than {limit} bytes"),
                ));
            }
            let mut bigger = Zeroizing::new(vec![0u8; (len * 2).min(limit)]);
            bigger[..len].copy_from_slice(&buf[..len]);
            buf = bigger;
        }
        match reader.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // Shortening keeps the allocation (wiped whole, spare capacity too, when dropped).
    buf.truncate(len);
    let bytes = std::mem::take(&mut *buf);
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Err(std::io::Error::new(
                ErrorKind::InvalidData,
                "the text is not UTF-8",
            ))
        }
    }
}

/// Standard input without std's shared 8 KiB buffer (which would keep a copy of what
/// passed through it until the process ends): its handle, duplicated, read directly.
pub fn stdin() -> std::io::Result<Box<dyn Read>> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = std::io::stdin().as_fd().try_clone_to_owned()?;
        Ok(Box::new(std::fs::File::from(fd)))
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsHandle;
        let handle = std::io::stdin().as_handle().try_clone_to_owned()?;
        Ok(Box::new(std::fs::File::from(handle)))
    }
    #[cfg(not(any(unix, windows)))]
    {
        Ok(Box::new(std::io::stdin()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its text a few bytes at a time.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(out.len()).min(7);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn reads_across_growth_and_keeps_to_the_limit() {
        let text: String = (0..100_000)
            .map(|i| char::from(b'A' + (i % 26) as u8))
            .collect();
        let read = read_to_string(Trickle(text.as_bytes()), 1 << 20).unwrap();
        assert_eq!(read.as_str(), text);
        // The buffer doubled from FIRST and was never grown by the String itself.
        assert_eq!(read.capacity(), FIRST * 8);
        let e = read_to_string(Trickle(text.as_bytes()), 50_000).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert_eq!(read_to_string(&b""[..], 10).unwrap().as_str(), "");
        assert!(read_to_string(&[0xff, 0xfe][..], 10).is_err());
    }
}
