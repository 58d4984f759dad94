//! Sends an action's disk log to Kafka: reads records in order, hands them to librdkafka while it
//! has room, and tells the log which records are settled (acknowledged by Kafka, or failed for
//! good) so it can delete them.
//!
//! A disk action's producer never gives a record up (`message.timeout.ms` 0, see `config.rs`):
//! librdkafka retries it until Kafka takes it, keeping the partition's order. A record only leaves
//! the log once Kafka acknowledged it; a worker that dies before that sends it again after its
//! restart (at least once: such records may arrive twice).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::log::{Command, LogHandle, PartitionId};
use super::partition::Stored;
use crate::backoff::Backoff;
use crate::sink::kafka::client::SinkProducer;
use crate::sink::kafka::delivery::{FailureReason, classify};
use crate::telemetry::ResourceMetrics;

/// Bytes of records asked from the log at once.
const READ_BYTES: u64 = 1 << 20;

/// What one delivery came to.
struct Delivered {
    partition: PartitionId,
    stored: Stored,
    result: Result<(), KafkaError>,
    /// When it was handed to librdkafka, for the delivery latency.
    produced: Instant,
}

/// The records of one partition the pump holds: read and not yet settled.
#[derive(Default)]
struct Held {
    positions: BTreeSet<u64>,
    /// The end of the last record read.
    read_end: u64,
}

pub struct Pump {
    pub log: LogHandle,
    pub producer: SinkProducer,
    pub metrics: Arc<ResourceMetrics>,
    /// Records handed to librdkafka and not yet answered.
    pub in_flight: Arc<AtomicU64>,
    pub stop: CancellationToken,
}

impl Pump {
    pub async fn run(self) {
        let success = self.metrics.counter("success");
        let failed = self.metrics.counter("failed");
        let too_large = self.metrics.counter("dropped.too_large");
        let delivery_latency = self.metrics.histogram("delivery_latency");
        let mut ready: VecDeque<(PartitionId, Stored)> = VecDeque::new();
        let mut held: HashMap<PartitionId, Held> = HashMap::new();
        let mut deliveries: FuturesUnordered<BoxFuture<'static, Delivered>> =
            FuturesUnordered::new();
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        // Nothing left to read until the log says it appended more.
        let mut drained = false;
        loop {
            if ready.is_empty() && !drained {
                let records = tokio::select! {
                    () = self.stop.cancelled() => break,
                    records = self.read() => records,
                };
                match records {
                    Some(records) if !records.is_empty() => {
                        for (partition, stored) in &records {
                            let entry = held.entry(partition.clone()).or_default();
                            entry.positions.insert(stored.position);
                            entry.read_end = stored.end;
                        }
                        ready.extend(records);
                    }
                    Some(_) => drained = true,
                    None => break,
                }
            }
            // Hand over what librdkafka takes.
            let mut wait = None;
            // One clock read for the records handed over together.
            let produced = Instant::now();
            while let Some((partition, stored)) = ready.pop_front() {
                match self.producer.produce_awaited(&stored.record, partition.1) {
                    Ok(delivery) => {
                        backoff.reset();
                        self.in_flight.fetch_add(1, Ordering::Relaxed);
                        deliveries.push(Box::pin(async move {
                            let result = delivery.await;
                            Delivered {
                                partition,
                                stored,
                                result,
                                produced,
                            }
                        }));
                    }
                    Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)) => {
                        ready.push_front((partition, stored));
                        wait = Some(Duration::from_millis(100));
                        break;
                    }
                    Err(error) => match classify(&error, &stored.record.topic) {
                        Some(reason) => {
                            count_failure(&failed, &too_large, &reason);
                            tracing::warn!(topic = %stored.record.topic, reason = %reason.describe(), "a buffered record failed for good; it is removed from the disk buffer");
                            self.settle(&mut held, &partition, stored.position);
                        }
                        None => {
                            ready.push_front((partition, stored));
                            wait = Some(backoff.next_delay());
                            break;
                        }
                    },
                }
            }
            let idle = ready.is_empty() && drained;
            tokio::select! {
                () = self.stop.cancelled() => break,
                Some(delivered) = deliveries.next(), if !deliveries.is_empty() => {
                    self.in_flight.fetch_sub(1, Ordering::Relaxed);
                    let mut all = vec![delivered];
                    while let Some(Some(more)) = futures::FutureExt::now_or_never(deliveries.next()) {
                        self.in_flight.fetch_sub(1, Ordering::Relaxed);
                        all.push(more);
                    }
                    let mut settled: HashMap<PartitionId, Vec<u64>> = HashMap::new();
                    let acknowledged = Instant::now();
                    for Delivered { partition, stored, result, produced } in all {
                        match result {
                            Ok(()) => {
                                success.inc();
                                delivery_latency.observe(acknowledged.saturating_duration_since(produced));
                                settled.entry(partition).or_default().push(stored.position);
                            }
                            Err(error) => match classify(&error, &stored.record.topic) {
                                Some(reason) => {
                                    count_failure(&failed, &too_large, &reason);
                                    tracing::warn!(topic = %stored.record.topic, reason = %reason.describe(), "a buffered record failed for good; it is removed from the disk buffer");
                                    settled.entry(partition).or_default().push(stored.position);
                                }
                                // Not given up (the producer never times records out): the
                                // client is closing. The record stays in the log for next time.
                                None if self.stop.is_cancelled() => {}
                                None => {
                                    tracing::debug!(%error, "a buffered record is produced again");
                                    ready.push_front((partition, stored));
                                }
                            },
                        }
                    }
                    for (partition, positions) in settled {
                        self.settle_many(&mut held, &partition, &positions);
                    }
                }
                () = self.log.appended.notified(), if idle => drained = false,
                // A full librdkafka queue is waited out here, or sooner by one of this pump's
                // own deliveries above.
                () = tokio::time::sleep(wait.unwrap_or(Duration::ZERO)), if wait.is_some() => {}
            }
        }
    }

    /// Records the log has not handed over yet; `None` when the log is gone.
    async fn read(&self) -> Option<Vec<(PartitionId, Stored)>> {
        let (reply, records) = oneshot::channel();
        if !self.log.send(Command::Read {
            max_bytes: READ_BYTES,
            reply,
        }) {
            return None;
        }
        records.await.ok()
    }

    /// Forgets a settled record and tells the log how far its partition is settled.
    fn settle(
        &self,
        held: &mut HashMap<PartitionId, Held>,
        partition: &PartitionId,
        position: u64,
    ) {
        self.settle_many(held, partition, &[position]);
    }

    /// Forgets settled records of one partition and tells the log how far it is settled: one
    /// message to the log for a whole burst of deliveries.
    fn settle_many(
        &self,
        held: &mut HashMap<PartitionId, Held>,
        partition: &PartitionId,
        positions: &[u64],
    ) {
        let Some(entry) = held.get_mut(partition) else {
            return;
        };
        for position in positions {
            entry.positions.remove(position);
        }
        let settled_to = entry.positions.first().copied().unwrap_or(entry.read_end);
        self.log.send(Command::Settled {
            partition: partition.clone(),
            position: settled_to,
        });
    }
}

fn count_failure(
    failed: &crate::telemetry::metrics::CounterHandle,
    too_large: &crate::telemetry::metrics::CounterHandle,
    reason: &FailureReason,
) {
    failed.inc();
    if *reason == FailureReason::TooLarge {
        too_large.inc();
    }
}
