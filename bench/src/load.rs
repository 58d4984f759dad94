//! What every load generator is asked to do and what it reports back, whatever protocol it speaks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::sink::Progress;

/// How much to send: `count` messages or until `max_duration`, whichever comes first, flat out or
/// paced at `rate` messages per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadPlan {
    pub count: u64,
    pub max_duration: Duration,
    pub rate: Option<f64>,
    /// Sequence number of the first message (probes use their own range).
    pub seq_base: u64,
}

impl LoadPlan {
    /// One probe message, sent to learn whether a pipeline is ready.
    pub fn probe(seq: u64) -> Self {
        Self {
            count: 1,
            max_duration: Duration::from_secs(5),
            rate: None,
            seq_base: seq,
        }
    }
}

/// The sending side's account of a run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SendReport {
    /// Handed to the client library.
    pub sent: u64,
    /// Confirmed by the first hop: PUBACK (MQTT QoS 1), written (QoS 0), delivery report (Kafka).
    pub confirmed: u64,
    /// Refused by the first hop.
    pub failed: u64,
    pub elapsed: Duration,
}

impl SendReport {
    pub fn merge(self, other: Self) -> Self {
        Self {
            sent: self.sent + other.sent,
            confirmed: self.confirmed + other.confirmed,
            failed: self.failed + other.failed,
            elapsed: self.elapsed.max(other.elapsed),
        }
    }
}

/// Spreads `count` messages over `lanes` senders: lane `k` sends `seq_base + k`, `+ lanes`, ...
/// and is paced at its share of the rate.
pub fn lane_plan(plan: &LoadPlan, lanes: u64, lane: u64) -> (u64, Option<f64>) {
    let lanes = lanes.max(1);
    let count = plan.count / lanes + u64::from(lane < plan.count % lanes);
    (count, plan.rate.map(|r| r / lanes as f64))
}

/// When message `index` of a paced sender is due.
pub fn due_at(start: Instant, index: u64, rate: f64) -> Instant {
    if rate <= 0.0 {
        return start;
    }
    start + Duration::from_secs_f64(index as f64 / rate)
}

/// Keeps at most `limit` messages between the senders and the far end. Without it a flat-out
/// sender fills a slow pipeline's queues (the broker's, a Kafka topic) with a backlog that takes
/// minutes to drain and then distorts the next run; with it the far end still never starves.
#[derive(Debug, Clone)]
pub struct Window {
    progress: Arc<Progress>,
    admitted: Arc<AtomicU64>,
    limit: u64,
}

impl Window {
    pub fn new(progress: Arc<Progress>, limit: u64) -> Self {
        Self {
            progress,
            admitted: Arc::new(AtomicU64::new(0)),
            limit: limit.max(1),
        }
    }

    fn full(&self) -> bool {
        let outstanding = self
            .admitted
            .load(Ordering::Relaxed)
            .saturating_sub(self.progress.delivered());
        outstanding >= self.limit
    }

    /// Waits for room for one more message; `false` when `deadline` passed first.
    pub async fn admit(&self, deadline: Instant) -> bool {
        while self.full() {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.admitted.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// [`Window::admit`] for a sender on a blocking thread.
    pub fn admit_blocking(&self, deadline: Instant) -> bool {
        while self.full() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        self.admitted.fetch_add(1, Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_share_the_count_exactly_and_split_the_rate() {
        let plan = LoadPlan {
            count: 10,
            max_duration: Duration::from_secs(1),
            rate: Some(900.0),
            seq_base: 0,
        };
        let counts: Vec<u64> = (0..3).map(|k| lane_plan(&plan, 3, k).0).collect();
        assert_eq!(counts, vec![4, 3, 3]);
        assert_eq!(lane_plan(&plan, 3, 0).1, Some(300.0));
        assert_eq!(lane_plan(&plan, 0, 0).0, 10, "zero lanes means one");
    }

    #[tokio::test]
    async fn window_admits_up_to_its_limit_then_waits_for_deliveries() {
        let (mut sink, progress) = crate::sink::TrackingSink::new(0, 10);
        let window = Window::new(progress, 2);
        let soon = Instant::now() + Duration::from_millis(30);
        assert!(window.admit(soon).await);
        assert!(window.admit(soon).await);
        assert!(
            !window.admit(soon).await,
            "third message must wait and time out"
        );
        use crate::sink::MessageSink;
        sink.on_message(&crate::payload::build(0, 0));
        assert!(window.admit_blocking(Instant::now() + Duration::from_millis(30)));
    }

    #[test]
    fn pacing_schedule() {
        let start = Instant::now();
        assert_eq!(due_at(start, 0, 1000.0), start);
        assert_eq!(
            due_at(start, 500, 1000.0),
            start + Duration::from_millis(500)
        );
        assert_eq!(due_at(start, 7, 0.0), start);
    }
}
