//! The `kafka_producer` action: render, enqueue without waiting, resolve deliveries concurrently.
//!
//! In `sync` mode [`KafkaSink::send`] enqueues the record into librdkafka right away (so records
//! keep the order of their messages and librdkafka batches them) and returns its outcome to await
//! (`pending.rs`). The caller keeps many of those in flight. On `QueueFull` the send waits for a
//! delivery to finish: that is the push-back that stops the rule from taking more MQTT messages.
//!
//! In `async` mode the send never waits for librdkafka: the sink chooses the partition itself and
//! puts the record in the memory buffer (`pump.rs`), bounded per partition, whose pump feeds
//! librdkafka. Nobody awaits such a record: its outcome is counted where its delivery report
//! lands (`outcomes.rs`).
//!
//! In `async` mode with buffer mode `disk` (or `hybrid`) the record goes to the action's segment
//! log instead (`disk/`), whose own pump feeds librdkafka; the message is acknowledged once the
//! record is synced to disk (`disk`), or kept in memory or written to disk (`hybrid`).

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tributary_connect::record::{RecordTemplates, RenderedRecord};
use tributary_protocol::assignment::KafkaProducerAction;
use tributary_protocol::resources::{BufferMode, PartitionStrategy, QueryMode};
use tributary_rules::RowRef;

use super::client::SinkProducer;
use super::clients::SharedProducer;
use super::delivery::{FailureReason, Outcome};
use super::disk::{DiskBuffer, TopicWatch};
use super::outcomes::{ActionOutcomes, Origin};
use super::partitioner::{StickyPartition, choose_partition};
use super::pending::PendingOutcome;
use super::pump::MemoryBuffer;
use super::room::Room;
use super::topics::TopicState;
use crate::flow::FlowEnv;
use crate::telemetry::LatencyHistogram;
use crate::telemetry::metrics::CounterHandle;
use crate::telemetry::sampling::{Gauges, Sampled};

/// Why an action could not be started (a user error in its configuration, or librdkafka refusing
/// the configuration).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    #[error("template `{field}`: {reason}")]
    Template { field: String, reason: String },
    #[error("kafka producer configuration rejected: {0}")]
    Config(String),
}

/// What the caller of [`KafkaSink::send`] is left with.
pub enum Sent {
    /// The record's outcome, to await (and count for the rule) before its message is done.
    Awaited(PendingOutcome),
    /// Nothing: the outcome is counted for the action and the record's origin when it comes
    /// (`async` records of a memory buffer, and those that failed at once).
    Counted,
}

