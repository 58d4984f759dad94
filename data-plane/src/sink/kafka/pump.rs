//! The memory buffer of an `async` action and the pump that moves its records into librdkafka.
//!
//! In `async` mode the MQTT message is acknowledged once its record is buffered, so the rule never
//! waits on a full librdkafka queue: records wait here instead, each partition bounded by
//! `per_partition_limit` bytes, its oldest records dropped (and counted as `dropped.queue_full`)
//! to make room, as EMQX's buffer does. The pump hands the oldest record to librdkafka while it
//! has room and waits for a delivery when it has none.
//!
//! "Room in librdkafka" is counted here too, in the same bytes as the buffer (key, value and
//! headers): librdkafka's `queue.buffering.max.kbytes` counts only values, so records with large
//! keys or headers and small values filled it up to its message-count limit (100,000) instead,
//! and a worker whose Kafka was unreachable for 15 s grew by 140 MB without dropping anything.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tributary_connect::record::RenderedRecord;

use super::buffer::{PartitionBuffers, Taken};
use super::delivery::{FailureReason, Outcome, classify};
use super::outcomes::{ActionOutcomes, Counted, Origin};
use super::report::Report;
use crate::backoff::Backoff;
use crate::telemetry::ResourceMetrics;
use crate::telemetry::metrics::CounterHandle;

#[derive(Debug)]
struct Waiting {
    record: RenderedRecord,
    origin: Origin,
}

/// Why a buffered record was dropped; each is counted as `dropped` and under its own name.
#[derive(Debug, Clone, Copy)]
enum DropCause {
    /// Its partition's buffer was full and it was the oldest.
    QueueFull,
    /// The action stopped (or flushed) before librdkafka took it.
    Stopped,
}

#[derive(Debug)]
pub struct MemoryBuffer {
    buffers: Mutex<PartitionBuffers<Waiting>>,
    /// Signalled when a record is buffered.
    arrived: Notify,
    /// Records the pump took out and has not yet handed over or put back.
    in_hand: AtomicUsize,
    /// Bytes (as `record_size` counts them) handed to librdkafka and not yet delivered, and the
    /// most there may be.
    in_librdkafka: AtomicU64,
    librdkafka_limit: u64,
    dropped: CounterHandle,
    queue_full: CounterHandle,
    stopped: CounterHandle,
}

impl MemoryBuffer {
    /// `librdkafka_limit`: the most record bytes this action keeps in librdkafka at once.
    pub fn new(per_partition_limit: u64, librdkafka_limit: u64, metrics: &ResourceMetrics) -> Self {
        Self {
            buffers: Mutex::new(PartitionBuffers::new(per_partition_limit)),
            arrived: Notify::new(),
            in_hand: AtomicUsize::new(0),
            in_librdkafka: AtomicU64::new(0),
            librdkafka_limit,
            dropped: metrics.counter("dropped"),
            queue_full: metrics.counter("dropped.queue_full"),
            stopped: metrics.counter("dropped.resource_stopped"),
        }
    }

    /// Hands the record to librdkafka at once when nothing waits before it (the common case:
    /// no hop through the pump, and no older record it could overtake), else buffers it for
    /// `partition` (`None`: librdkafka chooses), older records of the partition being dropped to
    /// make room. Its outcome is counted for the action and for `origin` when it comes. `now` is
    /// the caller's clock reading, taken as the moment it is handed over.
    pub fn send(
        &self,
        outcomes: &Arc<ActionOutcomes>,
        record: RenderedRecord,
        partition: Option<i32>,
        origin: Origin,
        now: Instant,
    ) {
        let buffers = self.lock();
        let size = record_size(&record);
        let first_in_line = buffers.is_empty() && self.in_hand.load(Ordering::Relaxed) == 0;
        if first_in_line && self.has_room(size) {
            match self.hand_over(outcomes, &record, partition, size, &origin, now) {
                Ok(()) => return,
                Err(Refused::ForGood(reason)) => {
                    drop(buffers);
                    outcomes.count_unawaited(Some(record), Outcome::Failed(reason), &origin);
                    return;
                }
                Err(Refused::ForNow(_)) => {}
            }
        }
        self.push(buffers, Waiting { record, origin }, partition);
    }

