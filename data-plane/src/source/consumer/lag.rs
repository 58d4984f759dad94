//! Consumer lag per partition and whether any broker connection is up, from librdkafka's
//! statistics.
//!
//! Lag is the high watermark minus where a restart would read from: the offset we stored (the
//! delivered prefix), else the group's committed offset. A group that has neither (new, nothing
//! delivered yet) would start over from the first record we read and have not delivered, else
//! from our position, else from the low watermark. So records read but not yet acknowledged by
//! MQTT count as lag, as Kafka's tools show it.

use rdkafka::statistics::{Partition, Statistics};

use crate::telemetry::ResourceMetrics;

/// The gauge name for one partition's lag.
pub fn lag_gauge(topic: &str, partition: i32) -> String {
    format!("lag.{topic}.{partition}")
}

/// `(topic, partition, lag)` of every partition this consumer is assigned.
/// `first_unfinished` gives the oldest record read and not delivered, per topic and partition.
pub fn partition_lags(
    statistics: &Statistics,
    first_unfinished: impl Fn(&str, i32) -> Option<i64>,
) -> Vec<(String, i32, i64)> {
    let mut lags = Vec::new();
    for (topic, topic_stats) in &statistics.topics {
        for (partition, stats) in &topic_stats.partitions {
            // -1 is librdkafka's internal "unassigned" partition.
            if *partition < 0 || !stats.desired {
                continue;
            }
            if let Some(lag) = partition_lag(stats, || first_unfinished(topic, *partition)) {
                lags.push((topic.clone(), *partition, lag));
            }
        }
    }
    lags.sort();
    lags
}

/// One partition's lag; None while its high watermark is unknown.
pub fn partition_lag(
    stats: &Partition,
    first_unfinished: impl FnOnce() -> Option<i64>,
) -> Option<i64> {
    if stats.hi_offset < 0 {
        return None;
    }
    if stats.consumer_lag_stored >= 0 {
        return Some(stats.consumer_lag_stored);
    }
    if stats.consumer_lag >= 0 {
        return Some(stats.consumer_lag);
    }
    // Neither stored nor committed. librdkafka reports -1 for offsets it does not know.
    let start = first_unfinished().or_else(|| {
        [stats.app_offset, stats.next_offset, stats.lo_offset]
            .into_iter()
            .find(|o| *o >= 0)
    })?;
    Some((stats.hi_offset - start).max(0))
}

pub fn report_lags(
    statistics: &Statistics,
    metrics: &ResourceMetrics,
    first_unfinished: impl Fn(&str, i32) -> Option<i64>,
) {
    for (topic, partition, lag) in partition_lags(statistics, first_unfinished) {
        // Lags are far below 2^53, so the conversion is exact.
        metrics.set_gauge(&lag_gauge(&topic, partition), lag as f64);
    }
}

/// Whether at least one broker connection is up.
pub fn any_broker_up(statistics: &Statistics) -> bool {
    statistics
        .brokers
        .values()
        .any(|broker| broker.state == "UP")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// librdkafka's statistics for one assigned partition; -1 is "unknown".
    fn partition(offsets: serde_json::Value) -> Partition {
        let mut stats = json!({
            "partition": 0, "broker": 1, "leader": 1, "desired": true, "unknown": false,
            "msgq_cnt": 0, "msgq_bytes": 0, "xmit_msgq_cnt": 0, "xmit_msgq_bytes": 0,
            "fetchq_cnt": 0, "fetchq_size": 0, "fetch_state": "active", "query_offset": -1,
            "next_offset": -1, "app_offset": -1, "stored_offset": -1, "committed_offset": -1,
            "eof_offset": -1, "lo_offset": -1, "hi_offset": -1, "ls_offset": -1,
            "consumer_lag": -1, "consumer_lag_stored": -1, "txmsgs": 0, "txbytes": 0,
            "rxmsgs": 0, "rxbytes": 0, "msgs": 0, "rx_ver_drops": 0, "msgs_inflight": 0,
            "next_ack_seq": 0, "next_err_seq": 0, "acked_msgid": 0
        });
        if let (Some(stats), Some(offsets)) = (stats.as_object_mut(), offsets.as_object()) {
            stats.extend(offsets.clone());
        }
        serde_json::from_value(stats).unwrap()
    }

    #[test]
    fn the_delivered_prefix_wins_then_the_committed_offset() {
        let stats =
            partition(json!({"hi_offset": 200, "consumer_lag_stored": 5, "consumer_lag": 50}));
        assert_eq!(partition_lag(&stats, || Some(0)), Some(5));
        let stats = partition(json!({"hi_offset": 200, "consumer_lag": 50}));
        assert_eq!(partition_lag(&stats, || Some(0)), Some(50));
    }

    #[test]
    fn a_group_that_never_committed_counts_from_what_a_restart_would_read() {
        // Records 10.. read and none delivered: all of them are lag.
        let stats = partition(json!({"hi_offset": 210, "app_offset": 20, "lo_offset": 0}));
        assert_eq!(partition_lag(&stats, || Some(10)), Some(200));
        // Nothing in flight: from our position.
        assert_eq!(partition_lag(&stats, || None), Some(190));
        // Nothing read yet: from the fetch position (`latest` starts at the end: no lag) ...
        let latest = partition(json!({"hi_offset": 210, "next_offset": 210, "lo_offset": 0}));
        assert_eq!(partition_lag(&latest, || None), Some(0));
        // ... else from the low watermark.
        let fresh = partition(json!({"hi_offset": 210, "lo_offset": 3}));
        assert_eq!(partition_lag(&fresh, || None), Some(207));
    }

    #[test]
    fn no_lag_without_a_high_watermark_or_any_offset() {
        assert_eq!(
            partition_lag(&partition(json!({"app_offset": 3})), || Some(1)),
            None
        );
        assert_eq!(
            partition_lag(&partition(json!({"hi_offset": 10})), || None),
            None
        );
    }
}
