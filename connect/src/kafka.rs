//! librdkafka configuration from a connector and an action's parameters.

use rdkafka::ClientConfig;
use tributary_protocol::resources::{
    BufferMode, Compression, KafkaAuthentication, KafkaConnectorConfig, KafkaProducerParameters,
    PartitionStrategy, QueryMode, RequiredAcks, SaslMechanism, TlsVerify,
};

/// librdkafka's ceiling for `batch.size`, `message.max.bytes` and friends.
const LIBRDKAFKA_MAX_BYTES: u64 = 1_000_000_000;

/// librdkafka's default `retry.backoff.max.ms`: the longest fast metadata refresh it applies.
const RETRY_BACKOFF_MAX_MS: u64 = 1_000;

/// How long an `async` record may wait in librdkafka before it counts as `dropped.expired`.
const ASYNC_MESSAGE_TIMEOUT_MS: u64 = 300_000;

/// Connection, security and socket settings shared by every Kafka client: the action's producer,
/// the source's consumer and the control plane's probes.
pub fn connection_config(connector: &KafkaConnectorConfig) -> ClientConfig {
    // librdkafka applies at most `retry.backoff.max.ms` here (and warned at every client start
    // when given more); raising that instead would also slow every produce retry.
    let fast_refresh_ms = connector
        .min_metadata_refresh_interval
        .as_millis()
        .clamp(1, RETRY_BACKOFF_MAX_MS);
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &connector.bootstrap_hosts)
        .set(
            "socket.connection.setup.timeout.ms",
            connector.connect_timeout.as_millis().max(1000).to_string(),
        )
        .set(
            "topic.metadata.refresh.fast.interval.ms",
            fast_refresh_ms.to_string(),
        )
        .set(
            "socket.send.buffer.bytes",
            connector.socket_opts.sndbuf.0.min(100_000_000).to_string(),
        )
        .set(
            "socket.receive.buffer.bytes",
            connector.socket_opts.recbuf.0.min(100_000_000).to_string(),
        )
        .set(
            "socket.nagle.disable",
            connector.socket_opts.nodelay.to_string(),
        )
        .set(
            "socket.keepalive.enable",
            (connector.socket_opts.tcp_keepalive.trim() != "none").to_string(),
        );
    let tls = &connector.ssl;
    let sasl = match &connector.authentication {
        KafkaAuthentication::None(_) => None,
        KafkaAuthentication::Sasl(sasl) => Some(sasl),
    };
    let protocol = match (tls.enable, sasl.is_some()) {
        (false, false) => "plaintext",
        (true, false) => "ssl",
        (false, true) => "sasl_plaintext",
        (true, true) => "sasl_ssl",
    };
    config.set("security.protocol", protocol);
    if let Some(sasl) = sasl {
        let mechanism = match sasl.mechanism {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        };
        config
            .set("sasl.mechanisms", mechanism)
            .set("sasl.username", &sasl.username)
            .set("sasl.password", &sasl.password);
    }
    if tls.enable {
        if let Some(ca) = &tls.cacertfile {
            config.set("ssl.ca.pem", ca);
        }
        if let Some(cert) = &tls.certfile {
            config.set("ssl.certificate.pem", cert);
        }
        if let Some(key) = &tls.keyfile {
            config.set("ssl.key.pem", key);
        }
        if tls.verify == TlsVerify::VerifyNone {
            config
                .set("enable.ssl.certificate.verification", "false")
                .set("ssl.endpoint.identification.algorithm", "none");
        }
    }
    config
}

