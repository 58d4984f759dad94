//! Jittered exponential backoff for reconnects and retries.
//!
//! rumqttc reconnects as fast as it is polled; without jitter every worker of a fleet would
//! hammer a recovering broker in lockstep.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            current: min,
        }
    }

    /// The delay to wait now: the current step with ±50 % jitter; the step then doubles up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        let jitter = rand::thread_rng().gen_range(0.5..1.5);
        base.mul_f64(jitter).min(self.max)
    }

    /// Back to the shortest delay, after a success.
    pub fn reset(&mut self) {
        self.current = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let first = backoff.next_delay();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(150));
        for _ in 0..10 {
            assert!(backoff.next_delay() <= Duration::from_secs(2));
        }
        let late = backoff.next_delay();
        assert!(late >= Duration::from_secs(1), "{late:?}");
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(150));
    }
}
