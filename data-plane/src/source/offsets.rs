//! Which Kafka offsets may be committed.
//!
//! Records of one partition finish out of order (publishes to different MQTT topics are
//! acknowledged independently), but a committed offset promises that everything before it was
//! delivered. So each partition keeps its records in read order and only the contiguous prefix
//! of finished records moves the commit point. Offsets need not be consecutive (compaction and
//! transaction markers leave holes): the queue holds the offsets actually read.
//!
//! A revoked partition is forgotten; a ticket of a forgotten partition (a record still in flight
//! when the partition moved to another worker) no longer moves anything. The new owner reads
//! those records again: duplicates, never gaps.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// A Kafka topic and partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: &str, partition: i32) -> Self {
        Self {
            topic: Arc::from(topic),
            partition,
        }
    }
}

/// Proof that a record was read; handed back through [`OffsetTracker::complete`] once the record
/// is finished (delivered, or failed in a way retrying cannot fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub partition: TopicPartition,
    pub offset: i64,
    /// Which tracking of the partition issued the ticket; tickets of a forgotten one are stale.
    generation: u64,
}

/// Per partition, the records read and not yet behind the commit point.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    /// Looked up for every record read and every record finished: foldhash (seeded per
    /// process) rather than SipHash.
    partitions: HashMap<TopicPartition, PartitionTrack, foldhash::fast::RandomState>,
    next_generation: u64,
}

#[derive(Debug)]
struct PartitionTrack {
    generation: u64,
    /// Offsets read, ascending, each with whether it is finished.
    pending: VecDeque<(i64, bool)>,
    /// The next offset to consume after the finished prefix: what a commit would store.
    commit_point: Option<i64>,
    /// Whether `commit_point` moved since [`OffsetTracker::take_commits`] last reported it.
    moved: bool,
}

impl OffsetTracker {
    /// Registers a record just read from `partition` at `offset`.
    pub fn track(&mut self, partition: &TopicPartition, offset: i64) -> Ticket {
        // The usual case, a partition already tracked and read onwards, takes one lookup.
        if let Some(track) = self.partitions.get_mut(partition)
            && track.pending.back().is_none_or(|(last, _)| offset > *last)
        {
            track.pending.push_back((offset, false));
            return Ticket {
                partition: partition.clone(),
                offset,
                generation: track.generation,
            };
        }
        let rewound = self
            .partitions
            .get(partition)
            .and_then(|track| track.pending.back().map(|(last, _)| offset <= *last))
            .unwrap_or(false);
        if rewound {
            // The consumer went back (a seek or offset reset): what is pending will be read
            // again, so start over rather than let stale completions move the commit point.
            self.forget(partition);
        }
        let next_generation = &mut self.next_generation;
        let track = self.partitions.entry(partition.clone()).or_insert_with(|| {
            *next_generation += 1;
            PartitionTrack {
                generation: *next_generation,
                pending: VecDeque::new(),
                commit_point: None,
                moved: false,
            }
        });
        track.pending.push_back((offset, false));
        Ticket {
            partition: partition.clone(),
            offset,
            generation: track.generation,
        }
    }

    /// Marks a record finished. Returns whether the partition's commit point moved.
    pub fn complete(&mut self, ticket: &Ticket) -> bool {
        let Some(track) = self.partitions.get_mut(&ticket.partition) else {
            return false;
        };
        if track.generation != ticket.generation {
            return false;
        }
        let Ok(index) = track
            .pending
            .binary_search_by_key(&ticket.offset, |(offset, _)| *offset)
        else {
            return false;
        };
        if let Some(slot) = track.pending.get_mut(index) {
            slot.1 = true;
        }
        let mut moved = false;
        while let Some((offset, true)) = track.pending.front().copied() {
            track.pending.pop_front();
            track.commit_point = Some(offset + 1);
            moved = true;
        }
        track.moved |= moved;
        moved
    }

    /// Commit points that moved since the last call: `(partition, next offset to consume)`.
    pub fn take_commits(&mut self) -> Vec<(TopicPartition, i64)> {
        let mut commits: Vec<_> = self
            .partitions
            .iter_mut()
            .filter_map(|(tp, track)| {
                let moved = std::mem::take(&mut track.moved);
                track
                    .commit_point
                    .filter(|_| moved)
                    .map(|offset| (tp.clone(), offset))
            })
            .collect();
        commits.sort();
        commits
    }

    /// The next offset to consume after the finished prefix, when anything finished.
    pub fn commit_point(&self, partition: &TopicPartition) -> Option<i64> {
        self.partitions.get(partition)?.commit_point
    }

