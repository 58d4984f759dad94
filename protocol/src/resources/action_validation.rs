//! What action parameters must satisfy beyond their types.

use super::validation::{FieldErrors, rules};
use super::{FieldError, KafkaProducerParameters, RepublishArgs, RequiredAcks, Validate};

impl Validate for KafkaProducerParameters {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        if self.topic.is_empty() {
            errors.push(FieldError::new("topic", "must not be empty"));
        } else if !rules::is_template(&self.topic)
            && let Err(reason) = rules::kafka_topic(&self.topic)
        {
            errors.push(FieldError::new("topic", reason));
        }
        if let Some(headers) = &self.kafka_headers
            && let Err(reason) = rules::single_placeholder(headers)
        {
            errors.push(FieldError::new("kafka_headers", reason));
        }
        for (i, header) in self.kafka_ext_headers.iter().enumerate() {
            errors.check(
                !header.kafka_ext_header_key.is_empty(),
                &format!("kafka_ext_headers[{i}].kafka_ext_header_key"),
                || "must not be empty".into(),
            );
        }
        for (field, size) in [
            ("max_batch_bytes", self.max_batch_bytes),
            ("max_linger_bytes", self.max_linger_bytes),
        ] {
            errors.check(size.0 > 0 && size.0 <= 1 << 30, field, || {
                "between 1B and 1GB".into()
            });
        }
        errors.check(
            (1..=1_000_000).contains(&self.max_inflight),
            "max_inflight",
            || "between 1 and 1000000".into(),
        );
        errors.check(
            self.sync_query_timeout.as_millis() > 0,
            "sync_query_timeout",
            || "must be longer than 0ms".into(),
        );
        errors.check(
            self.partition_count_refresh_interval.as_millis() >= 1000,
            "partition_count_refresh_interval",
            || "at least 1s".into(),
        );
        errors.check(
            self.max_linger_time.as_millis() <= 900_000,
            "max_linger_time",
            || "at most 15m".into(),
        );
        errors.check(
            self.buffer.per_partition_limit.0 > 0,
            "buffer.per_partition_limit",
            || "must be larger than 0B".into(),
        );
        errors.check(
            self.buffer.segment_bytes.0 > 0,
            "buffer.segment_bytes",
            || "must be larger than 0B".into(),
        );
        errors.check(
            self.enable_idempotence != Some(true) || self.required_acks == RequiredAcks::AllIsr,
            "enable_idempotence",
            || {
                "needs required_acks `all_isr`: Kafka only deduplicates records that every in-sync \
                 replica acknowledges; set required_acks to all_isr or enable_idempotence to false"
                    .into()
            },
        );
        if let Some(topic) = &self.dead_letter_topic
            && let Err(reason) = rules::kafka_topic(topic)
        {
            errors.push(FieldError::new("dead_letter_topic", reason));
        }
        errors.finish()
    }
}

impl Validate for RepublishArgs {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        if (!rules::is_template(&self.topic) || self.topic.is_empty())
            && let Err(reason) = rules::mqtt_publish_topic(&self.topic)
        {
            errors.push(FieldError::new("topic", reason));
        }
        errors.check(
            rules::is_template(&self.qos) || matches!(self.qos.as_str(), "0" | "1" | "2"),
            "qos",
            || {
                format!(
                    "`{}` is not allowed: write 0, 1 or 2, or a template such as `${{qos}}`",
                    self.qos
                )
            },
        );
        errors.check(
            rules::is_template(&self.retain) || matches!(self.retain.as_str(), "true" | "false"),
            "retain",
            || {
                format!(
                    "`{}` is not allowed: write true or false, or a template such as `${{flags.retain}}`",
                    self.retain
                )
            },
        );
        for (name, value) in &self.mqtt_properties {
            errors.check(
                value.is_string(),
                &format!("mqtt_properties.{name}"),
                || "must be a string (a template)".into(),
            );
        }
        if let Some(props) = &self.user_properties
            && let Err(reason) = rules::single_placeholder(props)
        {
            errors.push(FieldError::new("user_properties", reason));
        }
        errors.finish()
    }
}
