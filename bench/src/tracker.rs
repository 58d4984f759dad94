//! Delivery accounting at the receiving end: which sequence numbers arrived, how often, when, and
//! how late. One tracker per measured run, fed by exactly one receiving task.

use std::time::{Duration, Instant};

use crate::payload::Stamp;
use crate::stats::{self, Percentiles};

#[derive(Debug)]
pub struct Tracker {
    /// One bit per expected sequence number, from `first_seq`.
    seen: Vec<u64>,
    first_seq: u64,
    expected: u64,
    delivered: u64,
    duplicates: u64,
    probes: u64,
    /// Messages that are not ours or carry a sequence number outside the run.
    foreign: u64,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
    latencies_us: Vec<u64>,
    /// When each latency sample arrived, in ms after the first delivery: the timeline of the
    /// tail (a backlog at the start, a periodic stall) that percentiles over the run hide.
    arrivals_ms: Vec<u32>,
}

/// Latency percentiles of the deliveries that arrived within one slice of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// The slice's start, after the first delivery.
    pub from: Duration,
    pub latency: Percentiles,
}

/// How long one slice of the latency timeline is.
pub const SLICE: Duration = Duration::from_millis(500);

/// Where [`Deliveries::settled`] starts, after the first delivery.
pub const SETTLED_AFTER: Duration = Duration::from_secs(1);

/// What a tracker concluded once the run was over.
#[derive(Debug, Clone, PartialEq)]
pub struct Deliveries {
    pub delivered: u64,
    pub duplicates: u64,
    pub probes: u64,
    pub foreign: u64,
    /// From the first to the last delivered message.
    pub window: Duration,
    pub rate: f64,
    pub latency: Percentiles,
    /// Of the deliveries that arrived [`SETTLED_AFTER`] or more after the first: the run
    /// without its start, where every pipeline (the baselines too) shows a transient.
    pub settled: Percentiles,
    /// The latency slice by slice ([`SLICE`]), in arrival order.
    pub timeline: Vec<Slice>,
}

impl Tracker {
    /// A tracker for sequence numbers `first_seq..first_seq + expected`; others are foreign (an
    /// earlier run's messages still in a topic, say).
    pub fn new(first_seq: u64, expected: u64) -> Self {
        Self {
            seen: vec![0; expected.div_ceil(64) as usize],
            first_seq,
            expected,
            delivered: 0,
            duplicates: 0,
            probes: 0,
            foreign: 0,
            first_at: None,
            last_at: None,
            latencies_us: Vec::with_capacity(expected.min(1 << 22) as usize),
            arrivals_ms: Vec::with_capacity(expected.min(1 << 22) as usize),
        }
    }

    /// Records one received message; `None` stands for a message that is not ours.
    pub fn record(&mut self, stamp: Option<Stamp>, received_at: Instant, received_at_us: u64) {
        let Some(stamp) = stamp else {
            self.foreign += 1;
            return;
        };
        if stamp.is_probe() {
            self.probes += 1;
            return;
        }
        let Some(index) = stamp
            .seq
            .checked_sub(self.first_seq)
            .filter(|i| *i < self.expected)
        else {
            self.foreign += 1;
            return;
        };
        let (word, bit) = ((index / 64) as usize, 1u64 << (index % 64));
        if self.seen[word] & bit != 0 {
            self.duplicates += 1;
            return;
        }
        self.seen[word] |= bit;
        self.delivered += 1;
        let first_at = *self.first_at.get_or_insert(received_at);
        self.last_at = Some(received_at);
        self.latencies_us
            .push(received_at_us.saturating_sub(stamp.sent_at_us));
        let after_first = received_at.saturating_duration_since(first_at).as_millis();
        self.arrivals_ms
            .push(u32::try_from(after_first).unwrap_or(u32::MAX));
    }

    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    pub fn probes(&self) -> u64 {
        self.probes
    }

