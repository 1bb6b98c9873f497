//! Per-address rate limits for token issuance: a token bucket per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// A token bucket per address: `burst` at once, refilled at `per_minute`.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

const MAX_TRACKED: usize = 100_000;

impl RateLimiter {
    /// A limiter allowing `burst` requests at once and `per_minute` on average per address.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            burst: burst.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `addr`: `Ok` when allowed, else the seconds to wait.
    pub fn take(&self, addr: IpAddr) -> Result<(), u64> {
        self.take_at(addr, Instant::now())
    }

    fn take_at(&self, addr: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let rate = f64::from(self.per_minute) / 60.0;
        let burst = f64::from(self.burst);
        if buckets.len() >= MAX_TRACKED {
            // Forget addresses whose buckets are full again.
            buckets.retain(|_, (level, at)| {
                *level + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (level, at) = buckets.entry(addr).or_insert((burst, now));
        *level = (*level + now.saturating_duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *level) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_rate() {
        let l = RateLimiter::new(60, 3);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.take_at(a, t), Ok(()));
        }
        assert_eq!(l.take_at(a, t), Err(1));
        assert_eq!(l.take_at(b, t), Ok(()), "each address has its own bucket");
        assert_eq!(l.take_at(a, t + Duration::from_millis(1100)), Ok(()));
        assert!(l.take_at(a, t + Duration::from_millis(1100)).is_err());
    }
}
