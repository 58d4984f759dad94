//! Which partition a record goes to, chosen before librdkafka sees it: the memory buffer is kept
//! per partition, so the partition must be known when the record is buffered.

use tributary_protocol::resources::PartitionStrategy;

/// `random`: any partition. `key_dispatch`: the partition Java clients (and librdkafka's
/// `murmur2_random`) pick for the key, so the same key always lands on the same partition while
/// the partition count stays; a record without a key goes to a random partition.
pub fn choose_partition(strategy: PartitionStrategy, key: Option<&str>, partitions: i32) -> i32 {
    if partitions <= 1 {
        return 0;
    }
    let count = partitions.unsigned_abs();
    let spread = match (strategy, key) {
        (PartitionStrategy::KeyDispatch, Some(key)) => murmur2(key.as_bytes()) & 0x7fff_ffff,
        _ => rand::random::<u32>(),
    };
    // `spread % count` is below `partitions`, which is an i32.
    i32::try_from(spread % count).unwrap_or(0)
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
        let first = choose_partition(PartitionStrategy::KeyDispatch, Some("device-7"), 12);
        for _ in 0..20 {
            assert_eq!(
                choose_partition(PartitionStrategy::KeyDispatch, Some("device-7"), 12),
                first
            );
        }
        let used: std::collections::HashSet<i32> = (0..200)
            .map(|i| {
                choose_partition(
                    PartitionStrategy::KeyDispatch,
                    Some(&format!("device-{i}")),
                    12,
                )
            })
            .collect();
        assert!(used.len() > 6, "keys spread over partitions: {used:?}");
        assert!(used.iter().all(|p| (0..12).contains(p)));
    }

    #[test]
    fn random_and_keyless_records_stay_within_the_partitions() {
        for strategy in [PartitionStrategy::Random, PartitionStrategy::KeyDispatch] {
            for _ in 0..100 {
                assert!((0..3).contains(&choose_partition(strategy, None, 3)));
            }
        }
        assert_eq!(choose_partition(PartitionStrategy::Random, Some("k"), 1), 0);
        assert_eq!(choose_partition(PartitionStrategy::Random, None, 0), 0);
    }
}