/// The producer of one `kafka_producer` action.
pub fn producer_config(
    connector: &KafkaConnectorConfig,
    parameters: &KafkaProducerParameters,
) -> ClientConfig {
    let mut config = connection_config(connector);
    let max_batch_bytes = parameters
        .max_batch_bytes
        .0
        .clamp(1000, LIBRDKAFKA_MAX_BYTES);
    let queue_kbytes = match parameters.query_mode {
        // Sync records wait in librdkafka's queue (the push-back), bounded by the buffer limit.
        QueryMode::Sync => parameters.buffer.per_partition_limit.0 / 1024,
        // Async records wait in the memory buffer, bounded per partition; librdkafka only needs
        // room for the batches it has on the wire, as EMQX's producer keeps `max_inflight`.
        QueryMode::Async => async_librdkafka_bytes(parameters) / 1024,
    };
    let message_timeout_ms = match (parameters.query_mode, parameters.buffer.mode) {
        // A sync record that times out is produced again (the MQTT message stays unacknowledged),
        // so its timeout is the sync query timeout.
        (QueryMode::Sync, _) => parameters.sync_query_timeout.as_millis().max(1000),
        // A record from a disk buffer is never given up: librdkafka retries it, in order, until
        // Kafka takes it (0 is librdkafka's "no timeout"); it leaves the buffer only then.
        (QueryMode::Async, BufferMode::Disk | BufferMode::Hybrid) => 0,
        (QueryMode::Async, BufferMode::Memory) => ASYNC_MESSAGE_TIMEOUT_MS,
    };
    config
        // A missing topic is an error for that message, not a topic created by accident.
        .set("allow.auto.create.topics", "false")
        .set(
            "topic.metadata.refresh.interval.ms",
            parameters
                .partition_count_refresh_interval
                .as_millis()
                .max(1000)
                .to_string(),
        )
        .set("compression.codec", compression(parameters.compression))
        .set("acks", acks(parameters.required_acks))
        .set(
            "linger.ms",
            parameters.max_linger_time.as_millis().to_string(),
        )
        .set(
            "batch.size",
            parameters
                .max_linger_bytes
                .0
                .clamp(1, max_batch_bytes)
                .to_string(),
        )
        .set("message.max.bytes", max_batch_bytes.to_string())
        .set("enable.idempotence", parameters.idempotent().to_string())
        .set(
            "max.in.flight.requests.per.connection",
            max_in_flight(parameters).to_string(),
        )
        // Async records come with their partition chosen (`partitioner.rs`); this partitioner
        // serves sync records and async ones whose partition count was not known yet.
        .set("partitioner", partitioner(parameters.partition_strategy))
        .set(
            "queue.buffering.max.kbytes",
            queue_kbytes.clamp(1, 2_147_483_647).to_string(),
        )
        .set("message.timeout.ms", message_timeout_ms.to_string());
    config
}

/// The record bytes an `async` action keeps in librdkafka at most: room for `max_inflight`
/// batches. The memory buffer enforces it itself (librdkafka's own limit counts values only).
pub fn async_librdkafka_bytes(parameters: &KafkaProducerParameters) -> u64 {
    let max_batch_bytes = parameters
        .max_batch_bytes
        .0
        .clamp(1000, LIBRDKAFKA_MAX_BYTES);
    max_batch_bytes.saturating_mul(u64::from(parameters.max_inflight.max(1)))
}

/// Kafka keeps an idempotent producer's order and deduplicates its retries for at most 5 requests
/// in flight per connection; librdkafka refuses to start with more.
const IDEMPOTENT_MAX_IN_FLIGHT: u32 = 5;

fn max_in_flight(parameters: &KafkaProducerParameters) -> u32 {
    let wanted = parameters.max_inflight.clamp(1, 1_000_000);
    if parameters.idempotent() {
        wanted.min(IDEMPOTENT_MAX_IN_FLIGHT)
    } else {
        wanted
    }
}

fn compression(compression: Compression) -> &'static str {
    match compression {
        Compression::NoCompression => "none",
        Compression::Gzip => "gzip",
        Compression::Snappy => "snappy",
        Compression::Lz4 => "lz4",
        Compression::Zstd => "zstd",
    }
}

fn acks(acks: RequiredAcks) -> &'static str {
    match acks {
        RequiredAcks::AllIsr => "all",
        RequiredAcks::LeaderOnly => "1",
        RequiredAcks::None => "0",
    }
}

