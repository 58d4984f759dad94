//! Secrets in request bodies, masked before a body is written to the audit log.
//!
//! Stored resources are masked by their types (`Secrets::masked` in the protocol crate), but a
//! request body may be invalid and not parse into any type, so bodies are masked by field name:
//! every field the typed masking hides, wherever it appears, plus the API key secret.

use serde_json::Value;
use tributary_protocol::resources::MASKED_SECRET;

/// The field names holding secrets: MQTT and SASL `password`, TLS `keyfile` (a private key),
/// and `api_secret`.
const SECRET_FIELDS: [&str; 3] = ["password", "keyfile", "api_secret"];

/// A copy of `value` with every non-empty secret field replaced by `******`.
pub fn mask_secrets(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, field)| {
                    let secret = SECRET_FIELDS.contains(&name.as_str())
                        && !matches!(field, Value::Null)
                        && field.as_str() != Some("");
                    let masked = if secret {
                        Value::String(MASKED_SECRET.to_owned())
                    } else {
                        mask_secrets(field)
                    };
                    (name.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_secrets).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tributary_protocol::resources::{KafkaConnectorConfig, MqttConnectorConfig, Secrets};

    use super::*;

    /// Masking by name hides exactly what the typed masking hides, so a body and a stored
    /// resource read the same in the log.
    #[test]
    fn masks_what_the_typed_masking_masks() {
        let kafka = json!({
            "bootstrap_hosts": "k:9092",
            "authentication": {"mechanism": "plain", "username": "u", "password": "hunter2"},
            "ssl": {"enable": true, "keyfile": "-----BEGIN PRIVATE KEY-----"}
        });
        let typed: KafkaConnectorConfig = serde_json::from_value(kafka.clone()).unwrap();
        let by_type = serde_json::to_value(typed.masked()).unwrap();
        let typed_again: KafkaConnectorConfig = serde_json::from_value(kafka.clone()).unwrap();
        let by_name = mask_secrets(&serde_json::to_value(typed_again).unwrap());
        assert_eq!(by_name, by_type);

        let mqtt = json!({"server": "m:1883", "username": "u", "password": "mqtt-secret"});
        let typed: MqttConnectorConfig = serde_json::from_value(mqtt.clone()).unwrap();
        let by_type = serde_json::to_value(typed.masked()).unwrap();
        let by_name = mask_secrets(&serde_json::to_value(typed).unwrap());
        assert_eq!(by_name, by_type);
    }

    #[test]
    fn masks_nested_and_listed_secrets_and_keeps_empty_ones() {
        let body = json!({"connectors": [{"name": "a", "password": "p", "ssl": {"keyfile": ""}}], "api_secret": "s"});
        let masked = mask_secrets(&body);
        assert_eq!(
            masked,
            json!({"connectors": [{"name": "a", "password": MASKED_SECRET, "ssl": {"keyfile": ""}}], "api_secret": MASKED_SECRET})
        );
    }
}
