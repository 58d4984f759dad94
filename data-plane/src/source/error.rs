//! Why a source could not start. Per-record problems are [`super::failure::DeliveryFailure`]s;
//! these stop the whole source until its configuration changes.

use tributary_connect::mqtt::OptionsError;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// User error: the source's configuration cannot work (the API should have refused it).
    #[error("invalid source configuration: {field}: {reason}")]
    InvalidConfig { field: String, reason: String },
    /// User error: the MQTT connector's configuration cannot work.
    #[error("invalid MQTT connector: {0}")]
    Mqtt(#[from] OptionsError),
    /// User error: a rule's `kafka_producer` action cannot start (templates, producer settings).
    #[error("action `{action}`: {source}")]
    KafkaAction {
        action: String,
        source: crate::sink::kafka::SinkError,
    },
    /// External: librdkafka refused to create the consumer or subscribe.
    #[error("Kafka consumer: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Internal: the consumer thread could not be started.
    #[error("could not start the consumer thread: {0}")]
    Thread(#[source] std::io::Error),
}

impl SourceError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// `user`, `external` or `internal`, for logs and status reasons.
    pub fn class(&self) -> &'static str {
        match self {
            Self::InvalidConfig { .. } | Self::Mqtt(_) | Self::KafkaAction { .. } => "user",
            Self::Kafka(_) => "external",
            Self::Thread(_) => "internal",
        }
    }
}
