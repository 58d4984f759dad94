//! EMQX-style rates from a monotonic counter sampled once a second: `rate` (last second),
//! `rate_max` (highest so far) and `rate_last5m` (average over the last five minutes).

use std::collections::VecDeque;

use super::ResourceMetrics;

const FIVE_MINUTES: usize = 300;

#[derive(Debug, Default)]
pub struct RateMeter {
    last: Option<u64>,
    samples: VecDeque<f64>,
    max: f64,
    current: f64,
}

impl RateMeter {
    /// Feeds the counter's value; call once a second.
    pub fn observe(&mut self, counter: u64) {
        let rate = self
            .last
            .map_or(0.0, |last| counter.saturating_sub(last) as f64);
        self.last = Some(counter);
        self.current = rate;
        self.max = self.max.max(rate);
        if self.samples.len() == FIVE_MINUTES {
            self.samples.pop_front();
        }
        self.samples.push_back(rate);
    }

    pub fn rate(&self) -> f64 {
        self.current
    }

    pub fn rate_max(&self) -> f64 {
        self.max
    }

    pub fn rate_last5m(&self) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        self.samples.iter().sum::<f64>() / self.samples.len() as f64
    }

    pub fn report(&self, metrics: &ResourceMetrics) {
        metrics.set_gauge("rate", self.rate());
        metrics.set_gauge("rate_max", self.rate_max());
        metrics.set_gauge("rate_last5m", self.rate_last5m());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_the_counter() {
        let mut meter = RateMeter::default();
        meter.observe(100);
        assert_eq!(meter.rate(), 0.0, "the first sample only sets the baseline");
        meter.observe(110);
        meter.observe(140);
        assert_eq!(meter.rate(), 30.0);
        assert_eq!(meter.rate_max(), 30.0);
        meter.observe(140);
        assert_eq!(meter.rate(), 0.0);
        assert_eq!(meter.rate_max(), 30.0);
        assert_eq!(meter.rate_last5m(), 10.0);
    }
}
