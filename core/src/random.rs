//! Random sources: the operating system's for real tokens, a seeded one that
//! tests and simulations can drive.

#[cfg(any(test, feature = "test-support"))]
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;

/// The random source failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "the operating system's random source failed ({0}); try again, and report it if it persists"
)]
pub struct EntropyError(pub String);

/// A source of random bytes.
pub trait Entropy: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), EntropyError>;
}

/// The operating system's cryptographic random source.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::fill(buf).map_err(|e| EntropyError(e.to_string()))
    }
}

/// A deterministic, seeded byte stream (SplitMix64) for tests and simulations; never for real tokens.
/// Only in test builds and with the `test-support` feature (enabled from dev-dependencies alone).
#[cfg(any(test, feature = "test-support"))]
#[derive(Debug, Default)]
pub struct SeededEntropy {
    state: AtomicU64,
}

#[cfg(any(test, feature = "test-support"))]
impl SeededEntropy {
    /// A stream that starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: AtomicU64::new(seed),
        }
    }

    fn next(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(any(test, feature = "test-support"))]
impl Entropy for SeededEntropy {
    fn fill(&self, buf: &mut [u8]) -> Result<(), EntropyError> {
        for chunk in buf.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Deterministic entropy for unit tests.
    pub(crate) type Counter = SeededEntropy;

    #[test]
    fn seeded_is_repeatable_and_os_is_not_constant() {
        let (a, b) = (SeededEntropy::new(7), SeededEntropy::new(7));
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        assert_eq!(x, y);
        a.fill(&mut y).unwrap();
        assert_ne!(x, y);
        let mut os = [0u8; 32];
        OsEntropy.fill(&mut os).unwrap();
        assert_ne!(os, [0u8; 32]);
    }
}
