//! What a `kafka_producer` action does with each record's outcome: counts it for the action (and,
//! for a record nobody awaits, for its rule too), and sends a record that failed for good to the
//! dead-letter topic.
//!
//! A `sync` record's outcome is awaited by its message (`producer.rs`, which counts it here); an
//! `async` record's is [`Counted`] on librdkafka's delivery thread, where its report lands.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::producer::DeliveryResult;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tributary_connect::record::RenderedRecord;

use super::client::SinkProducer;
use super::delivery::{FailureReason, Outcome, classify};
use super::pump::MemoryBuffer;
use super::report::DeliveryFuture;
use super::room::Room;
use super::topics::TopicCache;
use crate::backoff::Backoff;
use crate::telemetry::histogram::now_ms;
use crate::telemetry::metrics::CounterHandle;
use crate::telemetry::{LatencyHistogram, ResourceMetrics, RuleCounters};

/// Where a record came from, for counting its outcome when nobody awaits it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The rule whose `actions.*` counters count the record too.
    pub rule: Option<Arc<RuleCounters>>,
    /// When its message arrived at the worker (milliseconds since the Unix epoch), for the
    /// action's end-to-end latency.
    pub received_at_ms: Option<i64>,
}

impl Origin {
    /// Counts the outcome for the rule, if any.
    pub fn count(&self, outcome: &Outcome) {
        if let Some(rule) = &self.rule {
            count_for_rule(rule, outcome);
        }
    }
}

/// Counts a record's outcome into its rule's `actions.*` counters. An abandoned record is not
/// counted: its message is not acknowledged, and comes again.
pub fn count_for_rule(rule: &RuleCounters, outcome: &Outcome) {
    match outcome {
        Outcome::Delivered => rule.succeeded(),
        Outcome::Failed(_) | Outcome::Expired(_) => rule.failed(),
        Outcome::Abandoned => {}
    }
}

/// One action's counters and what it needs to finish a record: shared by its sends, its memory
/// buffer's pump and the delivery reports of its `async` records.
pub struct ActionOutcomes {
    pub(super) action_id: String,
    pub(super) metrics: Arc<ResourceMetrics>,
    pub(super) producer: SinkProducer,
    pub(super) topics: TopicCache,
    pub(super) success: CounterHandle,
    /// From handing a record to librdkafka to Kafka's acknowledgement.
    pub(super) delivery_latency: LatencyHistogram,
    /// From a message's arrival at the worker to Kafka's acknowledgement. None with a disk
    /// buffer, whose outcome is the record written down.
    pub(super) latency: Option<LatencyHistogram>,
    /// This action's records in librdkafka (the client's queue holds every action's of its
    /// connector).
    pub(super) inflight: AtomicI64,
    /// Signalled whenever a delivery finishes: room in librdkafka's queue.
    pub(super) delivered: Room,
    /// `async` mode with buffer mode `memory`: the buffer, which counts its records' bytes in
    /// librdkafka.
    pub(super) buffer: Option<Arc<MemoryBuffer>>,
    pub(super) dead_letter_topic: Option<String>,
    pub(super) stop: CancellationToken,
    /// Where dead letters of `async` records are sent from: their failures are learnt on
    /// librdkafka's thread.
    pub(super) runtime: Handle,
}

impl std::fmt::Debug for ActionOutcomes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionOutcomes")
            .field("action_id", &self.action_id)
            .finish_non_exhaustive()
    }
}

impl ActionOutcomes {
    /// A record was handed to librdkafka: its delivery report is to come.
    pub fn handed_over(&self) {
        self.inflight.fetch_add(1, Ordering::Relaxed);
    }

    /// A record counted as [`handed_over`](Self::handed_over) was refused after all.
    pub fn taken_back(&self) {
        self.inflight.fetch_sub(1, Ordering::Relaxed);
    }

    /// A record's delivery report came (success or failure); `size` is what it counted against
    /// the memory buffer's room in librdkafka.
    pub fn reported(&self, size: u64) {
        self.inflight.fetch_sub(1, Ordering::Relaxed);
        if let Some(buffer) = &self.buffer {
            buffer.left_librdkafka(size);
        }
        self.delivered.freed();
    }

    /// The delivery report of a record someone awaits came (handed over at `produced`): frees
    /// its place and, when it was delivered, counts it with its delivery latency. An error is
    /// returned for the caller to retry the record or fail it on.
    pub fn awaited_report(
        &self,
        result: Result<(), KafkaError>,
        produced: Instant,
    ) -> Result<(), KafkaError> {
        // Not from the memory buffer: no bytes counted against its room.
        self.reported(0);
        result?;
        self.delivery_latency.observe(produced.elapsed());
        self.count(&Outcome::Delivered);
        Ok(())
    }

    /// This action's records in librdkafka.
    pub fn inflight(&self) -> i64 {
        self.inflight.load(Ordering::Relaxed).max(0)
    }

