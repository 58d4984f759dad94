//! What source parameters must satisfy beyond their types.

use std::collections::HashSet;

use super::validation::{FieldErrors, rules};
use super::{FieldError, KafkaConsumerParameters, Validate};

/// Below librdkafka's upper bound of `fetch.min.bytes` (100,000,000), in a unit users write.
const MAX_MIN_BATCH_BYTES: u64 = 64 << 20;

impl Validate for KafkaConsumerParameters {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        errors.check(
            self.topic.is_some() || !self.topic_mapping.is_empty(),
            "topic",
            || {
                "give `topic` (read by rules) or `topic_mapping` (delivered to MQTT), or both"
                    .into()
            },
        );
        if let Some(Err(reason)) = self.topic.as_deref().map(rules::kafka_topic) {
            errors.push(FieldError::new("topic", reason));
        }
        let mut seen = HashSet::new();
        for (i, mapping) in self.topic_mapping.iter().enumerate() {
            let at = |field: &str| format!("topic_mapping[{i}].{field}");
            if let Err(reason) = rules::kafka_topic(&mapping.kafka_topic) {
                errors.push(FieldError::new(at("kafka_topic"), reason));
            }
            errors.check(
                seen.insert(mapping.kafka_topic.as_str()),
                &at("kafka_topic"),
                || format!("`{}` appears in more than one mapping", mapping.kafka_topic),
            );
            if (!rules::is_template(&mapping.mqtt_topic) || mapping.mqtt_topic.is_empty())
                && let Err(reason) = rules::mqtt_publish_topic(&mapping.mqtt_topic)
            {
                errors.push(FieldError::new(at("mqtt_topic"), reason));
            }
            errors.check(mapping.qos <= 2, &at("qos"), || "0, 1 or 2".into());
        }
        if let Some(group) = &self.group_id {
            errors.check(!group.trim().is_empty(), "group_id", || {
                "must not be empty".into()
            });
        }
        errors.check(
            self.max_batch_bytes.0 > 0 && self.max_batch_bytes.0 <= 1 << 30,
            "max_batch_bytes",
            || "between 1B and 1GB".into(),
        );
        errors.check(
            (1..=MAX_MIN_BATCH_BYTES.min(self.max_batch_bytes.0)).contains(&self.min_batch_bytes.0),
            "min_batch_bytes",
            || "between 1B and `max_batch_bytes`, and at most 64MB".into(),
        );
        errors.check(self.max_wait_time.as_millis() > 0, "max_wait_time", || {
            "must be longer than 0ms".into()
        });
        errors.check(
            self.offset_commit_interval_seconds > 0,
            "offset_commit_interval_seconds",
            || "must be at least 1".into(),
        );
        errors.check(self.max_inflight > 0, "max_inflight", || {
            "must be at least 1".into()
        });
        errors.finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params(value: serde_json::Value) -> KafkaConsumerParameters {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_source_needs_a_topic_or_mappings() {
        let err = params(json!({})).validate().unwrap_err();
        assert_eq!(err[0].field, "topic");
        assert!(params(json!({"topic": "t"})).validate().is_ok());
    }

    #[test]
    fn min_batch_bytes_is_at_least_a_byte_and_at_most_max_batch_bytes() {
        let field_of = |extra: serde_json::Value| {
            let mut value = json!({"topic": "t"});
            value
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            params(value)
                .validate()
                .err()
                .map(|errors| errors[0].field.clone())
        };
        assert_eq!(field_of(json!({})), None, "1B by default");
        assert_eq!(field_of(json!({"min_batch_bytes": "32KB"})), None);
        assert_eq!(
            field_of(json!({"min_batch_bytes": "0B"})).as_deref(),
            Some("min_batch_bytes")
        );
        assert_eq!(
            field_of(json!({"min_batch_bytes": "2MB", "max_batch_bytes": "1MB"})).as_deref(),
            Some("min_batch_bytes"),
            "more than a fetch may carry"
        );
        assert_eq!(
            field_of(json!({"min_batch_bytes": "65MB", "max_batch_bytes": "1GB"})).as_deref(),
            Some("min_batch_bytes"),
            "above librdkafka's bound"
        );
    }

    #[test]
    fn each_kafka_topic_appears_in_one_mapping() {
        let err = params(json!({"topic_mapping": [
            {"kafka_topic": "a", "mqtt_topic": "m/1"},
            {"kafka_topic": "a", "mqtt_topic": "m/2", "qos": 3}
        ]}))
        .validate()
        .unwrap_err();
        let fields: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["topic_mapping[1].kafka_topic", "topic_mapping[1].qos"]
        );
    }
}
