//! The assigned partitions' own queues, read only while the source has room.
//!
//! librdkafka prefetches each partition's records into its queue, up to
//! `queued.max.messages.kbytes` per partition ([`super::config`]), and stops fetching while the
//! queue is full. So when the source is at `max_inflight` the thread just stops taking records:
//! nothing is paused, the prefetched records stay where they are, and reading resumes at once
//! when room frees up. (Pausing instead would discard the prefetched records and wait for a
//! refetch on every resume, and librdkafka keeps a partition's pause across a revoke and a
//! re-assignment, which once left re-assigned partitions paused for good.)
//!
//! Partitions are read in turns of at most [`TURN`] records, so one busy partition cannot
//! starve the others of the room.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::error::KafkaResult;
use rdkafka::message::BorrowedMessage;

use super::context::{SourceConsumer, SourceContext, partitions_of};
use super::wakeup::Waker;
use crate::source::offsets::TopicPartition;

/// Records taken from one partition before the next partition's turn.
const TURN: usize = 64;

/// One partition's queue, split off the consumer's main queue.
pub struct SplitQueue {
    partition: TopicPartition,
    queue: PartitionQueue<SourceContext>,
}

impl std::fmt::Debug for SplitQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitQueue")
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

impl SplitQueue {
    /// Splits `partition`'s records off the main queue; `waker` hears when the queue becomes
    /// readable. None when librdkafka does not know the partition.
    pub fn split(
        consumer: &Arc<SourceConsumer>,
        partition: TopicPartition,
        waker: &Waker,
    ) -> Option<Self> {
        let mut queue = consumer.split_partition_queue(&partition.topic, partition.partition)?;
        queue.set_nonempty_callback(waker.callback());
        Some(Self { partition, queue })
    }
}

/// The queues of the current assignment, read in turns.
#[derive(Debug, Default)]
pub struct PartitionQueues {
    queues: Vec<SplitQueue>,
    /// Whose turn is next.
    next: usize,
}

impl PartitionQueues {
    /// Takes the queues split off since the last call and, when the assignment changed, drops
    /// those of partitions no longer assigned.
    pub fn sync(&mut self, consumer: &SourceConsumer, assignment_changed: bool) {
        for split in consumer.context().take_split_queues() {
            match self
                .queues
                .iter_mut()
                .find(|queue| queue.partition == split.partition)
            {
                Some(existing) => *existing = split,
                None => self.queues.push(split),
            }
        }
        if assignment_changed {
            match consumer.assignment() {
                Ok(assignment) => {
                    let assigned = partitions_of(&assignment);
                    self.queues
                        .retain(|queue| assigned.contains(&queue.partition));
                }
                Err(error) => tracing::debug!(%error, "reading the assignment failed"),
            }
        }
    }

    /// Takes up to `room` records, partition by partition, handing each to `handle` with its
    /// partition. Returns how many were taken.
    pub fn read(
        &mut self,
        room: usize,
        mut handle: impl FnMut(&TopicPartition, KafkaResult<BorrowedMessage<'_>>),
    ) -> usize {
        let count = self.queues.len();
        let mut taken = 0;
        // Turns in a row that found their queue empty: a full round of them ends the read.
        let mut empty_turns = 0;
        while taken < room && empty_turns < count {
            let index = self.next % count;
            self.next = (index + 1) % count;
            let Some(split) = self.queues.get(index) else {
                break;
            };
            let mut in_turn = 0;
            while in_turn < TURN && taken < room {
                let Some(result) = split.queue.poll(Duration::ZERO) else {
                    break;
                };
                in_turn += 1;
                taken += 1;
                handle(&split.partition, result);
            }
            empty_turns = if in_turn == 0 { empty_turns + 1 } else { 0 };
        }
        taken
    }

    /// Drops every queue: they hold the consumer, which must go before it can close.
    pub fn clear(&mut self) {
        self.queues.clear();
    }
}