    /// Records of `partition` read and not yet behind the commit point.
    pub fn unfinished(&self, partition: &TopicPartition) -> usize {
        self.partitions
            .get(partition)
            .map_or(0, |track| track.pending.len())
    }

    /// The offset of the oldest record of `partition` read and not yet behind the commit point.
    pub fn first_unfinished(&self, partition: &TopicPartition) -> Option<i64> {
        let (offset, _) = self.partitions.get(partition)?.pending.front()?;
        Some(*offset)
    }

    /// Stops tracking a partition (revoked, or read again from an earlier offset).
    pub fn forget(&mut self, partition: &TopicPartition) {
        self.partitions.remove(partition);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(partition: i32) -> TopicPartition {
        TopicPartition::new("t", partition)
    }

    #[test]
    fn out_of_order_completions_commit_only_the_contiguous_prefix() {
        let mut tracker = OffsetTracker::default();
        let tickets: Vec<_> = (10..15).map(|o| tracker.track(&tp(0), o)).collect();

        assert!(!tracker.complete(&tickets[2]));
        assert!(!tracker.complete(&tickets[1]));
        assert_eq!(tracker.commit_point(&tp(0)), None);
        assert!(tracker.take_commits().is_empty());

        assert!(tracker.complete(&tickets[0]));
        assert_eq!(tracker.commit_point(&tp(0)), Some(13));
        assert_eq!(tracker.take_commits(), vec![(tp(0), 13)]);
        assert!(tracker.take_commits().is_empty(), "reported once");

        assert!(!tracker.complete(&tickets[4]));
        assert_eq!(tracker.unfinished(&tp(0)), 2);
        assert_eq!(tracker.first_unfinished(&tp(0)), Some(13));
        assert!(tracker.complete(&tickets[3]));
        assert_eq!(tracker.take_commits(), vec![(tp(0), 15)]);
        assert_eq!(tracker.unfinished(&tp(0)), 0);
        assert_eq!(tracker.first_unfinished(&tp(0)), None);
    }

    #[test]
    fn holes_in_the_offsets_do_not_block_the_commit_point() {
        let mut tracker = OffsetTracker::default();
        let a = tracker.track(&tp(0), 3);
        let b = tracker.track(&tp(0), 7);
        tracker.complete(&b);
        tracker.complete(&a);
        assert_eq!(tracker.commit_point(&tp(0)), Some(8));
    }

    #[test]
    fn partitions_are_independent() {
        let mut tracker = OffsetTracker::default();
        let a = tracker.track(&tp(0), 0);
        let _blocked = tracker.track(&tp(1), 0);
        let c = tracker.track(&tp(1), 1);
        tracker.complete(&a);
        tracker.complete(&c);
        assert_eq!(tracker.take_commits(), vec![(tp(0), 1)]);
        assert_eq!(tracker.commit_point(&tp(1)), None);
    }

    #[test]
    fn a_forgotten_partition_ignores_stale_tickets() {
        let mut tracker = OffsetTracker::default();
        let old = tracker.track(&tp(0), 5);
        tracker.forget(&tp(0));
        assert_eq!(tracker.unfinished(&tp(0)), 0);

        // Assigned again, and the same record read again.
        let again = tracker.track(&tp(0), 5);
        assert!(!tracker.complete(&old), "a stale ticket moves nothing");
        assert_eq!(tracker.commit_point(&tp(0)), None);
        assert!(tracker.complete(&again));
        assert_eq!(tracker.commit_point(&tp(0)), Some(6));
    }

    #[test]
    fn reading_an_earlier_offset_starts_the_partition_over() {
        let mut tracker = OffsetTracker::default();
        let first = tracker.track(&tp(0), 20);
        let _second = tracker.track(&tp(0), 21);
        let rewound = tracker.track(&tp(0), 20);
        assert!(!tracker.complete(&first));
        assert_eq!(tracker.unfinished(&tp(0)), 1);
        assert!(tracker.complete(&rewound));
        assert_eq!(tracker.commit_point(&tp(0)), Some(21));
    }

    #[test]
    fn unknown_tickets_are_ignored() {
        let mut tracker = OffsetTracker::default();
        let ticket = tracker.track(&tp(0), 1);
        let mut other = ticket.clone();
        other.offset = 99;
        assert!(!tracker.complete(&other));
        assert!(tracker.complete(&ticket));
        assert!(!tracker.complete(&ticket), "completing twice moves nothing");
    }
}
