//! A connector's type-specific body, whichever the type: decoding, validation and secrets.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tributary_protocol::resources::{
    ConnectorType, FieldError, KafkaConnectorConfig, MqttConnectorConfig, Secrets, Validate,
};
use utoipa::ToSchema;

use super::envelope;
use crate::error::{ApiError, ApiResult};

/// `kafka_producer` and `kafka_consumer` connectors take the Kafka fields, `mqtt` the MQTT ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ConnectorConfig {
    Kafka(KafkaConnectorConfig),
    Mqtt(MqttConnectorConfig),
}

impl ConnectorConfig {
    /// Decodes the fields left after the envelope, for a connector of type `kind`.
    pub fn decode(kind: ConnectorType, fields: Map<String, Value>) -> ApiResult<Self> {
        let value = Value::Object(fields);
        Ok(match kind {
            ConnectorType::KafkaProducer | ConnectorType::KafkaConsumer => {
                Self::Kafka(envelope::decode(value)?)
            }
            ConnectorType::Mqtt => Self::Mqtt(envelope::decode(value)?),
        })
    }

    /// Reads a stored configuration; it was validated when saved, so failure is ours.
    pub fn from_stored(kind: ConnectorType, stored: &Value) -> ApiResult<Self> {
        let fields = stored.as_object().cloned().unwrap_or_default();
        Self::decode(kind, fields).map_err(|err| {
            ApiError::Internal(format!(
                "stored {} connector does not decode: {err}",
                kind.as_str()
            ))
        })
    }

    pub fn validate(&self) -> Vec<FieldError> {
        match self {
            Self::Kafka(c) => c.validate(),
            Self::Mqtt(c) => c.validate(),
        }
        .err()
        .unwrap_or_default()
    }

    pub fn masked(&self) -> Self {
        match self {
            Self::Kafka(c) => Self::Kafka(c.masked()),
            Self::Mqtt(c) => Self::Mqtt(c.masked()),
        }
    }

    /// See [`Secrets::for_each_secret`].
    pub fn for_each_secret(&mut self, visit: &mut dyn FnMut(&str, &mut String)) {
        match self {
            Self::Kafka(c) => c.for_each_secret(visit),
            Self::Mqtt(c) => c.for_each_secret(visit),
        }
    }

    pub fn keep_masked_from(&mut self, stored: &Self) {
        match (self, stored) {
            (Self::Kafka(new), Self::Kafka(old)) => new.keep_masked_from(old),
            (Self::Mqtt(new), Self::Mqtt(old)) => new.keep_masked_from(old),
            _ => {}
        }
    }

    pub fn masked_fields(&self) -> Vec<FieldError> {
        match self {
            Self::Kafka(c) => c.masked_fields(),
            Self::Mqtt(c) => c.masked_fields(),
        }
    }

    pub fn to_json(&self) -> ApiResult<Value> {
        serde_json::to_value(self)
            .map_err(|e| ApiError::Internal(format!("serializing a connector: {e}")))
    }
}
