//! Which partition a record goes to, chosen before librdkafka sees it: the memory buffer is kept
//! per partition, so the partition must be known when the record is buffered.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tributary_protocol::resources::PartitionStrategy;

/// `random`: a random partition, the same for a while ([`StickyPartition`]). `key_dispatch`: the
/// partition Java clients (and librdkafka's `murmur2_random`) pick for the key, so the same key
/// always lands on the same partition while the partition count stays; a record without a key
/// goes where `random` would put it.
pub fn choose_partition(
    strategy: PartitionStrategy,
    key: Option<&str>,
    partitions: i32,
    sticky: u32,
) -> i32 {
    if partitions <= 1 {
        return 0;
    }
    let count = partitions.unsigned_abs();
    let spread = match (strategy, key) {
        (PartitionStrategy::KeyDispatch, Some(key)) => murmur2(key.as_bytes()) & 0x7fff_ffff,
        _ => sticky,
    };
    // `spread % count` is below `partitions`, which is an i32.
    i32::try_from(spread % count).unwrap_or(0)
}

/// The random choice for records no key places: kept for `interval`, then drawn again, as
/// librdkafka (`sticky.partitioning.linger.ms`) and Java producers (KIP-480) do for records
/// without a key. A new random partition per record would split each linger window's records over
/// every partition: as many batches, smaller, each with its own append at the broker and its own
/// delivery report. Over time the records still spread evenly.
#[derive(Debug)]
pub struct StickyPartition {
    /// Zero: a new choice for every record.
    interval_nanos: u64,
    origin: Instant,
    /// Nanoseconds after `origin` at which the current choice ends.
    until: AtomicU64,
    choice: AtomicU32,
}

impl StickyPartition {
    /// Each choice is kept for twice the linger time (at most 15 minutes), as librdkafka's
    /// `sticky.partitioning.linger.ms` by default; without linger, each record is drawn anew.
    pub fn for_linger(linger: Duration) -> Self {
        let interval = linger.saturating_mul(2).min(Duration::from_secs(900));
        Self {
            interval_nanos: u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX),
            origin: Instant::now(),
            until: AtomicU64::new(0),
            choice: AtomicU32::new(rand::random()),
        }
    }

    /// The choice in force at `now`, for [`choose_partition`].
    pub fn at(&self, now: Instant) -> u32 {
        if self.interval_nanos == 0 {
            return rand::random();
        }
        let elapsed = u64::try_from(now.saturating_duration_since(self.origin).as_nanos())
            .unwrap_or(u64::MAX);
        // One task produces for a sink at a time; a race between two would only draw twice.
        if elapsed >= self.until.load(Ordering::Relaxed) {
            self.choice.store(rand::random(), Ordering::Relaxed);
            self.until.store(
                elapsed.saturating_add(self.interval_nanos),
                Ordering::Relaxed,
            );
        }
        self.choice.load(Ordering::Relaxed)
    }
}

/// Kafka's murmur2 (seed 0x9747b28c), as `org.apache.kafka.common.utils.Utils.murmur2`.
fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Java hashes the length as an int; keys are far below 4 GiB.
    let mut h = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, byte) in rest.iter().enumerate().rev() {
            h ^= u32::from(*byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_client() {
        // Kafka's own test vectors (UtilsTest.testMurmur2), as signed ints.
        let cases: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            ("abc", 479_470_107),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key.as_bytes()) as i32, expected, "key {key}");
        }
    }

    #[test]
    fn key_dispatch_is_stable_and_spreads_keys() {
        let first = choose_partition(PartitionStrategy::KeyDispatch, Some("device-7"), 12, 0);
        for sticky in 0..20 {
            assert_eq!(
                choose_partition(PartitionStrategy::KeyDispatch, Some("device-7"), 12, sticky),
                first,
                "the key decides, not the sticky choice"
            );
        }
        let used: std::collections::HashSet<i32> = (0..200)
            .map(|i| {
                choose_partition(
                    PartitionStrategy::KeyDispatch,
                    Some(&format!("device-{i}")),
                    12,
                    0,
                )
            })
            .collect();
        assert!(used.len() > 6, "keys spread over partitions: {used:?}");
        assert!(used.iter().all(|p| (0..12).contains(p)));
    }

    #[test]
    fn random_and_keyless_records_go_to_the_sticky_choice_within_the_partitions() {
        for strategy in [PartitionStrategy::Random, PartitionStrategy::KeyDispatch] {
            for sticky in [0, 1, 2, 3, 7, u32::MAX] {
                let partition = choose_partition(strategy, None, 3, sticky);
                assert_eq!(partition, i32::try_from(sticky % 3).unwrap());
            }
        }
        assert_eq!(
            choose_partition(PartitionStrategy::Random, Some("k"), 4, 6),
            2
        );
        assert_eq!(
            choose_partition(PartitionStrategy::Random, Some("k"), 1, 5),
            0
        );
        assert_eq!(choose_partition(PartitionStrategy::Random, None, 0, 5), 0);
    }

    #[test]
    fn the_sticky_choice_holds_for_its_interval_then_changes_and_spreads() {
        let sticky = StickyPartition::for_linger(Duration::from_millis(5));
        let start = sticky.origin;
        let first = sticky.at(start);
        for offset_ms in [0, 1, 5, 9] {
            assert_eq!(sticky.at(start + Duration::from_millis(offset_ms)), first);
        }
        // Every 10 ms a new draw: over many intervals every one of 4 partitions is chosen.
        let mut counts = [0u32; 4];
        for step in 1..=400u64 {
            let choice = sticky.at(start + Duration::from_millis(10 * step));
            counts[(choice % 4) as usize] += 1;
        }
        assert!(counts.iter().all(|&n| n > 50), "uneven spread: {counts:?}");
    }

    #[test]
    fn without_linger_each_record_is_drawn_anew() {
        let sticky = StickyPartition::for_linger(Duration::ZERO);
        let now = Instant::now();
        let draws: std::collections::HashSet<u32> = (0..50).map(|_| sticky.at(now)).collect();
        assert!(draws.len() > 40, "{} distinct draws of 50", draws.len());
    }
}
