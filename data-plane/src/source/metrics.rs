//! The source's counters (`received`, `success`, `failed` with a reason, `dropped`), its
//! `latency` histogram and its `rate`, `rate_max` and `rate_last5m` gauges, under
//! `source:kafka_consumer:<name>`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::failure::DeliveryFailure;
use crate::telemetry::metrics::CounterHandle;
use crate::telemetry::{LatencyHistogram, ResourceMetrics};

#[derive(Debug, Clone)]
pub struct SourceMetrics {
    pub resource: Arc<ResourceMetrics>,
    pub received: CounterHandle,
    /// Records whose every publish was acknowledged (or that no rule selected).
    pub success: CounterHandle,
    /// Records with at least one failure that retrying cannot fix.
    pub failed: CounterHandle,
    /// Records neither a topic mapping nor a rule took.
    pub dropped: CounterHandle,
    /// From a succeeded record's Kafka timestamp to its last acknowledgement.
    pub latency: LatencyHistogram,
}

impl SourceMetrics {
    pub fn new(resource: Arc<ResourceMetrics>) -> Self {
        Self {
            received: resource.counter("received"),
            success: resource.counter("success"),
            failed: resource.counter("failed"),
            dropped: resource.counter("dropped"),
            latency: resource.histogram("latency"),
            resource,
        }
    }

    /// Counts one failed record, under `failed` and each distinct reason.
    pub fn record_failed(&self, failures: &[DeliveryFailure]) {
        self.failed.inc();
        let mut reasons: Vec<&'static str> = failures.iter().map(DeliveryFailure::metric).collect();
        reasons.sort_unstable();
        reasons.dedup();
        for reason in reasons {
            self.resource.inc(reason);
        }
    }

    /// Refreshes the rate gauges every second until `shutdown`.
    pub async fn report_rates(self, shutdown: CancellationToken) {
        let mut meter = RateMeter::new(self.received.get(), Instant::now());
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let rates = meter.observe(self.received.get(), Instant::now());
            self.resource.set_gauge("rate", rates.current);
            self.resource.set_gauge("rate_max", rates.max);
            self.resource.set_gauge("rate_last5m", rates.last_5m);
        }
        self.resource.set_gauge("rate", 0.0);
    }
}

/// Messages per second from a monotonic counter.
#[derive(Debug)]
pub struct RateMeter {
    /// `(time, count)` samples of the last [`Self::WINDOW`], oldest first.
    samples: std::collections::VecDeque<(Instant, u64)>,
    max: f64,
    last_5m: f64,
    last: (Instant, u64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Over the last few seconds.
    pub current: f64,
    pub max: f64,
    /// Exponentially weighted over five minutes.
    pub last_5m: f64,
}

impl RateMeter {
    const WINDOW: Duration = Duration::from_secs(5);
    const LONG: Duration = Duration::from_secs(300);

    pub fn new(count: u64, now: Instant) -> Self {
        Self {
            samples: std::iter::once((now, count)).collect(),
            max: 0.0,
            last_5m: 0.0,
            last: (now, count),
        }
    }

    pub fn observe(&mut self, count: u64, now: Instant) -> Rates {
        self.samples.push_back((now, count));
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > Self::WINDOW)
            && self.samples.len() > 2
        {
            self.samples.pop_front();
        }
        let current = self.samples.front().map_or(0.0, |(at, first)| {
            per_second(count.saturating_sub(*first), now.duration_since(*at))
        });
        let (last_at, last_count) = self.last;
        let elapsed = now.duration_since(last_at);
        let instant = per_second(count.saturating_sub(last_count), elapsed);
        let alpha = 1.0 - (-elapsed.as_secs_f64() / Self::LONG.as_secs_f64()).exp();
        self.last_5m += alpha * (instant - self.last_5m);
        self.last = (now, count);
        self.max = self.max.max(current);
        Rates {
            current,
            max: self.max,
            last_5m: self.last_5m,
        }
    }
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        0.0
    } else {
        count as f64 / secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_the_counter() {
        let start = Instant::now();
        let mut meter = RateMeter::new(0, start);
        let mut rates = meter.observe(0, start);
        for second in 1..=10u64 {
            rates = meter.observe(second * 100, start + Duration::from_secs(second));
        }
        assert!((rates.current - 100.0).abs() < 1e-6, "{rates:?}");
        assert!((rates.max - 100.0).abs() < 1e-6);
        assert!(rates.last_5m > 0.0 && rates.last_5m < 100.0, "{rates:?}");

        // Traffic stops: the current rate falls to zero within the window, the peak stays.
        for second in 11..=20u64 {
            rates = meter.observe(1000, start + Duration::from_secs(second));
        }
        assert_eq!(rates.current, 0.0);
        assert!((rates.max - 100.0).abs() < 1e-6);
    }
}