impl std::fmt::Debug for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Awaited(_) => f.write_str("Awaited"),
            Self::Counted => f.write_str("Counted"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct KafkaSink {
    inner: Arc<Inner>,
    /// Sampled into the action's gauges while any clone of this sink lives.
    _gauges: Arc<SinkGauges>,
}

struct Inner {
    outcomes: Arc<ActionOutcomes>,
    /// Bumped per record without a lookup.
    matched: CounterHandle,
    /// Keeps the client (shared with the other actions of its connector) open while this action
    /// runs.
    _client: Arc<SharedProducer>,
    templates: RecordTemplates,
    mode: QueryMode,
    partition_strategy: PartitionStrategy,
    /// Where records that no key places go for now.
    sticky: StickyPartition,
    /// `async` mode with buffer mode `disk` or `hybrid`: the action's segment log, and its
    /// (static) topic's partition count.
    disk: Option<(Arc<DiskBuffer>, TopicWatch)>,
}

impl KafkaSink {
    /// Creates the producer and starts its health and metrics tasks (they end with `stop`).
    pub fn start(
        action: &KafkaProducerAction,
        env: &FlowEnv,
        stop: CancellationToken,
    ) -> Result<Self, SinkError> {
        let templates = RecordTemplates::compile(&action.parameters).map_err(|(field, e)| {
            SinkError::Template {
                field,
                reason: e.to_string(),
            }
        })?;
        let client = env.kafka_producers.acquire(action, &env.status)?;
        let producer = client.producer.clone();
        let topics = client.topics.clone();
        let metrics = env
            .metrics
            .resource(&format!("action:{}", action.action_id));
        let is_async = action.parameters.query_mode == QueryMode::Async;
        let disk = match action.parameters.buffer.mode {
            BufferMode::Disk | BufferMode::Hybrid if is_async => {
                let Some(topic) = templates.static_topic() else {
                    return Err(SinkError::Config(
                        "buffer mode `disk` and `hybrid` need a static topic (no placeholders)"
                            .to_owned(),
                    ));
                };
                let buffer = env.disk_buffers.acquire(action, &producer, &metrics)?;
                Some((
                    buffer,
                    TopicWatch::start(topics.clone(), topic, stop.clone()),
                ))
            }
            _ => None,
        };
        let buffer = (is_async && disk.is_none()).then(|| {
            Arc::new(MemoryBuffer::new(
                action.parameters.buffer.per_partition_limit.0,
                tributary_connect::kafka::async_librdkafka_bytes(&action.parameters),
                &metrics,
            ))
        });
        let outcomes = Arc::new(ActionOutcomes {
            action_id: action.action_id.clone(),
            success: metrics.counter("success"),
            delivery_latency: metrics.histogram("delivery_latency"),
            latency: disk.is_none().then(|| metrics.histogram("latency")),
            metrics,
            producer,
            topics,
            inflight: AtomicI64::new(0),
            delivered: Room::default(),
            buffer,
            dead_letter_topic: action.parameters.dead_letter_topic.clone(),
            stop: stop.clone(),
            runtime: tokio::runtime::Handle::current(),
        });
        let inner = Arc::new(Inner {
            matched: outcomes.metrics.counter("matched"),
            outcomes,
            _client: client,
            templates,
            mode: action.parameters.query_mode,
            partition_strategy: action.parameters.partition_strategy,
            sticky: StickyPartition::for_linger(action.parameters.max_linger_time.0),
            disk,
        });
        if let Some(buffer) = &inner.outcomes.buffer {
            tokio::spawn(Arc::clone(buffer).pump(Arc::clone(&inner.outcomes), stop));
        }
        let gauges = Arc::new(SinkGauges(Arc::clone(&inner)));
        inner.outcomes.metrics.sampled_by(&gauges);
        Ok(Self {
            inner,
            _gauges: gauges,
        })
    }

    /// Whether the action can stop taking records (a full disk buffer), which its flows report.
    pub fn can_pause_intake(&self) -> bool {
        self.inner.disk.is_some()
    }

    pub fn mode(&self) -> QueryMode {
        self.inner.mode
    }

    /// Whether a message's outcome must be waited for before it is acknowledged: `sync` mode
    /// (Kafka's acknowledgement), and `disk` and `hybrid` buffers (the record synced to disk, or
    /// kept in memory or written: a full disk then holds messages back at the broker).
    pub fn acknowledges_after_outcome(&self) -> bool {
        self.inner.mode == QueryMode::Sync || self.inner.disk.is_some()
    }

    /// Why the action's disk buffer takes no records (a full disk), while it does.
    pub fn intake_paused(&self) -> Option<String> {
        self.inner
            .disk
            .as_ref()
            .and_then(|(disk, _)| disk.full_reason())
    }

    pub fn action_id(&self) -> &str {
        &self.inner.outcomes.action_id
    }

    /// The client this action produces through, shared with its connector's other actions.
    pub fn producer(&self) -> &SinkProducer {
        &self.inner.outcomes.producer
    }

    /// The action's end-to-end latency histogram, for the flow that knows when a message
    /// arrived. None with a disk buffer: its outcome is the record written down, not Kafka's
    /// acknowledgement.
    pub fn latency(&self) -> Option<&LatencyHistogram> {
        self.inner.outcomes.latency.as_ref()
    }

    /// Renders `row` and enqueues its record (`sync`) or buffers it (`async`). A `sync` record's
    /// outcome is returned to await: it resolves when Kafka answered for good (a retriable
    /// failure is produced again until it succeeds or the flow stops). An `async` record's is
    /// counted, for the action and for `origin`'s rule, when it comes.
    pub async fn send<'r>(&self, row: impl Into<RowRef<'r>>, origin: &Origin) -> Sent {
        let inner = &self.inner;
        let outcomes = &inner.outcomes;
        inner.matched.inc();
        let record = match inner.templates.render(row) {
            Ok(record) => record,
            Err(error) => {
                return inner.failed(None, FailureReason::Render(error.to_string()), origin);
            }
        };
        if let Some((disk, watch)) = &inner.disk {
            return Sent::Awaited(to_disk(inner, disk, watch, record).await);
        }
        // One clock read for the topic cache's age check and the sticky partition.
        let now = Instant::now();
        let topic = outcomes.topics.info_at(&record.topic, now).await;
        if topic.state == TopicState::Missing {
            let reason = FailureReason::UnknownTopic(record.topic.clone());
            return inner.failed(Some(record), reason, origin);
        }
        // An unknown partition count (metadata unavailable) leaves the choice to librdkafka,
        // which waits for metadata.
        let partition = inner.partition(&record, topic.partitions, now);
        if let Some(buffer) = &outcomes.buffer {
            buffer.send(outcomes, record, partition, origin.clone(), now);
            return Sent::Counted;
        }
        let outcome = match outcomes.enqueue(&record, partition).await {
            Ok(delivery) => {
                outcomes.handed_over();
                PendingOutcome::delivery(Arc::clone(outcomes), record, delivery)
            }
            Err(outcome) => {
                let outcomes = Arc::clone(outcomes);
                PendingOutcome::boxed(async move { outcomes.finish(record, outcome).await })
            }
        };
        Sent::Awaited(outcome)
    }

    /// Waits (bounded) for the memory buffer and librdkafka to deliver what this action handed
    /// them, on shutdown; what is still buffered after `timeout` is dropped (and counted). Only
    /// this action's records are waited for: the client is shared, and flushing it whole would
    /// wait for every other action's traffic too.
    pub async fn flush(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let inner = &self.inner;
        let outcomes = &inner.outcomes;
        // A disk buffer keeps what it has not sent for the next start; only the records in
        // librdkafka are waited for, so that their acknowledgements are written down.
        let settled = || {
            outcomes.buffer.as_ref().is_none_or(|b| b.is_empty())
                && outcomes.inflight() == 0
                && inner
                    .disk
                    .as_ref()
                    .is_none_or(|(disk, _)| disk.in_flight() == 0)
        };
        while !settled() && !outcomes.stop.is_cancelled() && Instant::now() < deadline {
            tokio::select! {
                () = outcomes.delivered.freed_next() => {}
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
        if let Some(buffer) = &outcomes.buffer {
            buffer.drop_all();
        }
    }
}

impl Inner {
    /// The partition for `record` by the action's strategy, once the topic's partition count is
    /// known; `None` leaves the choice to librdkafka (it waits for the metadata).
    fn partition(
        &self,
        record: &RenderedRecord,
        partitions: Option<i32>,
        now: Instant,
    ) -> Option<i32> {
        partitions.map(|count| {
            choose_partition(
                self.partition_strategy,
                record.key.as_deref(),
                count,
                self.sticky.at(now),
            )
        })
    }

    /// A record that failed before librdkafka had it (`None`: before it was rendered): returned
    /// for its message to await where outcomes are awaited, counted at once where they are not.
    fn failed(
        &self,
        record: Option<RenderedRecord>,
        reason: FailureReason,
        origin: &Origin,
    ) -> Sent {
        let outcomes = Arc::clone(&self.outcomes);
        if self.mode == QueryMode::Sync || self.disk.is_some() {
            return Sent::Awaited(PendingOutcome::boxed(async move {
                outcomes.fail(record, reason).await
            }));
        }
        outcomes.count_unawaited(record, Outcome::Failed(reason), origin);
        Sent::Counted
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("action_id", &self.outcomes.action_id)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Appends the record to the disk buffer; the outcome is `Delivered` once it is on disk (Kafka's
/// answer is counted by the buffer's pump, as the action's `success` or `failed`), `Abandoned`
/// when the buffer closed before (the MQTT message then stays unacknowledged).
async fn to_disk(
    inner: &Inner,
    disk: &DiskBuffer,
    watch: &TopicWatch,
    record: RenderedRecord,
) -> PendingOutcome {
    let topic = watch.info().await;
    if topic.state == TopicState::Missing {
        let reason = FailureReason::UnknownTopic(record.topic.clone());
        let outcomes = Arc::clone(&inner.outcomes);
        return PendingOutcome::boxed(async move { outcomes.fail(Some(record), reason).await });
    }
    // An unknown partition count (Kafka unreachable since the action started) leaves the choice
    // to librdkafka when the record is sent.
    let partition = inner.partition(&record, topic.partitions, Instant::now());
    let written = disk.append(&record, partition);
    PendingOutcome::boxed(async move {
        match written.await {
            Ok(()) => Outcome::Delivered,
            Err(_) => Outcome::Abandoned,
        }
    })
}

/// An action's in-flight and queued records (in its memory buffer and in librdkafka), its
/// buffer's bytes and its disk buffer's state, as the metrics hub samples them every second.
/// Each flow running the action has its own sink: their records add up, the disk buffer (one
/// per action) is shared.
#[derive(Debug)]
struct SinkGauges(Arc<Inner>);

impl Sampled for SinkGauges {
    fn sample(&self, gauges: &mut Gauges) {
        let inner = &self.0;
        // This sink's own records: the client's queue holds every action's of its connector.
        let in_librdkafka = inner.outcomes.inflight() as f64;
        gauges.add("inflight", in_librdkafka);
        gauges.add("queuing", in_librdkafka);
        let (buffered, buffered_bytes) = inner
            .outcomes
            .buffer
            .as_ref()
            .map_or((0, 0), |b| b.waiting());
        gauges.add("queuing", buffered as f64);
        gauges.add("queuing_bytes", buffered_bytes as f64);
        if let Some((disk, _)) = &inner.disk {
            // The disk buffer's pump has its own records in librdkafka.
            let (waiting, waiting_bytes) = disk.waiting();
            gauges.shared("inflight", disk.in_flight() as f64);
            gauges.shared("queuing", waiting as f64);
            gauges.shared("queuing_bytes", waiting_bytes as f64);
            gauges.shared("buffer.disk_bytes", disk.disk_bytes() as f64);
            if !disk.is_durable() {
                let (records, bytes) = disk.in_memory();
                gauges.shared("buffer.memory_records", records as f64);
                gauges.shared("buffer.memory_bytes", bytes as f64);
            }
            let full = if disk.full_reason().is_some() {
                1.0
            } else {
                0.0
            };
            gauges.shared("buffer.disk_full", full);
        }
    }
}
