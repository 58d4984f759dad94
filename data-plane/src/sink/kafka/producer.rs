//! The `kafka_producer` action: render, enqueue without waiting, resolve deliveries concurrently.
//!
//! In `sync` mode [`KafkaSink::send`] enqueues the record into librdkafka right away (so records
//! keep the order of their messages and librdkafka batches them) and returns a future of its
//! outcome. The caller keeps many of those futures in flight. On `QueueFull` the send waits for a
//! delivery to finish: that is the push-back that stops the rule from taking more MQTT messages.
//!
//! In `async` mode the send never waits for librdkafka: the sink chooses the partition itself and
//! puts the record in the memory buffer (`pump.rs`), bounded per partition, whose pump feeds
//! librdkafka.
//!
//! In `async` mode with buffer mode `disk` (or `hybrid`) the record goes to the action's segment
//! log instead (`disk/`), whose own pump feeds librdkafka; the message is acknowledged once the
//! record is synced to disk (`disk`), or kept in memory or written to disk (`hybrid`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureRecord};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tributary_connect::record::{RecordTemplates, RenderedRecord};
use tributary_protocol::assignment::KafkaProducerAction;
use tributary_protocol::resources::{BufferMode, PartitionStrategy, QueryMode};
use tributary_rules::RowRef;

use super::client::SinkProducer;
use super::clients::SharedProducer;
use super::delivery::{FailureReason, Outcome, classify};
use super::disk::{DiskBuffer, TopicWatch};
use super::partitioner::{StickyPartition, choose_partition};
use super::pump::{Handoff, MemoryBuffer, Sent};
use super::room::Room;
use super::topics::{TopicCache, TopicState};
use crate::flow::FlowEnv;
use crate::mqtt::backoff::Backoff;
use crate::telemetry::metrics::CounterHandle;
use crate::telemetry::sampling::{Gauges, Sampled};
use crate::telemetry::{LatencyHistogram, ResourceMetrics};

/// Why an action could not be started (a user error in its configuration, or librdkafka refusing
/// the configuration).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    #[error("template `{field}`: {reason}")]
    Template { field: String, reason: String },
    #[error("kafka producer configuration rejected: {0}")]
    Config(String),
}

/// The outcome of one record, resolved later.
pub type PendingOutcome = Pin<Box<dyn Future<Output = Outcome> + Send>>;

#[derive(Debug, Clone)]
pub struct KafkaSink {
    inner: Arc<Inner>,
    /// Sampled into the action's gauges while any clone of this sink lives.
    _gauges: Arc<SinkGauges>,
}

