//! Sources: Kafka topics consumed by workers and delivered to MQTT, directly through topic
//! mappings or through rules that name the source in FROM.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::units::{ByteSize, HumanDuration};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    KafkaConsumer,
}

impl SourceType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::KafkaConsumer => "kafka_consumer",
        }
    }
}

/// `parameters` of a `kafka_consumer` source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaConsumerParameters {
    /// The Kafka topic read when the source is a rule input. Topics of `topic_mapping` are read too.
    #[serde(default)]
    pub topic: Option<String>,
    /// Kafka topic → MQTT topic; each Kafka topic in at most one mapping.
    #[serde(default)]
    pub topic_mapping: Vec<TopicMapping>,
    /// Defaults to `tributary-kafka-consumer-<source name>`.
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub key_encoding_mode: EncodingMode,
    #[serde(default)]
    pub value_encoding_mode: EncodingMode,
    #[serde(default)]
    pub offset_reset_policy: OffsetResetPolicy,
    /// Fetch size per partition.
    #[serde(default = "defaults::max_batch_bytes")]
    pub max_batch_bytes: ByteSize,
    /// Kafka answers a fetch once this much is ready or `max_wait_time` passed. `1B` (the
    /// default) answers as soon as anything is there: the lowest latency, and under load a fetch
    /// request per handful of records. A few tens of KB with a short `max_wait_time` (`32KB`
    /// with `5ms`) batch the fetches under load, which spares the broker's CPU and the worker's,
    /// for at most `max_wait_time` of added latency when traffic is light.
    #[serde(default = "defaults::min_batch_bytes")]
    pub min_batch_bytes: ByteSize,
    /// The longest Kafka holds a fetch that has less than `min_batch_bytes` ready.
    #[serde(default = "defaults::max_wait_time")]
    pub max_wait_time: HumanDuration,
    /// Seconds between offset commits: a number (`5`) or, as EMQX also writes it, a duration in
    /// whole seconds (`"5s"`, `"1m"`). Shown as a number of seconds.
    #[serde(
        default = "defaults::offset_commit_interval_seconds",
        deserialize_with = "seconds::deserialize"
    )]
    #[schema(value_type = serde_json::Value, example = 5)]
    pub offset_commit_interval_seconds: u32,
    /// Records read but not yet acknowledged by MQTT, per worker; reading pauses at this bound.
    #[serde(default = "defaults::max_inflight")]
    pub max_inflight: u32,
    /// The `mqtt` connector mappings publish through; `default` when absent.
    #[serde(default)]
    pub mqtt_connector: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicMapping {
    pub kafka_topic: String,
    /// Template over the record, e.g. `devices/${.key}/cmd`.
    pub mqtt_topic: String,
    #[serde(default)]
    pub qos: u8,
    #[serde(default = "defaults::payload_template")]
    pub payload_template: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EncodingMode {
    #[default]
    None,
    Base64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OffsetResetPolicy {
    #[default]
    Latest,
    Earliest,
}

/// A number of seconds given as a number or as a duration string in whole seconds.
mod seconds {
    use serde::Deserializer;
    use std::fmt;

    use crate::units::HumanDuration;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
        struct Seconds;
        impl serde::de::Visitor<'_> for Seconds {
            type Value = u32;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seconds such as `5`, or a duration such as `\"5s\"`")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u32, E> {
                u32::try_from(v).map_err(|_| E::custom(format!("{v} seconds is too long")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u32, E> {
                Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u32, E> {
                let duration: HumanDuration = v.parse().map_err(E::custom)?;
                let ms = duration.as_millis();
                if !ms.is_multiple_of(1000) {
                    return Err(E::custom(format!(
                        "`{v}` is not a whole number of seconds: write e.g. `5s`"
                    )));
                }
                u32::try_from(ms / 1000).map_err(|_| E::custom(format!("`{v}` is too long")))
            }
        }
        deserializer.deserialize_any(Seconds)
    }
}

/// The group a source's consumers join when none is configured.
pub fn default_group_id(source_name: &str) -> String {
    format!("tributary-kafka-consumer-{source_name}")
}

mod defaults {
    use crate::units::{ByteSize, HumanDuration};

    pub fn max_batch_bytes() -> ByteSize {
        ByteSize::kib(896)
    }
    pub fn min_batch_bytes() -> ByteSize {
        ByteSize::bytes(1)
    }
    pub fn max_wait_time() -> HumanDuration {
        HumanDuration::from_secs(1)
    }
    pub fn offset_commit_interval_seconds() -> u32 {
        5
    }
    pub fn max_inflight() -> u32 {
        1000
    }
    pub fn payload_template() -> String {
        "${.}".to_owned()
    }
}
