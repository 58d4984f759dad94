//! A consumer group's committed offsets, read with the Kafka admin protocol (OffsetFetch) by a
//! consumer that never joins the group, so reading them does not disturb the source.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// Reads the committed offsets of one group on one topic.
pub struct CommittedOffsets {
    consumer: BaseConsumer,
    partitions: TopicPartitionList,
}

impl std::fmt::Debug for CommittedOffsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommittedOffsets").finish_non_exhaustive()
    }
}

impl CommittedOffsets {
    pub fn new(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Self {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .unwrap_or_else(|e| panic!("offsets reader: {e}"));
        let mut list = TopicPartitionList::new();
        for partition in 0..partitions {
            list.add_partition(topic, partition);
        }
        Self {
            consumer,
            partitions: list,
        }
    }

    /// The sum over the topic's partitions of the group's committed offsets (a partition with no
    /// commit counts 0), i.e. how many records the group has declared done; None when the broker
    /// did not answer. Blocking: call it from `spawn_blocking` or accept a short stall.
    pub fn total(&self) -> Option<u64> {
        let committed = self
            .consumer
            .committed_offsets(self.partitions.clone(), Duration::from_secs(5))
            .ok()?;
        Some(
            committed
                .elements()
                .iter()
                .map(|element| match element.offset() {
                    Offset::Offset(n) => u64::try_from(n).unwrap_or(0),
                    _ => 0,
                })
                .sum(),
        )
    }
}
