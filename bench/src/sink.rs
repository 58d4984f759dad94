//! The receiving end of a measurement: where an MQTT subscriber or a Kafka reader hands each
//! message, and the progress counters the driver watches while it waits for a run to drain.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::payload;
use crate::tracker::Tracker;

/// Receives every message a subscriber or reader gets, on that receiver's own task.
pub trait MessageSink: Send + 'static {
    fn on_message(&mut self, payload: &[u8]);
}

/// Counters shared with the driver: read often, written by one task.
#[derive(Debug, Default)]
pub struct Progress {
    delivered: AtomicU64,
    probes: AtomicU64,
}

impl Progress {
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }
}

/// A sink that accounts for our stamped messages.
#[derive(Debug)]
pub struct TrackingSink {
    tracker: Tracker,
    progress: Arc<Progress>,
}

impl TrackingSink {
    /// Accounts for sequence numbers `first_seq..first_seq + expected`.
    pub fn new(first_seq: u64, expected: u64) -> (Self, Arc<Progress>) {
        let progress = Arc::new(Progress::default());
        (
            Self {
                tracker: Tracker::new(first_seq, expected),
                progress: progress.clone(),
            },
            progress,
        )
    }

    pub fn into_tracker(self) -> Tracker {
        self.tracker
    }
}

impl MessageSink for TrackingSink {
    fn on_message(&mut self, bytes: &[u8]) {
        self.tracker
            .record(payload::parse(bytes), Instant::now(), payload::now_us());
        self.progress
            .delivered
            .store(self.tracker.delivered(), Ordering::Relaxed);
        self.progress
            .probes
            .store(self.tracker.probes(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{PROBE_SEQ_BASE, build};

    #[test]
    fn progress_follows_the_tracker() {
        let (mut sink, progress) = TrackingSink::new(0, 10);
        sink.on_message(&build(PROBE_SEQ_BASE, 0));
        sink.on_message(&build(3, 0));
        sink.on_message(&build(3, 0));
        sink.on_message(b"{}");
        assert_eq!((progress.delivered(), progress.probes()), (1, 1));
        assert_eq!(sink.into_tracker().finish().duplicates, 1);
    }
}
