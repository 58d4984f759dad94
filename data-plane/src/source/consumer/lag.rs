//! Consumer lag per partition and the Kafka connector's state, from librdkafka's statistics.
//!
//! Lag is the high watermark minus the offset we stored (the delivered prefix), so records read
//! but not yet acknowledged by MQTT count as lag: that is what a restart would read again.

use rdkafka::statistics::Statistics;

use crate::telemetry::{ConnectorState, ResourceMetrics};

/// The gauge name for one partition's lag.
pub fn lag_gauge(topic: &str, partition: i32) -> String {
    format!("lag.{topic}.{partition}")
}

/// `(topic, partition, lag)` of every partition this consumer is assigned.
pub fn partition_lags(statistics: &Statistics) -> Vec<(String, i32, i64)> {
    let mut lags = Vec::new();
    for (topic, topic_stats) in &statistics.topics {
        for (partition, stats) in &topic_stats.partitions {
            // -1 is librdkafka's internal "unassigned" partition.
            if *partition < 0 || !stats.desired || stats.hi_offset < 0 {
                continue;
            }
            let lag = if stats.consumer_lag_stored >= 0 {
                stats.consumer_lag_stored
            } else if stats.consumer_lag >= 0 {
                stats.consumer_lag
            } else {
                continue;
            };
            lags.push((topic.clone(), *partition, lag));
        }
    }
    lags.sort();
    lags
}

pub fn report_lags(statistics: &Statistics, metrics: &ResourceMetrics) {
    for (topic, partition, lag) in partition_lags(statistics) {
        // Lags are far below 2^53, so the conversion is exact.
        metrics.set_gauge(lag_gauge(&topic, partition), lag as f64);
    }
}

/// Connected when at least one broker connection is up.
pub fn connector_state(statistics: &Statistics) -> (ConnectorState, String) {
    let up = statistics
        .brokers
        .values()
        .filter(|broker| broker.state == "UP")
        .count();
    if up > 0 {
        (ConnectorState::Connected, String::new())
    } else {
        (
            ConnectorState::Connecting,
            "no connection to any Kafka broker is up".to_owned(),
        )
    }
}