    /// Counts the outcome for the action.
    pub fn count(&self, outcome: &Outcome) {
        let metrics = &self.metrics;
        match outcome {
            Outcome::Delivered => {
                self.success.inc();
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

    /// Counts an awaited record's outcome and dead-letters it when it failed for good.
    pub async fn finish(&self, record: RenderedRecord, outcome: Outcome) -> Outcome {
        self.count(&outcome);
        if let Outcome::Failed(reason) = &outcome {
            tracing::debug!(action = %self.action_id, topic = %record.topic, reason = %reason.describe(), "record failed");
            if let Some(topic) = &self.dead_letter_topic {
                self.dead_letter(topic, record, reason).await;
            }
        }
        outcome
    }

    /// An awaited record that failed before librdkafka had it (`None`: before it was rendered).
    pub async fn fail(&self, record: Option<RenderedRecord>, reason: FailureReason) -> Outcome {
        let outcome = Outcome::Failed(reason);
        match record {
            Some(record) => self.finish(record, outcome).await,
            None => {
                self.count(&outcome);
                tracing::debug!(action = %self.action_id, outcome = ?outcome, "record failed before rendering");
                outcome
            }
        }
    }

    /// Counts the outcome of a record nobody awaits, for the action and for its rule, and
    /// dead-letters `record` (given when it failed for good and there is a dead-letter topic) from
    /// the runtime. Called on any thread, librdkafka's delivery thread included: it never blocks.
    pub fn count_unawaited(
        self: &Arc<Self>,
        record: Option<RenderedRecord>,
        outcome: Outcome,
        origin: &Origin,
    ) {
        self.count(&outcome);
        origin.count(&outcome);
        match &outcome {
            Outcome::Delivered => {
                if let (Some(latency), Some(received_at_ms)) =
                    (&self.latency, origin.received_at_ms)
                {
                    latency.observe_since_ms(received_at_ms, now_ms());
                }
            }
            Outcome::Failed(reason) => {
                tracing::debug!(action = %self.action_id, reason = %reason.describe(), "record failed");
                if let (Some(topic), Some(record)) = (&self.dead_letter_topic, record) {
                    let this = Arc::clone(self);
                    let topic = topic.clone();
                    let reason = reason.clone();
                    self.runtime.spawn(async move {
                        this.dead_letter(&topic, record, &reason).await;
                    });
                }
            }
            Outcome::Expired(_) | Outcome::Abandoned => {}
        }
    }

    /// Kafka said a record's topic does not exist, though the topic cache had it: the cache
    /// forgets it, so that the next record asks again.
    pub fn forget_missing_topic(&self, reason: &FailureReason) {
        if let FailureReason::UnknownTopic(topic) = reason {
            self.topics.forget(topic);
        }
    }

    /// Whether a record of this action that failed for good needs its content (for the
    /// dead-letter topic).
    fn keeps_failed_records(&self) -> bool {
        self.dead_letter_topic.is_some()
    }

    /// Puts the record into librdkafka's queue, waiting for room when it is full; `partition`
    /// `None` lets librdkafka's partitioner choose.
    pub async fn enqueue(
        &self,
        record: &RenderedRecord,
        partition: Option<i32>,
    ) -> Result<DeliveryFuture, Outcome> {
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        loop {
            let wait = match self.producer.produce_awaited(record, partition) {
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
                () = self.stop.cancelled() => return Err(Outcome::Abandoned),
                () = self.delivered.freed_next() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn dead_letter(&self, topic: &str, record: RenderedRecord, reason: &FailureReason) {
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
        let delivered = match self.enqueue(&letter, None).await {
            Ok(delivery) => delivery.await.is_ok(),
            Err(_) => false,
        };
        if delivered {
            self.metrics.inc("dead_lettered");
        } else {
            tracing::warn!(action = %self.action_id, dead_letter_topic = topic, "could not write to the dead-letter topic");
        }
    }
}

/// An `async` record in librdkafka, counted when its delivery report comes.
#[derive(Debug)]
pub struct Counted {
    /// Weak: the client holds the record's report, and the action holds the client; a strong
    /// reference would keep a stopped action's client open until its last record expired.
    outcomes: Weak<ActionOutcomes>,
    /// What the record counts against the memory buffer's room in librdkafka.
    size: u64,
    /// When it was handed to librdkafka.
    produced: Instant,
    origin: Origin,
}

impl Counted {
    /// For a record being handed to librdkafka at `produced` (a clock reading the caller
    /// already took: one fewer per record).
    pub fn new(
        outcomes: &Arc<ActionOutcomes>,
        size: u64,
        origin: Origin,
        produced: Instant,
    ) -> Self {
        Self {
            outcomes: Arc::downgrade(outcomes),
            size,
            produced,
            origin,
        }
    }

    /// Counts the delivery report; on librdkafka's delivery thread.
    pub fn count(self, result: &DeliveryResult<'_>) {
        // With the message librdkafka reported on, when the record failed for good.
        let (outcome, failed) = match result {
            Ok(_) => (Outcome::Delivered, None),
            Err((error, message)) => match classify(error, message.topic()) {
                Some(reason) => (Outcome::Failed(reason), Some(message)),
                // `async` records are not produced again: given up after `message.timeout.ms`.
                None => (Outcome::Expired(error.to_string()), None),
            },
        };
        let Some(outcomes) = self.outcomes.upgrade() else {
            // The action stopped first (closing its client purged the record): its rule hears.
            self.origin.count(&outcome);
            return;
        };
        match &outcome {
            Outcome::Delivered => outcomes.delivery_latency.observe(self.produced.elapsed()),
            Outcome::Failed(reason) => outcomes.forget_missing_topic(reason),
            Outcome::Expired(_) | Outcome::Abandoned => {}
        }
        let record = failed
            .filter(|_| outcomes.keeps_failed_records())
            .map(record_of);
        outcomes.count_unawaited(record, outcome, &self.origin);
        // Last: a flush that sees nothing left in librdkafka finds every outcome counted.
        outcomes.reported(self.size);
    }
}

/// The record librdkafka reported on, as it was produced (it was rendered from text, so its
/// bytes are UTF-8).
fn record_of(message: &BorrowedMessage<'_>) -> RenderedRecord {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    RenderedRecord {
        topic: message.topic().to_owned(),
        key: message.key().map(text),
        value: message.payload().map(text).unwrap_or_default(),
        headers: message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| {
                        (
                            header.key.to_owned(),
                            header.value.map(text).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        timestamp: message.timestamp().to_millis(),
    }
}
