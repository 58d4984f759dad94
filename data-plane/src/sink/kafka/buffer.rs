//! The memory buffer of an `async` `kafka_producer` action, as EMQX keeps one per partition.
//!
//! Records wait here, per (topic, partition), until librdkafka has room for them. Each partition
//! holds at most `per_partition_limit` bytes: a record that would go over makes the partition drop
//! its oldest records until it fits (the caller counts them as `dropped.queue_full`). The oldest
//! record overall leaves first, so each partition keeps its order.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

/// A topic and partition. The partition is `None` while the topic's partition count is unknown
/// (the broker could not be asked): librdkafka chooses it when it learns the count.
pub type PartitionKey = (Arc<str>, Option<i32>);

/// Records waiting for librdkafka, bounded per partition by bytes.
#[derive(Debug)]
pub struct PartitionBuffers<T> {
    limit: u64,
    partitions: HashMap<PartitionKey, Partition<T>>,
    /// The sequence number of each non-empty partition's oldest record, so the oldest record
    /// overall is found without scanning every partition.
    fronts: BTreeSet<(u64, PartitionKey)>,
    next_seq: u64,
    len: usize,
    bytes: u64,
}

#[derive(Debug)]
struct Partition<T> {
    entries: VecDeque<Entry<T>>,
    bytes: u64,
}

#[derive(Debug)]
struct Entry<T> {
    seq: u64,
    size: u64,
    item: T,
}

/// A record taken out of the buffer; [`PartitionBuffers::put_back`] returns it to the head of
/// its partition when librdkafka had no room for it.
#[derive(Debug)]
pub struct Taken<T> {
    pub key: PartitionKey,
    pub item: T,
    seq: u64,
    size: u64,
}

