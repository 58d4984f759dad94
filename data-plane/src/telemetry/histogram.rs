//! A latency histogram cheap enough for every message: fixed buckets, one atomic add for the
//! bucket and one for the sum, no lock and no allocation (the client library's histogram takes a
//! lock per observation).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Upper bounds in seconds: from a millisecond (a local broker) to a minute (a backlog after an
/// outage); everything above lands in `+Inf`.
pub const BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The same bounds in microseconds, what observations are compared with.
const BOUNDS_MICROS: [u64; 15] = {
    let mut micros = [0; 15];
    let mut i = 0;
    while i < BUCKETS.len() {
        micros[i] = (BUCKETS[i] * 1e6) as u64;
        i += 1;
    }
    micros
};

/// Handles share the counts: cloning is one reference count.
#[derive(Debug, Clone, Default)]
pub struct LatencyHistogram {
    inner: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    /// Per bucket (not cumulative); the last is `+Inf`.
    buckets: [AtomicU64; 16],
    sum_micros: AtomicU64,
}

impl LatencyHistogram {
    pub fn observe(&self, latency: Duration) {
        self.observe_micros(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// The time since `since_ms` (milliseconds since the Unix epoch, as MQTT arrival times and
    /// Kafka timestamps are) at `now_ms`; a time in the future (clocks apart) counts as zero.
    pub fn observe_since_ms(&self, since_ms: i64, now_ms: i64) {
        let millis = u64::try_from(now_ms.saturating_sub(since_ms)).unwrap_or(0);
        self.observe_micros(millis.saturating_mul(1000));
    }

    fn observe_micros(&self, micros: u64) {
        let bucket = BOUNDS_MICROS
            .iter()
            .position(|bound| micros <= *bound)
            .unwrap_or(BOUNDS_MICROS.len());
        self.inner.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.inner.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.inner
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .sum()
    }
}

/// Milliseconds since the Unix epoch now, for [`LatencyHistogram::observe_since_ms`].
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let mut buckets = [(f64::MAX, 0u64); 16];
        for (i, count) in self.inner.buckets.iter().enumerate() {
            // The client library writes `f64::MAX` as `+Inf`.
            let bound = BUCKETS.get(i).copied().unwrap_or(f64::MAX);
            buckets[i] = (bound, count.load(Ordering::Relaxed));
        }
        let count = buckets.iter().map(|(_, c)| c).sum();
        let sum = self.inner.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;

    use super::*;

    #[test]
    fn observations_land_in_cumulative_buckets() {
        let histogram = LatencyHistogram::default();
        histogram.observe(Duration::from_micros(800));
        histogram.observe(Duration::from_millis(1));
        histogram.observe(Duration::from_millis(30));
        histogram.observe(Duration::from_secs(120));
        histogram.observe_since_ms(1_000, 1_200);
        histogram.observe_since_ms(2_000, 1_000);
        assert_eq!(histogram.count(), 6);

        let mut registry = Registry::default();
        registry.register("latency_seconds", "test", histogram.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            "# TYPE latency_seconds histogram",
            r#"latency_seconds_bucket{le="0.001"} 3"#,
            r#"latency_seconds_bucket{le="0.025"} 3"#,
            r#"latency_seconds_bucket{le="0.05"} 4"#,
            r#"latency_seconds_bucket{le="0.25"} 5"#,
            r#"latency_seconds_bucket{le="60.0"} 5"#,
            r#"latency_seconds_bucket{le="+Inf"} 6"#,
            "latency_seconds_count 6",
            "latency_seconds_sum 120.2318",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
    }
}
