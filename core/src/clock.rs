//! Time: a hook the host may implement, the system clock by default, a clock
//! tests can drive, and the stored offset for a device clock known to be wrong.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Why the current time could not be had.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClockError {
    /// The clock reads a time before 1 January 1970.
    #[error("the device clock is set before 1970: set the date and time correctly")]
    BeforeEpoch,
    /// The clock offset carries the time outside 1970 ..= u64::MAX seconds.
    #[error("clock offset {offset} s moves time {time} out of range: set a smaller offset")]
    OffsetOutOfRange {
        /// The device time.
        time: u64,
        /// The stored offset.
        offset: i64,
    },
    /// The host's clock failed.
    #[error("the clock failed: {0}")]
    Host(String),
}

/// A source of the current Unix time in seconds.
pub trait Clock: Send + Sync {
    /// The current Unix time in whole seconds.
    fn now(&self) -> Result<u64, ClockError>;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Result<u64, ClockError> {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .map_err(|_| ClockError::BeforeEpoch)
    }
}

/// A clock that stands still until moved: for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock standing at Unix time `time`.
    pub fn new(time: u64) -> Self {
        Self(AtomicU64::new(time))
    }

    /// Sets the time.
    pub fn set(&self, time: u64) {
        self.0.store(time, Ordering::SeqCst);
    }

    /// Moves the time forward (saturating at u64::MAX).
    pub fn advance(&self, seconds: u64) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(seconds))
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Result<u64, ClockError> {
        Ok(self.0.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Result<u64, ClockError> {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Result<u64, ClockError> {
        (**self).now()
    }
}

/// Applies a correction of `offset` seconds (either sign) to a device time.
pub fn corrected(time: u64, offset: i64) -> Result<u64, ClockError> {
    time.checked_add_signed(offset)
        .ok_or(ClockError::OffsetOutOfRange { time, offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now().unwrap() > 1_577_836_800);
    }

    #[test]
    fn manual_clock_moves() {
        let c = ManualClock::new(10);
        c.advance(5);
        assert_eq!(c.now().unwrap(), 15);
        c.set(u64::MAX - 1);
        c.advance(10);
        assert_eq!(c.now().unwrap(), u64::MAX);
        let shared = std::sync::Arc::new(ManualClock::new(3));
        assert_eq!(shared.now().unwrap(), 3);
    }

    #[test]
    fn offsets() {
        assert_eq!(corrected(100, -40).unwrap(), 60);
        assert_eq!(corrected(100, 40).unwrap(), 140);
        assert_eq!(
            corrected(10, -11).unwrap_err(),
            ClockError::OffsetOutOfRange {
                time: 10,
                offset: -11
            }
        );
        assert!(corrected(u64::MAX, 1).is_err());
        assert!(corrected(5, i64::MIN).is_err());
    }
}