fn partitioner(strategy: PartitionStrategy) -> &'static str {
    match strategy {
        PartitionStrategy::Random => "random",
        // Java-compatible murmur2 on the key: the same key lands where Java clients put it too.
        PartitionStrategy::KeyDispatch => "murmur2_random",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameters(json: serde_json::Value) -> KafkaProducerParameters {
        serde_json::from_value(json).unwrap()
    }

    fn connector(json: serde_json::Value) -> KafkaConnectorConfig {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn maps_producer_parameters() {
        let config = producer_config(
            &connector(serde_json::json!({"bootstrap_hosts": "k1:9092,k2:9092"})),
            &parameters(serde_json::json!({
                "topic": "t", "compression": "zstd", "required_acks": "leader_only",
                "max_linger_time": "5ms", "max_linger_bytes": "1MB", "max_inflight": 3,
                "partition_strategy": "key_dispatch", "query_mode": "sync", "sync_query_timeout": "7s",
                "buffer": {"per_partition_limit": "16MB"}
            })),
        );
        let get = |k: &str| config.get(k).map(str::to_owned);
        assert_eq!(get("bootstrap.servers").as_deref(), Some("k1:9092,k2:9092"));
        assert_eq!(get("compression.codec").as_deref(), Some("zstd"));
        assert_eq!(get("acks").as_deref(), Some("1"));
        assert_eq!(get("linger.ms").as_deref(), Some("5"));
        assert_eq!(
            get("batch.size").as_deref(),
            Some("917504"),
            "capped at max_batch_bytes"
        );
        assert_eq!(
            get("max.in.flight.requests.per.connection").as_deref(),
            Some("3")
        );
        assert_eq!(get("partitioner").as_deref(), Some("murmur2_random"));
        assert_eq!(get("message.timeout.ms").as_deref(), Some("7000"));
        assert_eq!(get("queue.buffering.max.kbytes").as_deref(), Some("16384"));
        assert_eq!(get("security.protocol").as_deref(), Some("plaintext"));
    }

    #[test]
    fn all_isr_producers_are_idempotent_unless_told_otherwise() {
        let config = |json: serde_json::Value| {
            producer_config(
                &connector(serde_json::json!({"bootstrap_hosts": "k:9092"})),
                &parameters(json),
            )
        };
        let default = config(serde_json::json!({"topic": "t", "max_inflight": 10}));
        assert_eq!(default.get("acks"), Some("all"));
        assert_eq!(default.get("enable.idempotence"), Some("true"));
        assert_eq!(
            default.get("max.in.flight.requests.per.connection"),
            Some("5"),
            "Kafka's ceiling for an idempotent producer"
        );
        let off = config(
            serde_json::json!({"topic": "t", "max_inflight": 10, "enable_idempotence": false}),
        );
        assert_eq!(off.get("enable.idempotence"), Some("false"));
        assert_eq!(off.get("max.in.flight.requests.per.connection"), Some("10"));
        let leader = config(serde_json::json!({"topic": "t", "required_acks": "leader_only"}));
        assert_eq!(leader.get("enable.idempotence"), Some("false"));
    }

    #[test]
    fn async_records_wait_in_the_memory_buffer_not_in_librdkafka() {
        let config = producer_config(
            &connector(serde_json::json!({"bootstrap_hosts": "k:9092"})),
            &parameters(serde_json::json!({
                "topic": "t", "query_mode": "async", "max_batch_bytes": "100KB",
                "max_inflight": 4, "buffer": {"per_partition_limit": "1GB"}
            })),
        );
        // Room for `max_inflight` batches; the 1GB is per partition, in the memory buffer.
        assert_eq!(config.get("queue.buffering.max.kbytes"), Some("400"));
        assert_eq!(config.get("message.timeout.ms"), Some("300000"));
    }

    #[test]
    fn records_from_a_disk_buffer_never_time_out_in_librdkafka() {
        for mode in ["disk", "hybrid"] {
            let config = producer_config(
                &connector(serde_json::json!({"bootstrap_hosts": "k:9092"})),
                &parameters(serde_json::json!({
                    "topic": "t", "query_mode": "async", "buffer": {"mode": mode}
                })),
            );
            assert_eq!(config.get("message.timeout.ms"), Some("0"), "{mode}");
        }
    }

    #[test]
    fn maps_sasl_and_tls() {
        let mechanism = serde_json::to_value(SaslMechanism::ScramSha512).unwrap();
        let config = connection_config(&connector(serde_json::json!({
            "bootstrap_hosts": "k:9093",
            "authentication": {"mechanism": mechanism, "username": "u", "password": "p"},
            "ssl": {"enable": true, "verify": "verify_none"}
        })));
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanisms"), Some("SCRAM-SHA-512"));
        assert_eq!(
            config.get("enable.ssl.certificate.verification"),
            Some("false")
        );
    }
}
