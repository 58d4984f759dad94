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
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::DeliveryFuture;
use tributary_connect::record::RenderedRecord;

use super::client::SinkProducer;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use super::buffer::{PartitionBuffers, Taken};
use super::delivery::{FailureReason, Outcome, classify};
use super::producer::try_produce;
use super::room::Room;
use crate::mqtt::backoff::Backoff;
use crate::telemetry::ResourceMetrics;
use crate::telemetry::metrics::CounterHandle;

/// What became of a buffered record when it left the buffer.
pub enum Handoff {
    /// In librdkafka: its delivery is still to come.
    Enqueued(RenderedRecord, DeliveryFuture),
    /// librdkafka refused it for good (e.g. too large).
    Refused(RenderedRecord, FailureReason),
    /// Dropped from the buffer, already counted.
    Dropped(Outcome),
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Enqueued(record, _) => f.debug_tuple("Enqueued").field(record).finish(),
            Self::Refused(record, reason) => f
                .debug_tuple("Refused")
                .field(record)
                .field(reason)
                .finish(),
            Self::Dropped(outcome) => f.debug_tuple("Dropped").field(outcome).finish(),
        }
    }
}

/// Where a record went: to librdkafka (or refused) right away, or into the buffer.
#[derive(Debug)]
pub enum Sent {
    Now(Handoff),
    Later(oneshot::Receiver<Handoff>),
}

#[derive(Debug)]
struct Waiting {
    record: RenderedRecord,
    reply: oneshot::Sender<Handoff>,
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