struct Inner {
    action_id: String,
    metrics: Arc<ResourceMetrics>,
    producer: SinkProducer,
    /// Keeps the client (shared with the other actions of its connector) open while this action
    /// runs.
    _client: Arc<SharedProducer>,
    templates: RecordTemplates,
    topics: TopicCache,
    mode: QueryMode,
    partition_strategy: PartitionStrategy,
    /// Where records that no key places go for now.
    sticky: StickyPartition,
    /// `async` mode with buffer mode `memory`: where records wait for room in librdkafka.
    buffer: Option<Arc<MemoryBuffer>>,
    /// `async` mode with buffer mode `disk` or `hybrid`: the action's segment log, and its
    /// (static) topic's partition count.
    disk: Option<(Arc<DiskBuffer>, TopicWatch)>,
    dead_letter_topic: Option<String>,
    inflight: AtomicI64,
    /// `matched` and `success`, bumped per record without a lookup.
    matched: CounterHandle,
    success: CounterHandle,
    /// From handing a record to librdkafka to Kafka's acknowledgement.
    delivery_latency: LatencyHistogram,
    /// From a message's arrival at the worker to Kafka's acknowledgement; its flow observes it.
    /// None with a disk buffer, whose outcome is the record written down.
    latency: Option<LatencyHistogram>,
    /// Signalled whenever a delivery finishes: room in librdkafka's queue.
    delivered: Arc<Room>,
    stop: CancellationToken,
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
        let delivered = Arc::new(Room::default());
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
        let inner = Arc::new(Inner {
            action_id: action.action_id.clone(),
            matched: metrics.counter("matched"),
            success: metrics.counter("success"),
            delivery_latency: metrics.histogram("delivery_latency"),
            latency: disk.is_none().then(|| metrics.histogram("latency")),
            metrics,
            producer,
            _client: client,
            templates,
            topics,
            mode: action.parameters.query_mode,
            partition_strategy: action.parameters.partition_strategy,
            sticky: StickyPartition::for_linger(action.parameters.max_linger_time.0),
            buffer,
            disk,
            dead_letter_topic: action.parameters.dead_letter_topic.clone(),
            inflight: AtomicI64::new(0),
            delivered,
            stop: stop.clone(),
        });
        if let Some(buffer) = &inner.buffer {
            tokio::spawn(Arc::clone(buffer).pump(
                inner.producer.clone(),
                Arc::clone(&inner.delivered),
                stop,
            ));
        }
        let gauges = Arc::new(SinkGauges(Arc::clone(&inner)));
        inner.metrics.sampled_by(&gauges);
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
        &self.inner.action_id
    }

    /// The client this action produces through, shared with its connector's other actions.
    pub fn producer(&self) -> &SinkProducer {
        &self.inner.producer
    }

    /// The action's end-to-end latency histogram, for the flow that knows when a message
    /// arrived. None with a disk buffer: its outcome is the record written down, not Kafka's
    /// acknowledgement.
    pub fn latency(&self) -> Option<&LatencyHistogram> {
        self.inner.latency.as_ref()
    }

    /// Renders `row` and enqueues its record (`sync`) or buffers it (`async`); the returned future
    /// resolves when Kafka answered for good (in `sync` mode a retriable failure is produced again
    /// until it succeeds or the flow stops) or the record was dropped from the buffer.
    pub async fn send<'r>(&self, row: impl Into<RowRef<'r>>) -> PendingOutcome {
        let inner = &self.inner;
        inner.matched.inc();
        let record = match inner.templates.render(row) {
            Ok(record) => record,
            Err(error) => {
                let outcome = fail(
                    Arc::clone(inner),
                    None,
                    FailureReason::Render(error.to_string()),
                );
                return Box::pin(outcome);
            }
        };
        if let Some((disk, watch)) = &inner.disk {
            return to_disk(inner, disk, watch, record).await;
        }
        // One clock read for the topic cache's age check and the sticky partition.
        let now = Instant::now();
        let topic = inner.topics.info_at(&record.topic, now).await;
        if topic.state == TopicState::Missing {
            let reason = FailureReason::UnknownTopic(record.topic.clone());
            return Box::pin(fail(Arc::clone(inner), Some(record), reason));
        }
        if let Some(buffer) = &inner.buffer {
            // An unknown partition count (metadata unavailable) leaves the choice to librdkafka,
            // which waits for metadata.
            let partition = inner.partition(&record, topic.partitions, now);
            return match buffer.send(&inner.producer, record, partition) {
                Sent::Now(handoff) => Box::pin(after_handoff(Arc::clone(inner), handoff)),
                Sent::Later(handoff) => Box::pin(after_buffer(Arc::clone(inner), handoff)),
            };
        }
        let partition = inner.partition(&record, topic.partitions, now);
        match enqueue(inner, &record, partition).await {
            Ok(delivery) => {
                inner.inflight.fetch_add(1, Ordering::Relaxed);
                Box::pin(settle(Arc::clone(inner), record, delivery))
            }
            Err(outcome) => Box::pin(finish(Arc::clone(inner), record, outcome)),
        }
    }

    /// Waits (bounded) for the memory buffer and librdkafka to deliver what this action handed
    /// them, on shutdown; what is still buffered after `timeout` is dropped (and counted). Only
    /// this action's records are waited for: the client is shared, and flushing it whole would
    /// wait for every other action's traffic too.
    pub async fn flush(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let inner = &self.inner;
        // A disk buffer keeps what it has not sent for the next start; only the records in
        // librdkafka are waited for, so that their acknowledgements are written down.
        let settled = || {
            inner.buffer.as_ref().is_none_or(|b| b.is_empty())
                && inner.inflight.load(Ordering::Relaxed) <= 0
                && inner
                    .disk
                    .as_ref()
                    .is_none_or(|(disk, _)| disk.in_flight() == 0)
        };
        while !settled() && !inner.stop.is_cancelled() && Instant::now() < deadline {
            tokio::select! {
                () = inner.delivered.freed_next() => {}
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
        if let Some(buffer) = &inner.buffer {
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
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("action_id", &self.action_id)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Appends the record to the disk buffer; the outcome is `Delivered` once it is on disk (Kafka's
/// answer is counted by the buffer's pump, as the action's `success` or `failed`), `Abandoned`
/// when the buffer closed before (the MQTT message then stays unacknowledged).
async fn to_disk(
    inner: &Arc<Inner>,
    disk: &DiskBuffer,
    watch: &TopicWatch,
    record: RenderedRecord,
) -> PendingOutcome {
    let topic = watch.info().await;
    if topic.state == TopicState::Missing {
        let reason = FailureReason::UnknownTopic(record.topic.clone());
        return Box::pin(fail(Arc::clone(inner), Some(record), reason));
    }
    // An unknown partition count (Kafka unreachable since the action started) leaves the choice
    // to librdkafka when the record is sent.
    let partition = inner.partition(&record, topic.partitions, Instant::now());
    let written = disk.append(&record, partition);
    Box::pin(async move {
        match written.await {
            Ok(()) => Outcome::Delivered,
            Err(_) => Outcome::Abandoned,
        }
    })
}

/// Hands the record to librdkafka without waiting; `partition` `None` lets librdkafka's
/// partitioner choose.
pub fn try_produce(
    producer: &SinkProducer,
    record: &RenderedRecord,
    partition: Option<i32>,
) -> Result<DeliveryFuture, KafkaError> {
    let mut future_record = FutureRecord::<str, str>::to(&record.topic).payload(&record.value);
    // librdkafka allocates a header list even for none: only records with headers get one.
    if !record.headers.is_empty() {
        let headers = record
            .headers
            .iter()
            .fold(OwnedHeaders::new(), |h, (k, v)| {
                h.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                })
            });
        future_record = future_record.headers(headers);
    }
    if let Some(key) = &record.key {
        future_record = future_record.key(key);
    }
    if let Some(timestamp) = record.timestamp {
        future_record = future_record.timestamp(timestamp);
    }
    if let Some(partition) = partition {
        future_record = future_record.partition(partition);
    }
    producer.produce(future_record)
}

/// Puts the record into librdkafka's queue, waiting for room when it is full; `partition` `None`
/// lets librdkafka's partitioner choose.
async fn enqueue(
    inner: &Inner,
    record: &RenderedRecord,
    partition: Option<i32>,
) -> Result<DeliveryFuture, Outcome> {
    let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
    loop {
        let wait = match try_produce(&inner.producer, record, partition) {
            Ok(delivery) => return Ok(delivery),
            Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)) => {
                // Push back: the next finished delivery makes room.
                Duration::from_millis(100)
            }
            Err(error) => match classify(&error, &record.topic) {
                Some(reason) => return Err(Outcome::Failed(reason)),
                None => backoff.next_delay(),
            },
        };
        tokio::select! {
            () = inner.stop.cancelled() => return Err(Outcome::Abandoned),
            () = inner.delivered.freed_next() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Follows a buffered record out of the memory buffer to its outcome.
async fn after_buffer(inner: Arc<Inner>, handoff: oneshot::Receiver<Handoff>) -> Outcome {
    match handoff.await {
        Ok(handoff) => after_handoff(inner, handoff).await,
        // The pump ended without answering (a panic): nothing more will come of the record.
        Err(_) => Outcome::Abandoned,
    }
}

/// Follows a record handed to librdkafka (or refused, or dropped) to its outcome.
async fn after_handoff(inner: Arc<Inner>, handoff: Handoff) -> Outcome {
    match handoff {
        Handoff::Enqueued(record, delivery) => {
            inner.inflight.fetch_add(1, Ordering::Relaxed);
            settle(inner, record, delivery).await
        }
        Handoff::Refused(record, reason) => fail(inner, Some(record), reason).await,
        Handoff::Dropped(outcome) => outcome,
    }
}

/// Awaits a delivery; in `sync` mode retriable failures are produced again.
async fn settle(
    inner: Arc<Inner>,
    record: RenderedRecord,
    mut delivery: DeliveryFuture,
) -> Outcome {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    // Just after the record was handed to librdkafka (enqueued, or handed over by the buffer).
    let mut produced = Instant::now();
    loop {
        let result = delivery.await;
        inner.inflight.fetch_sub(1, Ordering::Relaxed);
        // Only async records come from the memory buffer, and they are never produced again.
        if let Some(buffer) = &inner.buffer {
            buffer.left_librdkafka(&record);
        }
        inner.delivered.freed();
        let error = match result {
            Ok(Ok(_)) => {
                inner.delivery_latency.observe(produced.elapsed());
                return finish(inner, record, Outcome::Delivered).await;
            }
            Ok(Err((error, _))) => error,
            Err(_canceled) => KafkaError::Canceled,
        };
        if let Some(reason) = classify(&error, &record.topic) {
            if matches!(reason, FailureReason::UnknownTopic(_)) {
                inner.topics.forget(&record.topic);
            }
            return finish(inner, record, Outcome::Failed(reason)).await;
        }
        if inner.mode == QueryMode::Async {
            return finish(inner, record, Outcome::Expired(error.to_string())).await;
        }
        inner.metrics.inc("retried");
        tracing::debug!(action = %inner.action_id, topic = %record.topic, %error, "retrying a sync record");
        tokio::select! {
            () = inner.stop.cancelled() => return Outcome::Abandoned,
            () = tokio::time::sleep(backoff.next_delay()) => {}
        }
        // Produced again wherever librdkafka puts it: the sticky choice has moved on.
        match enqueue(&inner, &record, None).await {
            Ok(next) => {
                inner.inflight.fetch_add(1, Ordering::Relaxed);
                produced = Instant::now();
                delivery = next;
            }
            Err(outcome) => return finish(inner, record, outcome).await,
        }
    }
}

async fn fail(inner: Arc<Inner>, record: Option<RenderedRecord>, reason: FailureReason) -> Outcome {
    let outcome = Outcome::Failed(reason);
    match record {
        Some(record) => finish(inner, record, outcome).await,
        None => {
            count(&inner, &outcome);
            tracing::debug!(action = %inner.action_id, outcome = ?outcome, "record failed before rendering");
            outcome
        }
    }
}

/// Counts the outcome and sends unrecoverable records to the dead-letter topic.
async fn finish(inner: Arc<Inner>, record: RenderedRecord, outcome: Outcome) -> Outcome {
    count(&inner, &outcome);
    if let Outcome::Failed(reason) = &outcome {
        tracing::debug!(action = %inner.action_id, topic = %record.topic, reason = %reason.describe(), "record failed");
        if let Some(dead_letter) = &inner.dead_letter_topic {
            dead_letter_send(&inner, dead_letter, record, reason).await;
        }
    }
    outcome
}

fn count(inner: &Inner, outcome: &Outcome) {
    let metrics = &inner.metrics;
    match outcome {
        Outcome::Delivered => {
            inner.success.inc();
        }
        Outcome::Failed(reason) => {
            metrics.inc("failed");
            if *reason == FailureReason::TooLarge {
                metrics.inc("dropped.too_large");
            }
        }
        Outcome::Expired(_) => {
            metrics.inc("dropped");
            metrics.inc("dropped.expired");
        }
        Outcome::Abandoned => {}
    }
}

async fn dead_letter_send(
    inner: &Inner,
    topic: &str,
    record: RenderedRecord,
    reason: &FailureReason,
) {
    let mut headers = record.headers.clone();
    headers.push(("tributary-error".to_owned(), reason.describe()));
    headers.push(("tributary-original-topic".to_owned(), record.topic.clone()));
    // Too large stays too large: keep only the headers saying why.
    let value = if *reason == FailureReason::TooLarge {
        String::new()
    } else {
        record.value
    };
    let letter = RenderedRecord {
        topic: topic.to_owned(),
        key: record.key,
        value,
        headers,
        timestamp: record.timestamp,
    };
    let delivered = match enqueue(inner, &letter, None).await {
        Ok(delivery) => matches!(delivery.await, Ok(Ok(_))),
        Err(_) => false,
    };
    if delivered {
        inner.metrics.inc("dead_lettered");
    } else {
        tracing::warn!(action = %inner.action_id, dead_letter_topic = topic, "could not write to the dead-letter topic");
    }
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
        let in_librdkafka = inner.inflight.load(Ordering::Relaxed).max(0) as f64;
        gauges.add("inflight", in_librdkafka);
        gauges.add("queuing", in_librdkafka);
        let (buffered, buffered_bytes) = inner.buffer.as_ref().map_or((0, 0), |b| b.waiting());
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