    /// Hands a record to librdkafka at `now`, its outcome to be counted when its report comes.
    fn hand_over(
        &self,
        outcomes: &Arc<ActionOutcomes>,
        record: &RenderedRecord,
        partition: Option<i32>,
        size: u64,
        origin: &Origin,
        now: Instant,
    ) -> Result<(), Refused> {
        let counted = Counted::new(outcomes, size, origin.clone(), now);
        let report = Box::new(Report::Count(counted));
        // Counted as handed over first: the report may come on librdkafka's delivery thread,
        // and take the count back, before `produce` returns.
        self.in_librdkafka.fetch_add(size, Ordering::Relaxed);
        outcomes.handed_over();
        match outcomes.producer.produce(record, partition, report) {
            Ok(()) => Ok(()),
            Err((error, _)) => {
                self.left_librdkafka(size);
                outcomes.taken_back();
                Err(match classify(&error, &record.topic) {
                    Some(reason) => Refused::ForGood(reason),
                    None => Refused::ForNow(error),
                })
            }
        }
    }

    /// Buffers the record (dropping the partition's oldest past its limit) for the pump.
    fn push(
        &self,
        mut buffers: MutexGuard<'_, PartitionBuffers<Waiting>>,
        waiting: Waiting,
        partition: Option<i32>,
    ) {
        let size = record_size(&waiting.record);
        let key = (Arc::from(waiting.record.topic.as_str()), partition);
        let dropped = buffers.push(key, size, waiting);
        drop(buffers);
        for waiting in dropped {
            self.drop_record(&waiting, DropCause::QueueFull);
        }
        self.arrived.notify_one();
    }

    /// Whether librdkafka may take a record of `size` bytes from this action now. One record
    /// always may when there is none: a record over the limit is librdkafka's to refuse.
    fn has_room(&self, size: u64) -> bool {
        let held = self.in_librdkafka.load(Ordering::Relaxed);
        held == 0 || held.saturating_add(size) <= self.librdkafka_limit
    }