    /// Buffers `record` for `partition` (`None`: librdkafka chooses) and returns where its
    /// handoff will arrive. Older records of the partition may be dropped to make room.
    /// Hands the record to librdkafka at once when nothing waits before it (the common case:
    /// no hop through the pump, and no older record it could overtake), else buffers it.
    pub fn send(
        &self,
        producer: &SinkProducer,
        record: RenderedRecord,
        partition: Option<i32>,
    ) -> Sent {
        let buffers = self.lock();
        let size = record_size(&record);
        let first_in_line = buffers.is_empty() && self.in_hand.load(Ordering::Relaxed) == 0;
        let record = if first_in_line && self.has_room(size) {
            match try_produce(producer, &record, partition) {
                Ok(delivery) => {
                    self.in_librdkafka.fetch_add(size, Ordering::Relaxed);
                    return Sent::Now(Handoff::Enqueued(record, delivery));
                }
                Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)) => record,
                Err(error) => match classify(&error, &record.topic) {
                    Some(reason) => return Sent::Now(Handoff::Refused(record, reason)),
                    None => record,
                },
            }
        } else {
            record
        };
        Sent::Later(self.push(buffers, record, partition))
    }

    /// Buffers the record (dropping the partition's oldest past its limit) for the pump.
    fn push(
        &self,
        mut buffers: MutexGuard<'_, PartitionBuffers<Waiting>>,
        record: RenderedRecord,
        partition: Option<i32>,
    ) -> oneshot::Receiver<Handoff> {
        let (reply, handoff) = oneshot::channel();
        let size = record_size(&record);
        let key = (Arc::from(record.topic.as_str()), partition);
        let dropped = buffers.push(key, size, Waiting { record, reply });
        drop(buffers);
        for waiting in dropped {
            self.drop_record(waiting, DropCause::QueueFull);
        }
        self.arrived.notify_one();
        handoff
    }

    /// Whether librdkafka may take a record of `size` bytes from this action now. One record
    /// always may when there is none: a record over the limit is librdkafka's to refuse.
    fn has_room(&self, size: u64) -> bool {
        let held = self.in_librdkafka.load(Ordering::Relaxed);
        held == 0 || held.saturating_add(size) <= self.librdkafka_limit
    }

    /// A record this buffer handed to librdkafka got its delivery report (success or failure):
    /// its bytes no longer count against the room in librdkafka.
    pub fn left_librdkafka(&self, record: &RenderedRecord) {
        let size = record_size(record);
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
        for waiting in waiting {
            self.drop_record(waiting, DropCause::Stopped);
        }
    }

    /// Moves buffered records into librdkafka, oldest first, until `stop`; `room` is signalled
    /// when a delivery frees room in librdkafka's queue. What is left at `stop` is dropped.
    pub async fn pump(
        self: Arc<Self>,
        producer: SinkProducer,
        room: Arc<Room>,
        stop: CancellationToken,
    ) {
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        loop {
            let Some(taken) = self.take_oldest() else {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = self.arrived.notified() => continue,
                }
            };
            let size = record_size(&taken.item.record);
            let produced = if self.has_room(size) {
                try_produce(&producer, &taken.item.record, taken.key.1)
            } else {
                Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull))
            };
            let wait = match produced {
                Ok(delivery) => {
                    backoff.reset();
                    self.in_librdkafka.fetch_add(size, Ordering::Relaxed);
                    self.hand_over(taken, |record| Handoff::Enqueued(record, delivery));
                    continue;
                }
                // The next finished delivery makes room.
                Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)) => {
                    Duration::from_millis(100)
                }
                Err(error) => match classify(&error, &taken.item.record.topic) {
                    Some(reason) => {
                        self.hand_over(taken, |record| Handoff::Refused(record, reason));
                        continue;
                    }
                    None => backoff.next_delay(),
                },
            };
            self.put_back(taken);
            tokio::select! {
                () = stop.cancelled() => break,
                () = room.freed_next() => {}
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

    fn hand_over(&self, taken: Taken<Waiting>, handoff: impl FnOnce(RenderedRecord) -> Handoff) {
        let Waiting { record, reply } = taken.item;
        self.in_hand.fetch_sub(1, Ordering::Relaxed);
        // The receiver is gone when nobody waits for the outcome; librdkafka delivers anyway.
        let _ = reply.send(handoff(record));
    }

    fn put_back(&self, taken: Taken<Waiting>) {
        let refused = {
            let mut buffers = self.lock();
            self.in_hand.fetch_sub(1, Ordering::Relaxed);
            buffers.put_back(taken)
        };
        if let Some(waiting) = refused {
            self.drop_record(waiting, DropCause::QueueFull);
        }
    }

    fn drop_record(&self, waiting: Waiting, cause: DropCause) {
        self.dropped.inc();
        let reason = match cause {
            DropCause::QueueFull => {
                self.queue_full.inc();
                "dropped: the partition's buffer is full"
            }
            DropCause::Stopped => {
                self.stopped.inc();
                "dropped: the action stopped"
            }
        };
        let _ = waiting
            .reply
            .send(Handoff::Dropped(Outcome::Expired(reason.to_owned())));
    }

    fn lock(&self) -> MutexGuard<'_, PartitionBuffers<Waiting>> {
        self.buffers.lock().unwrap_or_else(PoisonError::into_inner)
    }
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
        buffer.left_librdkafka(&keyed);
        assert!(buffer.has_room(10));
    }

    #[tokio::test]
    async fn full_partitions_drop_their_oldest_and_count_them() {
        let metrics = crate::telemetry::MetricsHub::new().resource("action:test");
        let buffer = MemoryBuffer::new(10, 100, &metrics);
        let first = buffer.push(buffer.lock(), record("aaaa"), Some(0));
        let second = buffer.push(buffer.lock(), record("bbbb"), Some(0));
        let other = buffer.push(buffer.lock(), record("cccc"), Some(1));
        let third = buffer.push(buffer.lock(), record("dddd"), Some(0));
        assert!(matches!(
            first.await,
            Ok(Handoff::Dropped(Outcome::Expired(_)))
        ));
        assert_eq!(metrics.get("dropped"), 1);
        assert_eq!(metrics.get("dropped.queue_full"), 1);
        assert_eq!(buffer.waiting(), (3, 12));
        buffer.drop_all();
        for handoff in [second, other, third] {
            assert!(matches!(handoff.await, Ok(Handoff::Dropped(_))));
        }
        assert_eq!(metrics.get("dropped"), 4);
        assert_eq!(metrics.get("dropped.resource_stopped"), 3);
        assert!(buffer.is_empty());
    }
}