    pub fn finish(mut self) -> Deliveries {
        let window = match (self.first_at, self.last_at) {
            (Some(first), Some(last)) => last.duration_since(first),
            _ => Duration::ZERO,
        };
        let timeline = timeline(&self.latencies_us, &self.arrivals_ms);
        let settled_from = self
            .arrivals_ms
            .partition_point(|at| u128::from(*at) < SETTLED_AFTER.as_millis());
        let settled = Percentiles::from_samples(&mut self.latencies_us[settled_from..].to_vec());
        Deliveries {
            timeline,
            settled,
            delivered: self.delivered,
            duplicates: self.duplicates,
            probes: self.probes,
            foreign: self.foreign,
            window,
            rate: stats::rate(self.delivered.saturating_sub(1), window),
            latency: Percentiles::from_samples(&mut self.latencies_us),
        }
    }
}

/// Cuts the samples (in arrival order) into slices of [`SLICE`] by arrival time.
fn timeline(latencies_us: &[u64], arrivals_ms: &[u32]) -> Vec<Slice> {
    let slice_ms = SLICE.as_millis() as u32;
    let mut slices = Vec::new();
    let mut start = 0;
    while start < arrivals_ms.len() {
        let index = arrivals_ms[start] / slice_ms;
        let end = start
            + arrivals_ms[start..]
                .iter()
                .take_while(|at| **at / slice_ms == index)
                .count();
        let mut samples = latencies_us[start..end].to_vec();
        slices.push(Slice {
            from: SLICE * index,
            latency: Percentiles::from_samples(&mut samples),
        });
        start = end;
    }
    slices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::PROBE_SEQ_BASE;

    fn stamp(seq: u64, sent_at_us: u64) -> Option<Stamp> {
        Some(Stamp { seq, sent_at_us })
    }

    #[test]
    fn counts_duplicates_probes_foreign_and_missing_separately() {
        let start = Instant::now();
        let mut tracker = Tracker::new(1000, 100);
        for seq in (1000..1100).filter(|s| s % 10 != 3) {
            tracker.record(stamp(seq, 1000), start, 1500);
        }
        tracker.record(stamp(1005, 1000), start, 1500);
        tracker.record(stamp(PROBE_SEQ_BASE + 1, 0), start, 1);
        tracker.record(stamp(1100, 0), start, 1);
        tracker.record(stamp(999, 0), start, 1);
        tracker.record(None, start, 1);
        let d = tracker.finish();
        assert_eq!(
            (d.delivered, d.duplicates, d.probes, d.foreign),
            (90, 1, 1, 3)
        );
        assert_eq!(d.latency.max_us, 500);
    }

    #[test]
    fn the_timeline_shows_where_in_the_run_the_tail_was() {
        let start = Instant::now();
        let mut tracker = Tracker::new(0, 30);
        // 0-0.5 s: 1 ms each; 0.5-1 s: nothing; 1-1.5 s: 90 ms each (a stall).
        for seq in 0..10 {
            tracker.record(
                stamp(seq, 0),
                start + Duration::from_millis(40 * seq),
                1_000,
            );
        }
        for seq in 10..30 {
            let at = start + Duration::from_millis(1_000 + 10 * (seq - 10));
            tracker.record(stamp(seq, 0), at, 90_000);
        }
        let d = tracker.finish();
        let slices: Vec<_> = d
            .timeline
            .iter()
            .map(|s| (s.from.as_millis(), s.latency.samples, s.latency.p99_us))
            .collect();
        assert_eq!(slices, vec![(0, 10, 1_000), (1_000, 20, 90_000)]);
        assert_eq!(
            (d.settled.samples, d.settled.p50_us),
            (20, 90_000),
            "settled: from 1 s on"
        );
        assert_eq!(
            d.latency.samples, 30,
            "the whole run's percentiles still cover every sample"
        );
    }

    #[test]
    fn rate_spans_first_to_last_delivery() {
        let start = Instant::now();
        let mut tracker = Tracker::new(0, 11);
        for seq in 0..11 {
            tracker.record(stamp(seq, 0), start + Duration::from_millis(100 * seq), 0);
        }
        let d = tracker.finish();
        assert_eq!(d.window, Duration::from_secs(1));
        assert!(
            (d.rate - 10.0).abs() < 1e-9,
            "10 intervals in 1 s, got {}",
            d.rate
        );
    }

    #[test]
    fn empty_run_reports_zero() {
        let d = Tracker::new(0, 0).finish();
        assert_eq!((d.delivered, d.rate), (0, 0.0));
    }
}