impl<T> PartitionBuffers<T> {
    /// `limit` is the most bytes one partition holds.
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            partitions: HashMap::new(),
            fronts: BTreeSet::new(),
            next_seq: 0,
            len: 0,
            bytes: 0,
        }
    }

    /// Records waiting, over all partitions.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes waiting, over all partitions.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends a record of `size` bytes to its partition and returns what was dropped to make
    /// room: that partition's oldest records, oldest first. A record larger than the whole limit
    /// can never fit, so it is the one dropped and the others stay.
    pub fn push(&mut self, key: PartitionKey, size: u64, item: T) -> Vec<T> {
        if size > self.limit {
            return vec![item];
        }
        let mut dropped = Vec::new();
        let seq = self.next_seq;
        self.next_seq += 1;
        let partition = self.partitions.entry(key.clone()).or_insert(Partition {
            entries: VecDeque::new(),
            bytes: 0,
        });
        let old_front = partition.entries.front().map(|e| e.seq);
        while partition.bytes + size > self.limit {
            let Some(oldest) = partition.entries.pop_front() else {
                break;
            };
            partition.bytes -= oldest.size;
            self.bytes -= oldest.size;
            self.len -= 1;
            dropped.push(oldest.item);
        }
        partition.entries.push_back(Entry { seq, size, item });
        partition.bytes += size;
        self.bytes += size;
        self.len += 1;
        let new_front = partition.entries.front().map(|e| e.seq);
        if old_front != new_front {
            if let Some(old) = old_front {
                self.fronts.remove(&(old, key.clone()));
            }
            if let Some(new) = new_front {
                self.fronts.insert((new, key));
            }
        }
        dropped
    }

    /// Takes the oldest record of all partitions.
    pub fn take_oldest(&mut self) -> Option<Taken<T>> {
        let (seq, key) = self.fronts.pop_first()?;
        let partition = self.partitions.get_mut(&key)?;
        let entry = partition.entries.pop_front()?;
        debug_assert_eq!(entry.seq, seq);
        partition.bytes -= entry.size;
        self.bytes -= entry.size;
        self.len -= 1;
        match partition.entries.front() {
            Some(next) => {
                self.fronts.insert((next.seq, key.clone()));
            }
            None => {
                self.partitions.remove(&key);
            }
        }
        Some(Taken {
            key,
            item: entry.item,
            seq: entry.seq,
            size: entry.size,
        })
    }

    /// Returns a taken record to the head of its partition. Newer records may have filled the
    /// partition meanwhile; then this one, the oldest, is the one to drop and is handed back.
    pub fn put_back(&mut self, taken: Taken<T>) -> Option<T> {
        let Taken {
            key,
            item,
            seq,
            size,
        } = taken;
        let partition = self.partitions.entry(key.clone()).or_insert(Partition {
            entries: VecDeque::new(),
            bytes: 0,
        });
        if partition.bytes + size > self.limit {
            return Some(item);
        }
        if let Some(front) = partition.entries.front() {
            self.fronts.remove(&(front.seq, key.clone()));
        }
        partition.entries.push_front(Entry { seq, size, item });
        partition.bytes += size;
        self.bytes += size;
        self.len += 1;
        self.fronts.insert((seq, key));
        None
    }

    /// Empties the buffer, oldest first per partition.
    pub fn drain(&mut self) -> Vec<T> {
        let mut all = Vec::with_capacity(self.len);
        while let Some(taken) = self.take_oldest() {
            all.push(taken.item);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(topic: &str, partition: i32) -> PartitionKey {
        (Arc::from(topic), Some(partition))
    }

    fn take_all(buffer: &mut PartitionBuffers<&'static str>) -> Vec<&'static str> {
        std::iter::from_fn(|| buffer.take_oldest().map(|t| t.item)).collect()
    }

    #[test]
    fn counts_records_and_bytes() {
        let mut buffer = PartitionBuffers::new(100);
        assert!(buffer.push(key("t", 0), 30, "a").is_empty());
        assert!(buffer.push(key("t", 1), 20, "b").is_empty());
        assert_eq!((buffer.len(), buffer.bytes()), (2, 50));
        let taken = buffer.take_oldest().unwrap();
        assert_eq!(taken.item, "a");
        assert_eq!((buffer.len(), buffer.bytes()), (1, 20));
        assert!(buffer.put_back(taken).is_none());
        assert_eq!((buffer.len(), buffer.bytes()), (2, 50));
        assert_eq!(buffer.drain(), vec!["a", "b"]);
        assert!(buffer.is_empty());
        assert_eq!(buffer.bytes(), 0);
    }

    #[test]
    fn drops_the_oldest_of_the_partition_until_the_new_record_fits() {
        let mut buffer = PartitionBuffers::new(100);
        for item in ["a", "b", "c", "d"] {
            assert!(buffer.push(key("t", 0), 25, item).is_empty());
        }
        // Exactly at the limit; 60 more bytes need three of the four gone.
        assert_eq!(buffer.push(key("t", 0), 60, "e"), vec!["a", "b", "c"]);
        assert_eq!((buffer.len(), buffer.bytes()), (2, 85));
        assert_eq!(take_all(&mut buffer), vec!["d", "e"]);
    }

    #[test]
    fn a_record_larger_than_the_limit_is_dropped_alone() {
        let mut buffer = PartitionBuffers::new(100);
        assert!(buffer.push(key("t", 0), 50, "kept").is_empty());
        assert_eq!(buffer.push(key("t", 0), 101, "huge"), vec!["huge"]);
        assert_eq!(take_all(&mut buffer), vec!["kept"]);
    }

    #[test]
    fn partitions_are_limited_independently() {
        let mut buffer = PartitionBuffers::new(50);
        assert!(buffer.push(key("t", 0), 50, "t0-old").is_empty());
        assert!(buffer.push(key("t", 1), 50, "t1-old").is_empty());
        assert!(buffer.push(key("u", 0), 50, "u0-old").is_empty());
        assert!(buffer.push((Arc::from("t"), None), 50, "t?-old").is_empty());
        assert_eq!(buffer.push(key("t", 1), 10, "t1-new"), vec!["t1-old"]);
        assert_eq!(buffer.bytes(), 160);
        assert_eq!(
            take_all(&mut buffer),
            vec!["t0-old", "u0-old", "t?-old", "t1-new"]
        );
    }

    #[test]
    fn takes_the_oldest_first_and_keeps_each_partitions_order() {
        let mut buffer = PartitionBuffers::new(1000);
        for (partition, item) in [(0, "a0"), (1, "a1"), (0, "b0"), (2, "a2"), (1, "b1")] {
            assert!(buffer.push(key("t", partition), 1, item).is_empty());
        }
        let first = buffer.take_oldest().unwrap();
        assert_eq!(first.item, "a0");
        // librdkafka had no room: it goes back ahead of b0.
        assert!(buffer.put_back(first).is_none());
        assert_eq!(take_all(&mut buffer), vec!["a0", "a1", "b0", "a2", "b1"]);
    }

    #[test]
    fn a_record_put_back_into_a_partition_filled_meanwhile_is_dropped() {
        let mut buffer = PartitionBuffers::new(100);
        assert!(buffer.push(key("t", 0), 60, "old").is_empty());
        let taken = buffer.take_oldest().unwrap();
        assert!(buffer.push(key("t", 0), 60, "new").is_empty());
        assert_eq!(buffer.put_back(taken), Some("old"));
        assert_eq!((buffer.len(), buffer.bytes()), (1, 60));
        assert_eq!(take_all(&mut buffer), vec!["new"]);
    }

    #[test]
    fn a_record_put_back_keeps_its_place_among_partitions() {
        let mut buffer = PartitionBuffers::new(100);
        assert!(buffer.push(key("t", 0), 10, "a0").is_empty());
        let taken = buffer.take_oldest().unwrap();
        assert!(buffer.push(key("t", 1), 10, "a1").is_empty());
        assert!(buffer.push(key("t", 0), 10, "b0").is_empty());
        assert!(buffer.put_back(taken).is_none());
        assert_eq!(take_all(&mut buffer), vec!["a0", "a1", "b0"]);
    }
}