    /// A record this buffer handed to librdkafka got its delivery report (success or failure):
    /// its bytes no longer count against the room in librdkafka.
    pub fn left_librdkafka(&self, size: u64) {
        let _ = self
            .in_librdkafka
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                Some(held.saturating_sub(size))
            });
    }

    /// Records and bytes waiting.
    pub fn waiting(&self) -> (usize, u64) {
        let buffers = self.lock();
        (
            buffers.len() + self.in_hand.load(Ordering::Relaxed),
            buffers.bytes(),
        )
    }

    /// Whether every buffered record reached librdkafka.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty() && self.in_hand.load(Ordering::Relaxed) == 0
    }

    /// Drops what is still buffered, counted: the MQTT messages were acknowledged already, and
    /// like EMQX's memory buffer this one does not outlive its action.
    pub fn drop_all(&self) {
        let waiting = self.lock().drain();
        if !waiting.is_empty() {
            tracing::warn!(
                records = waiting.len(),
                "kafka action stopped with buffered records; they are dropped"
            );
        }
        for waiting in &waiting {
            self.drop_record(waiting, DropCause::Stopped);
        }
    }

    /// Moves buffered records into librdkafka, oldest first, until `stop`, waiting for one of
    /// the action's deliveries when librdkafka has no room. What is left at `stop` is dropped.
    pub async fn pump(self: Arc<Self>, outcomes: Arc<ActionOutcomes>, stop: CancellationToken) {
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        loop {
            let Some(taken) = self.take_oldest() else {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = self.arrived.notified() => continue,
                }
            };
            let Waiting { record, origin } = &taken.item;
            let size = record_size(record);
            let handed = if self.has_room(size) {
                self.hand_over(&outcomes, record, taken.key.1, size, origin, Instant::now())
            } else {
                Err(Refused::ForNow(KafkaError::MessageProduction(
                    RDKafkaErrorCode::QueueFull,
                )))
            };
            let wait = match handed {
                Ok(()) => {
                    backoff.reset();
                    self.in_hand.fetch_sub(1, Ordering::Relaxed);
                    continue;
                }
                Err(Refused::ForGood(reason)) => {
                    self.in_hand.fetch_sub(1, Ordering::Relaxed);
                    let Waiting { record, origin } = taken.item;
                    outcomes.count_unawaited(Some(record), Outcome::Failed(reason), &origin);
                    continue;
                }
                // The next finished delivery makes room.
                Err(Refused::ForNow(KafkaError::MessageProduction(
                    RDKafkaErrorCode::QueueFull,
                ))) => Duration::from_millis(100),
                Err(Refused::ForNow(_)) => backoff.next_delay(),
            };
            self.put_back(taken);
            tokio::select! {
                () = stop.cancelled() => break,
                () = outcomes.delivered.freed_next() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        self.drop_all();
    }

    fn take_oldest(&self) -> Option<Taken<Waiting>> {
        let mut buffers = self.lock();
        let taken = buffers.take_oldest()?;
        self.in_hand.fetch_add(1, Ordering::Relaxed);
        Some(taken)
    }

    fn put_back(&self, taken: Taken<Waiting>) {
        let refused = {
            let mut buffers = self.lock();
            self.in_hand.fetch_sub(1, Ordering::Relaxed);
            buffers.put_back(taken)
        };
        if let Some(waiting) = refused {
            self.drop_record(&waiting, DropCause::QueueFull);
        }
    }

    /// Counts a dropped record for the action and for its rule (its message was acknowledged
    /// already).
    fn drop_record(&self, waiting: &Waiting, cause: DropCause) {
        self.dropped.inc();
        let cause = match cause {
            DropCause::QueueFull => &self.queue_full,
            DropCause::Stopped => &self.stopped,
        };
        cause.inc();
        waiting.origin.count(&Outcome::Expired(String::new()));
    }

    fn lock(&self) -> MutexGuard<'_, PartitionBuffers<Waiting>> {
        self.buffers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why librdkafka did not take a record.
enum Refused {
    /// It never will (e.g. too large).
    ForGood(FailureReason),
    /// Not now (a full queue, a fatal error while the client is replaced): kept for later.
    ForNow(KafkaError),
}

/// What a record counts against its partition's limit: key, value and headers.
fn record_size(record: &RenderedRecord) -> u64 {
    let key = record.key.as_ref().map_or(0, String::len);
    let headers: usize = record.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    (key + record.value.len() + headers) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_counts_its_key_value_and_headers() {
        let record = RenderedRecord {
            topic: "a-long-topic-name-that-does-not-count".into(),
            key: Some("key".into()),
            value: "value".into(),
            headers: vec![("h1".into(), "v1".into()), ("h2".into(), String::new())],
            timestamp: Some(1),
        };
        assert_eq!(record_size(&record), 3 + 5 + 4 + 2);
    }

    fn record(value: &str) -> RenderedRecord {
        RenderedRecord {
            topic: "t".into(),
            key: None,
            value: value.into(),
            headers: Vec::new(),
            timestamp: None,
        }
    }

    #[test]
    fn room_in_librdkafka_counts_keys_and_headers_too() {
        let metrics = crate::telemetry::MetricsHub::new().resource("action:test");
        let buffer = MemoryBuffer::new(1000, 10, &metrics);
        assert!(
            buffer.has_room(100),
            "with nothing held, one record always may go"
        );
        let mut keyed = record("v");
        keyed.key = Some("k".repeat(7));
        buffer
            .in_librdkafka
            .fetch_add(record_size(&keyed), Ordering::Relaxed);
        assert!(buffer.has_room(2));
        assert!(!buffer.has_room(3), "8 of 10 bytes held: 3 more do not fit");
        buffer.left_librdkafka(record_size(&keyed));
        assert!(buffer.has_room(10));
    }

    #[test]
    fn full_partitions_drop_their_oldest_and_count_them_for_the_action_and_the_rule() {
        let hub = crate::telemetry::MetricsHub::new();
        let metrics = hub.resource("action:test");
        let rule_metrics = hub.resource("rule:test");
        let origin = Origin {
            rule: Some(Arc::new(crate::telemetry::RuleCounters::new(Arc::clone(
                &rule_metrics,
            )))),
            received_at_ms: None,
        };
        let buffer = MemoryBuffer::new(10, 100, &metrics);
        for (value, partition) in [("aaaa", 0), ("bbbb", 0), ("cccc", 1), ("dddd", 0)] {
            let waiting = Waiting {
                record: record(value),
                origin: origin.clone(),
            };
            buffer.push(buffer.lock(), waiting, Some(partition));
        }
        assert_eq!(metrics.get("dropped"), 1, "aaaa made room for dddd");
        assert_eq!(metrics.get("dropped.queue_full"), 1);
        assert_eq!(rule_metrics.get("actions.failed"), 1);
        assert_eq!(buffer.waiting(), (3, 12));
        buffer.drop_all();
        assert_eq!(metrics.get("dropped"), 4);
        assert_eq!(metrics.get("dropped.resource_stopped"), 3);
        assert_eq!(rule_metrics.get("actions.failed"), 4);
        assert_eq!(rule_metrics.get("actions.failed.unknown"), 4);
        assert!(buffer.is_empty());
    }
}
