//! Why one record could not be delivered. Every variant is final for that record: retrying
//! would fail the same way, so it is counted and its offset still advances (the partition never
//! stalls on bad input).

use tributary_rules::EvalError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeliveryFailure {
    /// A topic mapping or republish action rendered a topic MQTT does not accept.
    #[error("rendered MQTT topic `{topic}` is invalid: {reason}")]
    InvalidTopic { topic: String, reason: &'static str },
    /// A template rendered something that cannot be published (e.g. a QoS that is not 0-2).
    #[error("cannot render the message: {reason}")]
    Unrenderable { reason: String },
    /// A rule reading the source failed on this record.
    #[error("rule `{rule_id}` failed: {error}")]
    RuleFailed { rule_id: String, error: EvalError },
    /// A rule's `kafka_producer` action could not produce the row's record (render failure,
    /// unknown topic, too large, not authorized; or given up on in `async` mode).
    #[error("action `{action}` failed: {reason}")]
    KafkaProduce { action: String, reason: String },
    /// Bigger than the broker (or MQTT) accepts.
    #[error("MQTT message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// The broker answered the PUBLISH with an error reason code (MQTT 5).
    #[error("the MQTT broker rejected the message: {reason}")]
    Rejected { reason: String },
}

impl DeliveryFailure {
    /// The counter this failure is counted under, next to `failed`.
    pub fn metric(&self) -> &'static str {
        match self {
            Self::InvalidTopic { .. } => "failed.invalid_topic",
            Self::Unrenderable { .. } => "failed.render",
            Self::RuleFailed { .. } => "failed.rule_exception",
            Self::KafkaProduce { .. } => "failed.kafka_produce",
            Self::TooLarge { .. } => "failed.too_large",
            Self::Rejected { .. } => "failed.rejected",
        }
    }
}

/// Checks a rendered topic name (MQTT 3.1.1 §4.7.3, MQTT 5 §4.7.3): not empty, no wildcards, no
/// NUL, at most 65,535 bytes.
pub fn check_topic(topic: &str) -> Result<(), DeliveryFailure> {
    let reason = if topic.is_empty() {
        "empty"
    } else if topic.contains(['+', '#']) {
        "contains a wildcard (+ or #)"
    } else if topic.contains('\0') {
        "contains a NUL character"
    } else if topic.len() > usize::from(u16::MAX) {
        "longer than 65535 bytes"
    } else {
        return Ok(());
    };
    Err(DeliveryFailure::InvalidTopic {
        topic: topic.chars().take(200).collect(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_mqtt_rejects_are_failures_with_a_reason() {
        assert!(check_topic("t/1").is_ok());
        assert!(check_topic("t//x").is_ok());
        for (topic, reason) in [
            ("", "empty"),
            ("t/+", "contains a wildcard (+ or #)"),
            ("t/#", "contains a wildcard (+ or #)"),
            ("a\0b", "contains a NUL character"),
        ] {
            let failure = check_topic(topic).unwrap_err();
            assert_eq!(failure.metric(), "failed.invalid_topic");
            assert!(
                matches!(failure, DeliveryFailure::InvalidTopic { reason: r, .. } if r == reason)
            );
        }
        assert!(check_topic(&"x".repeat(70_000)).is_err());
    }
}
