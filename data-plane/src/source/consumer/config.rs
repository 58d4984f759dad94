//! librdkafka settings of a source's consumer, from its connector and parameters.

use rdkafka::ClientConfig;
use tributary_protocol::assignment::SourceFlowSpec;
use tributary_protocol::resources::{OffsetResetPolicy, default_group_id};

use tributary_connect::kafka::connection_config;

/// How often librdkafka reports statistics; consumer lag and broker state are refreshed from them.
pub const STATISTICS_INTERVAL_MS: u64 = 5_000;

/// A dead worker's partitions move to the others after this long without heartbeats. Kafka's
/// default (45 s) is long for a fleet that should heal quickly; 10 s is above the brokers'
/// usual minimum (6 s).
const SESSION_TIMEOUT_MS: u64 = 10_000;

/// librdkafka's default `fetch.max.bytes`; raised when one partition may fetch more.
const DEFAULT_FETCH_MAX_BYTES: u64 = 52_428_800;

/// Each assigned partition has a queue of its own (`consumer::queues`), and librdkafka stops
/// fetching a partition while its queue holds this many records or
/// [`prefetch_kbytes`]: the source's memory bound while it waits for MQTT.
const PREFETCH_RECORDS: u64 = 20_000;

/// How soon librdkafka looks again at a partition whose queue was full. Its default (1 s) would
/// idle a partition for most of a second after the source drained its queue.
const PREFETCH_RECHECK_MS: u64 = 20;

/// librdkafka's upper limit of `queued.max.messages.kbytes`.
const MAX_QUEUED_KBYTES: u64 = 2_097_151;

pub fn group_id(spec: &SourceFlowSpec) -> String {
    spec.parameters
        .group_id
        .clone()
        .filter(|group| !group.is_empty())
        .unwrap_or_else(|| default_group_id(&spec.name))
}

/// The consumer's configuration. Offsets are stored by us, only once delivered, and committed
/// by librdkafka every `offset_commit_interval_seconds`.
pub fn consumer_config(spec: &SourceFlowSpec, client_id: &str) -> ClientConfig {
    let parameters = &spec.parameters;
    let mut config = connection_config(&spec.kafka);
    // A consumer's requests are fetches and commits, bounded like metadata requests; producers
    // keep librdkafka's longer default so a slow broker does not time out their produce requests.
    config.set(
        "socket.timeout.ms",
        spec.kafka
            .metadata_request_timeout
            .as_millis()
            .max(10)
            .to_string(),
    );
    let fetch_bytes = parameters.max_batch_bytes.0.max(1);
    config
        .set("client.id", client_id)
        .set("group.id", group_id(spec))
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.commit.interval.ms",
            (u64::from(parameters.offset_commit_interval_seconds.max(1)) * 1000).to_string(),
        )
        .set(
            "auto.offset.reset",
            match parameters.offset_reset_policy {
                OffsetResetPolicy::Latest => "latest",
                OffsetResetPolicy::Earliest => "earliest",
            },
        )
        .set("max.partition.fetch.bytes", fetch_bytes.to_string())
        .set(
            "fetch.min.bytes",
            parameters
                .min_batch_bytes
                .0
                .clamp(1, fetch_bytes)
                .to_string(),
        )
        .set(
            "fetch.wait.max.ms",
            parameters
                .max_wait_time
                .as_millis()
                .clamp(1, 300_000)
                .to_string(),
        )
        .set("queued.min.messages", PREFETCH_RECORDS.to_string())
        .set(
            "queued.max.messages.kbytes",
            prefetch_kbytes(fetch_bytes).to_string(),
        )
        .set("fetch.queue.backoff.ms", PREFETCH_RECHECK_MS.to_string())
        .set("session.timeout.ms", SESSION_TIMEOUT_MS.to_string())
        .set("statistics.interval.ms", STATISTICS_INTERVAL_MS.to_string());
    if fetch_bytes > DEFAULT_FETCH_MAX_BYTES {
        config.set("fetch.max.bytes", fetch_bytes.to_string()).set(
            "receive.message.max.bytes",
            (fetch_bytes + 1_048_576).to_string(),
        );
    }
    config
}

/// Prefetched bytes per partition, in KiB: two fetches' worth (at least 1 MiB), so a fetch can be
/// on its way while the source works through the previous one.
fn prefetch_kbytes(fetch_bytes: u64) -> u64 {
    (fetch_bytes.saturating_mul(2) / 1024).clamp(1024, MAX_QUEUED_KBYTES)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(parameters: serde_json::Value) -> SourceFlowSpec {
        serde_json::from_value(json!({
            "source_id": "kafka_consumer:s1",
            "name": "s1",
            "connector_name": "c1",
            "kafka": {
                "bootstrap_hosts": "k1:9092,k2:9092",
                "authentication": {"mechanism": "scram_sha_256", "username": "u", "password": "p"},
                "ssl": {"enable": true, "verify": "verify_none"}
            },
            "parameters": parameters,
            "mqtt": {"name": "default", "config": {"server": "127.0.0.1:1883"}},
            "rules": []
        }))
        .unwrap()
    }

    #[test]
    fn parameters_map_to_librdkafka_settings() {
        let config = consumer_config(
            &spec(json!({
                "topic": "t",
                "offset_reset_policy": "earliest",
                "max_batch_bytes": "1MB",
                "max_wait_time": "250ms",
                "min_batch_bytes": "32KB",
                "offset_commit_interval_seconds": 2
            })),
            "w1-source-s1",
        );
        let get = |key: &str| config.get(key).map(str::to_owned);
        assert_eq!(
            get("group.id").as_deref(),
            Some("tributary-kafka-consumer-s1")
        );
        assert_eq!(get("auto.offset.reset").as_deref(), Some("earliest"));
        assert_eq!(get("max.partition.fetch.bytes").as_deref(), Some("1048576"));
        assert_eq!(get("fetch.wait.max.ms").as_deref(), Some("250"));
        assert_eq!(get("fetch.min.bytes").as_deref(), Some("32768"));
        assert_eq!(get("auto.commit.interval.ms").as_deref(), Some("2000"));
        assert_eq!(get("enable.auto.offset.store").as_deref(), Some("false"));
        assert_eq!(
            get("queued.max.messages.kbytes").as_deref(),
            Some("2048"),
            "two fetches of 1 MiB per partition"
        );
        assert_eq!(get("fetch.queue.backoff.ms").as_deref(), Some("20"));
        assert_eq!(get("security.protocol").as_deref(), Some("sasl_ssl"));
        assert_eq!(get("sasl.mechanisms").as_deref(), Some("SCRAM-SHA-256"));
        assert_eq!(
            get("enable.ssl.certificate.verification").as_deref(),
            Some("false")
        );
        assert_eq!(get("bootstrap.servers").as_deref(), Some("k1:9092,k2:9092"));
    }

    #[test]
    fn a_fetch_is_answered_as_soon_as_anything_is_there_by_default() {
        let config = consumer_config(&spec(json!({"topic": "t"})), "w1-source-s1");
        assert_eq!(config.get("fetch.min.bytes"), Some("1"));
        assert_eq!(config.get("fetch.wait.max.ms"), Some("1000"));
    }

    #[test]
    fn an_explicit_group_id_wins() {
        let spec = spec(json!({"topic": "t", "group_id": "g"}));
        assert_eq!(group_id(&spec), "g");
    }
}
