//! Actions (sinks): what a rule does with its output. Stored actions are `kafka_producer`;
//! `republish` is written inline in a rule.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::units::{ByteSize, HumanDuration};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionType {
    KafkaProducer,
}

impl ActionType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::KafkaProducer => "kafka_producer",
        }
    }
}

/// `parameters` of a `kafka_producer` action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaProducerParameters {
    /// Static topic or template, e.g. `device-${payload.device}`. A topic that cannot be rendered
    /// or does not exist fails that message (counted, never silently lost).
    pub topic: String,
    #[serde(default)]
    pub message: KafkaMessageTemplate,
    /// One placeholder whose value is an object or a list of key/value pairs, e.g. `${pub_props}`.
    #[serde(default)]
    pub kafka_headers: Option<String>,
    #[serde(default)]
    pub kafka_ext_headers: Vec<KafkaExtHeader>,
    #[serde(default)]
    pub kafka_header_value_encode_mode: HeaderValueEncodeMode,
    #[serde(default)]
    pub partition_strategy: PartitionStrategy,
    #[serde(default)]
    pub compression: Compression,
    #[serde(default)]
    pub required_acks: RequiredAcks,
    /// Idempotent producer (`enable.idempotence`): Kafka drops the duplicates a retried produce
    /// request would write, and keeps each partition's order across retries. On by default when
    /// `required_acks` is `all_isr`, as Kafka's own clients default to; it needs `all_isr`. While
    /// it is on, at most 5 produce requests are in flight per broker connection, whatever
    /// `max_inflight` says (Kafka's limit for idempotence). EMQX's producer has no such option.
    #[serde(default)]
    pub enable_idempotence: Option<bool>,
    #[serde(default = "defaults::max_batch_bytes")]
    pub max_batch_bytes: ByteSize,
    #[serde(default)]
    pub max_linger_time: HumanDuration,
    #[serde(default = "defaults::max_linger_bytes")]
    pub max_linger_bytes: ByteSize,
    /// Produce requests in flight per partition (per broker connection in librdkafka terms).
    #[serde(default = "defaults::max_inflight")]
    pub max_inflight: u32,
    #[serde(default = "defaults::partition_count_refresh_interval")]
    pub partition_count_refresh_interval: HumanDuration,
    /// How many of a topic's partitions EMQX produces to: `all_partitions` (the default) or a
    /// positive number. Accepted and stored; Tributary does not apply it: its producers write to
    /// every partition of the topic.
    #[serde(default)]
    #[schema(value_type = serde_json::Value, example = "all_partitions")]
    pub partitions_limit: PartitionsLimit,
    /// `async`: the MQTT side is acknowledged once the record is buffered; `sync`: only after
    /// Kafka acknowledged it (at least once end to end).
    #[serde(default)]
    pub query_mode: QueryMode,
    #[serde(default = "defaults::sync_query_timeout")]
    pub sync_query_timeout: HumanDuration,
    #[serde(default)]
    pub buffer: BufferOptions,
    /// Messages that fail unrecoverably (bad topic, too large) are also written here, when set.
    #[serde(default)]
    pub dead_letter_topic: Option<String>,
}

impl KafkaProducerParameters {
    /// Every `${...}` template the action renders per message, by field path: what the API
    /// validates and what workers compile (`RecordTemplates::compile`).
    pub fn templates(&self) -> Vec<(String, &str)> {
        let mut fields = vec![
            ("topic".to_owned(), self.topic.as_str()),
            ("message.key".to_owned(), self.message.key.as_str()),
            ("message.value".to_owned(), self.message.value.as_str()),
            (
                "message.timestamp".to_owned(),
                self.message.timestamp.as_str(),
            ),
        ];
        if let Some(headers) = &self.kafka_headers {
            fields.push(("kafka_headers".to_owned(), headers.as_str()));
        }
        for (i, header) in self.kafka_ext_headers.iter().enumerate() {
            fields.push((
                format!("kafka_ext_headers[{i}].kafka_ext_header_value"),
                header.kafka_ext_header_value.as_str(),
            ));
        }
        fields
    }

    /// Whether the producer runs idempotent: as set, else whenever every in-sync replica must
    /// acknowledge.
    pub fn idempotent(&self) -> bool {
        self.enable_idempotence
            .unwrap_or(self.required_acks == RequiredAcks::AllIsr)
    }
}

/// `"all_partitions"` or a positive number of partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartitionsLimit {
    #[default]
    AllPartitions,
    Limit(std::num::NonZeroU32),
}

impl Serialize for PartitionsLimit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::AllPartitions => serializer.serialize_str("all_partitions"),
            Self::Limit(n) => serializer.serialize_u32(n.get()),
        }
    }
}

