//! The consumer thread: reads records, hands them to the dispatcher, stores offsets as their
//! deliveries finish, and stops reading (pauses its partitions) while `max_inflight` records are
//! unfinished. librdkafka's `poll` is blocking and runs the rebalance callbacks, so this is a
//! thread of its own rather than an async task.

pub mod config;
pub mod context;
pub mod lag;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use tributary_rules::KafkaRecord;

use self::context::SourceConsumer;
use super::offsets::{Ticket, TopicPartition};
use super::record::RecordDecoder;
use crate::telemetry::ResourceMetrics;

/// How long one `poll` may block: bounds how late shutdown and flow control are noticed.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A record on its way to MQTT, with the ticket that finishes it.
#[derive(Debug)]
pub struct Delivery {
    pub ticket: Ticket,
    pub record: KafkaRecord,
}

pub struct ConsumerLoop {
    pub consumer: SourceConsumer,
    pub decoder: RecordDecoder,
    pub deliveries: UnboundedSender<Delivery>,
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
        let context = self.consumer.context();
        let mut paused = false;
        // Resuming only once well below the bound avoids pausing on every other record.
        let resume_below = (self.max_inflight * 3 / 4).max(1);
        while !shutdown.is_cancelled() {
            context.absorb(&self.consumer, None);
            let outstanding = context.outstanding();
            self.metrics.set_gauge("inflight", outstanding as f64);
            let full = outstanding >= self.max_inflight;
            let reassigned = context.take_assignment_changed();
            if full && (!paused || reassigned) {
                paused = self.set_paused(true);
            } else if paused && outstanding < resume_below {
                paused = !self.set_paused(false);
            }
            if full {
                // Nothing to read: wait for deliveries to finish, and keep serving rebalances
                // and heartbeats-related events with a non-blocking poll.
                context.absorb(&self.consumer, Some(Instant::now() + POLL_INTERVAL));
                if let Some(result) = self.consumer.poll(Duration::ZERO)
                    && !self.handle(result)
                {
                    break;
                }
                continue;
            }
            if let Some(result) = self.consumer.poll(POLL_INTERVAL)
                && !self.handle(result)
            {
                break;
            }
        }
        self.close();
    }

    /// Returns false when the dispatcher is gone.
    fn handle(&self, result: Result<rdkafka::message::BorrowedMessage<'_>, KafkaError>) -> bool {
        match result {
            Ok(message) => {
                let partition = TopicPartition::new(message.topic(), message.partition());
                let ticket = self.consumer.context().track(&partition, message.offset());
                let record = self.decoder.decode(&message);
                self.deliveries.send(Delivery { ticket, record }).is_ok()
            }
            Err(KafkaError::PartitionEOF(_)) => true,
            Err(error) => {
                tracing::warn!(source = %self.source, %error, "Kafka consume error");
                true
            }
        }
    }

    /// Pauses or resumes every assigned partition. Returns whether it worked.
    fn set_paused(&self, pause: bool) -> bool {
        let assignment = match self.consumer.assignment() {
            Ok(assignment) => assignment,
            Err(error) => {
                tracing::debug!(%error, "reading the assignment failed");
                return false;
            }
        };
        let result = if pause {
            self.consumer.pause(&assignment)
        } else {
            self.consumer.resume(&assignment)
        };
        match result {
            Ok(()) => {
                tracing::debug!(source = %self.source, pause, "flow control");
                true
            }
            Err(error) => {
                tracing::debug!(%error, pause, "pausing or resuming partitions failed");
                false
            }
        }
    }

    fn close(self) {
        let context = self.consumer.context();
        let assigned: Vec<TopicPartition> = self
            .consumer
            .assignment()
            .map(|list| {
                list.elements()
                    .iter()
                    .map(|e| TopicPartition::new(e.topic(), e.partition()))
                    .collect()
            })
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
        // Dropping the consumer leaves the group, so its partitions move at once.
        drop(self.deliveries);
        drop(self.consumer);
    }
}
