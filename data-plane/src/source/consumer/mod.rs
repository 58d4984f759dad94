//! The consumer thread: reads records, hands them to the dispatcher, stores offsets as their
//! deliveries finish, and stops taking records while `max_inflight` are unfinished (their
//! partitions' queues then hold what librdkafka prefetched; see [`queues`]). librdkafka's `poll`
//! is blocking and runs the rebalance callbacks, so this is a thread of its own rather than an
//! async task.

pub mod config;
pub mod context;
pub mod lag;
pub mod queues;
pub mod wakeup;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use tributary_rules::KafkaRecord;

use self::context::SourceConsumer;
use self::queues::PartitionQueues;
use super::offsets::{Ticket, TopicPartition};
use super::record::RecordDecoder;
use crate::telemetry::ResourceMetrics;

/// The longest the thread sleeps without looking at shutdown and the main queue. Wakeups
/// (finished records, readable queues) end the sleep earlier.
const IDLE_WAIT: Duration = Duration::from_millis(100);

/// Events served from the main queue per round before reading records again.
const EVENTS_PER_ROUND: usize = 64;

/// A record on its way to MQTT, with the ticket that finishes it.
#[derive(Debug)]
pub struct Delivery {
    pub ticket: Ticket,
    pub record: KafkaRecord,
}

pub struct ConsumerLoop {
    pub consumer: Arc<SourceConsumer>,
    pub decoder: RecordDecoder,
    /// Records go to the dispatcher in batches: each send may wake its task.
    pub deliveries: UnboundedSender<Vec<Delivery>>,
    pub max_inflight: usize,
    /// How long shutdown waits for in-flight records before committing what finished.
    pub shutdown_drain: Duration,
    pub metrics: Arc<ResourceMetrics>,
    pub source: String,
}

impl std::fmt::Debug for ConsumerLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerLoop")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ConsumerLoop {
    /// Runs until `shutdown` is cancelled (or the dispatcher is gone), then drains, commits and
    /// leaves the group.
    pub fn run(self, shutdown: &CancellationToken) {
        let mut queues = PartitionQueues::default();
        let context = Arc::clone(self.consumer.context());
        // The gauge takes a lock and a name: set it when it changes, not every round.
        let mut inflight_reported = None;
        let mut batch = Vec::new();
        while !shutdown.is_cancelled() {
            // Rebalances, statistics, errors; records only of partitions not split off.
            let Some(events) = self.serve_main_queue() else {
                break;
            };
            queues.sync(&self.consumer, context.take_assignment_changed());
            context.absorb(&self.consumer, None);
            let outstanding = context.outstanding();
            let room = self.max_inflight.saturating_sub(outstanding);
            let taken = queues.read(room, |partition, result| {
                self.handle(Some(partition), result, &mut batch);
            });
            if !self.send(&mut batch) {
                break;
            }
            let inflight = outstanding + taken;
            if inflight_reported != Some(inflight) {
                self.metrics.set_gauge("inflight", inflight as f64);
                inflight_reported = Some(inflight);
            }
            if taken == 0 && events == 0 {
                // Nothing to do until a record finishes, a queue becomes readable or an event
                // arrives (all of which wake this wait), or shutdown (noticed within IDLE_WAIT).
                context.absorb(&self.consumer, Some(Instant::now() + IDLE_WAIT));
            }
        }
        queues.clear();
        self.close();
    }

    /// Serves what waits in the main queue. Returns how many polls found something, or None
    /// when the dispatcher is gone.
    fn serve_main_queue(&self) -> Option<usize> {
        let context = self.consumer.context();
        let mut found = 0;
        let mut batch = Vec::new();
        // Bounded, so a stream of events cannot keep the thread from reading records.
        for _ in 0..EVENTS_PER_ROUND {
            let served = context.served();
            match self.consumer.poll(Duration::ZERO) {
                Some(result) => {
                    found += 1;
                    self.handle(None, result, &mut batch);
                    // Sent at once: a rebalance served by the next poll may wait for it.
                    if !self.send(&mut batch) {
                        return None;
                    }
                }
                // `None` either after serving an event (a rebalance, statistics, a log line) or
                // from an empty queue: only the callbacks tell which.
                None if context.served() != served => found += 1,
                None => break,
            }
        }
        Some(found)
    }

    /// Tracks a record and adds it to `batch`; `queue` is the partition whose queue it came
    /// from.
    fn handle(
        &self,
        queue: Option<&TopicPartition>,
        result: Result<BorrowedMessage<'_>, KafkaError>,
        batch: &mut Vec<Delivery>,
    ) {
        match result {
            Ok(message) => {
                // The queue's partition shares its topic name: no allocation per record.
                let partition = match queue {
                    Some(tp) if tp.partition == message.partition() => tp.clone(),
                    _ => TopicPartition::new(message.topic(), message.partition()),
                };
                let ticket = self.consumer.context().track(&partition, message.offset());
                let record = self
                    .decoder
                    .decode_from(&message, Arc::clone(&partition.topic));
                batch.push(Delivery { ticket, record });
            }
            Err(KafkaError::PartitionEOF(_)) => {}
            Err(error) => {
                tracing::warn!(source = %self.source, %error, "Kafka consume error");
            }
        }
    }

    /// Hands `batch` to the dispatcher. Returns false when the dispatcher is gone.
    fn send(&self, batch: &mut Vec<Delivery>) -> bool {
        batch.is_empty() || self.deliveries.send(std::mem::take(batch)).is_ok()
    }

    fn close(self) {
        let context = Arc::clone(self.consumer.context());
        let assigned: Vec<TopicPartition> = self
            .consumer
            .assignment()
            .map(|list| context::partitions_of(&list))
            .unwrap_or_default();
        let left_unfinished = context.settle(&self.consumer, &assigned, self.shutdown_drain);
        // Anything stored but not yet auto-committed goes now; "no offset" just means nothing new.
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync)
            && !matches!(
                error,
                KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)
            )
        {
            tracing::warn!(source = %self.source, %error, "final offset commit failed");
        }
        context.set_closing();
        tracing::info!(source = %self.source, left_unfinished, "source consumer stopped");
        self.metrics.set_gauge("inflight", 0.0);
        // Queues split off by a rebalance since the last round hold the consumer too.
        drop(context.take_split_queues());
        drop(context);
        // Dropping the last handle leaves the group, so its partitions move at once.
        drop(self.deliveries);
        drop(self.consumer);
    }
}
