//! Buffer modes that need a static topic: `disk` and `hybrid` keep a log per topic partition,
//! chosen before the record is written, and refuse a topic template as EMQX does.

use tributary_protocol::resources::{BufferMode, FieldError, KafkaProducerParameters};
use tributary_rules::Template;

/// The errors of `parameters` (paths relative to `parameters`).
pub fn kafka_producer(params: &KafkaProducerParameters) -> Vec<FieldError> {
    let mode = match params.buffer.mode {
        BufferMode::Memory => return Vec::new(),
        BufferMode::Disk => "disk",
        BufferMode::Hybrid => "hybrid",
    };
    // A template that does not parse is reported by the template check already.
    let templated = Template::parse(&params.topic).is_ok_and(|t| !t.is_static());
    if !templated {
        return Vec::new();
    }
    vec![FieldError::new(
        "topic",
        format!(
            "buffer mode `{mode}` needs a static topic, and `{}` is a template: a disk buffer \
             keeps one log per topic partition, known before a message is written. Name one \
             topic, or set buffer.mode to `memory`",
            params.topic
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameters(json: serde_json::Value) -> KafkaProducerParameters {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn disk_and_hybrid_refuse_a_templated_topic() {
        for mode in ["disk", "hybrid"] {
            let errors = kafka_producer(&parameters(
                serde_json::json!({"topic": "t-${clientid}", "buffer": {"mode": mode}}),
            ));
            assert_eq!(errors.len(), 1, "{mode}");
            assert_eq!(errors[0].field, "topic");
            assert!(
                errors[0].reason.contains("static topic"),
                "{}",
                errors[0].reason
            );
        }
    }

    #[test]
    fn static_topics_and_memory_mode_pass() {
        for json in [
            serde_json::json!({"topic": "t", "buffer": {"mode": "disk"}}),
            serde_json::json!({"topic": "t", "buffer": {"mode": "hybrid"}}),
            serde_json::json!({"topic": "t-${clientid}", "buffer": {"mode": "memory"}}),
            serde_json::json!({"topic": "t-${clientid}"}),
        ] {
            assert!(
                kafka_producer(&parameters(json.clone())).is_empty(),
                "{json}"
            );
        }
    }
}