impl<'de> Deserialize<'de> for PartitionsLimit {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = PartitionsLimit;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`all_partitions` or a number of partitions from 1")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v {
                    "all_partitions" => Ok(PartitionsLimit::AllPartitions),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                u32::try_from(v)
                    .ok()
                    .and_then(std::num::NonZeroU32::new)
                    .map(PartitionsLimit::Limit)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaMessageTemplate {
    pub key: String,
    pub value: String,
    pub timestamp: String,
}

impl Default for KafkaMessageTemplate {
    fn default() -> Self {
        Self {
            key: "${.clientid}".to_owned(),
            value: "${.}".to_owned(),
            timestamp: "${.timestamp}".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaExtHeader {
    pub kafka_ext_header_key: String,
    /// A template, e.g. `${clientid}`.
    pub kafka_ext_header_value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HeaderValueEncodeMode {
    #[default]
    None,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartitionStrategy {
    /// A random partition, kept for twice the linger time so that records batch (as Kafka's own
    /// clients do for records without a key), then another.
    #[default]
    Random,
    /// Same key, same partition.
    KeyDispatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    #[default]
    NoCompression,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequiredAcks {
    #[default]
    AllIsr,
    LeaderOnly,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueryMode {
    #[default]
    Async,
    Sync,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BufferOptions {
    pub mode: BufferMode,
    /// When a partition's buffer is full the oldest records are dropped (and counted).
    pub per_partition_limit: ByteSize,
    pub segment_bytes: ByteSize,
    pub memory_overload_protection: bool,
}

impl Default for BufferOptions {
    fn default() -> Self {
        Self {
            mode: BufferMode::Memory,
            per_partition_limit: ByteSize::mib(256),
            segment_bytes: ByteSize::mib(100),
            memory_overload_protection: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BufferMode {
    #[default]
    Memory,
    Disk,
    Hybrid,
}

/// `args` of an inline `republish` action: publish the rule output back to MQTT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepublishArgs {
    /// Template, e.g. `repub/${clientid}`.
    pub topic: String,
    /// `0`, `1`, `2` or a template such as `${qos}`; an integer reads back as an integer.
    #[serde(default = "defaults::republish_qos")]
    #[schema(value_type = serde_json::Value, example = 1)]
    pub qos: LiteralOrTemplate,
    /// `true`, `false` or a template such as `${flags.retain}`; a boolean reads back as a boolean.
    #[serde(default = "defaults::republish_retain")]
    #[schema(value_type = serde_json::Value, example = true)]
    pub retain: LiteralOrTemplate,
    #[serde(default = "defaults::republish_payload")]
    pub payload: String,
    /// MQTT 5 properties by name (e.g. `Content-Type`), each value a template.
    #[serde(default)]
    pub mqtt_properties: serde_json::Map<String, serde_json::Value>,
    /// A placeholder for a map of user properties, e.g. `${pub_props.'User-Property'}`.
    #[serde(default)]
    pub user_properties: Option<String>,
}

/// A value EMQX takes either as a JSON literal (`1`, `true`) or as a template string
/// (`"${qos}"`). Its text is what templates compile; it is written back as it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralOrTemplate {
    text: String,
    /// Given as a JSON number or boolean rather than a string.
    literal: bool,
}

impl LiteralOrTemplate {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::ops::Deref for LiteralOrTemplate {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl From<&str> for LiteralOrTemplate {
    fn from(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            literal: false,
        }
    }
}

impl From<String> for LiteralOrTemplate {
    fn from(text: String) -> Self {
        Self {
            text,
            literal: false,
        }
    }
}

impl PartialEq<str> for LiteralOrTemplate {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for LiteralOrTemplate {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl std::fmt::Display for LiteralOrTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for LiteralOrTemplate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.literal {
            if let Ok(n) = self.text.parse::<u64>() {
                return serializer.serialize_u64(n);
            }
            if let Ok(b) = self.text.parse::<bool>() {
                return serializer.serialize_bool(b);
            }
        }
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for LiteralOrTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = LiteralOrTemplate;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer, true/false or a template string such as `${qos}`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(v.into())
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(LiteralOrTemplate {
                    text: v.to_string(),
                    literal: true,
                })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(LiteralOrTemplate {
                    text: v.to_string(),
                    literal: true,
                })
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(LiteralOrTemplate {
                    text: v.to_string(),
                    literal: true,
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

mod defaults {
    use crate::units::{ByteSize, HumanDuration};

    pub fn max_batch_bytes() -> ByteSize {
        ByteSize::kib(896)
    }
    pub fn max_linger_bytes() -> ByteSize {
        ByteSize::mib(10)
    }
    pub fn max_inflight() -> u32 {
        10
    }
    pub fn partition_count_refresh_interval() -> HumanDuration {
        HumanDuration::from_secs(60)
    }
    pub fn sync_query_timeout() -> HumanDuration {
        HumanDuration::from_secs(5)
    }
    pub fn republish_qos() -> super::LiteralOrTemplate {
        "${qos}".into()
    }
    pub fn republish_retain() -> super::LiteralOrTemplate {
        "${flags.retain}".into()
    }
    pub fn republish_payload() -> String {
        "${payload}".to_owned()
    }
}
