//! A rule output row -> a Kafka record (topic, key, value, headers, timestamp).

use serde_json::Value;
use tributary_protocol::resources::validation::rules::is_kafka_topic;
use tributary_protocol::resources::{HeaderValueEncodeMode, KafkaProducerParameters};
use tributary_rules::{Missing, RowRef, Template, TemplateError};

use crate::republish::pairs;

/// A record ready to produce.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedRecord {
    pub topic: String,
    pub key: Option<String>,
    pub value: String,
    pub headers: Vec<(String, String)>,
    pub timestamp: Option<i64>,
}

/// Why a row cannot become a record. Unrecoverable for that message (it is counted as failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("topic template `{template}` has a placeholder missing from the row")]
    TopicPlaceholderMissing { template: String },
    #[error("rendered topic `{0}` is not a valid Kafka topic name")]
    InvalidTopic(String),
}

/// The compiled message templates of a `kafka_producer` action.
#[derive(Debug, Clone)]
pub struct RecordTemplates {
    topic_text: String,
    topic: Template,
    /// The topic of a template without placeholders, rendered and found valid once.
    valid_static_topic: Option<String>,
    key: Template,
    value: Template,
    timestamp: Template,
    headers: Option<Template>,
    ext_headers: Vec<(String, Template)>,
    encode_mode: HeaderValueEncodeMode,
}

impl RecordTemplates {
    pub fn compile(parameters: &KafkaProducerParameters) -> Result<Self, (String, TemplateError)> {
        let compile = |field: &str, text: &str| {
            Template::parse(text).map_err(|error| (field.to_owned(), error))
        };
        let topic = compile("topic", &parameters.topic)?;
        let valid_static_topic = topic
            .is_static()
            .then(|| topic.render(&Value::Null, Missing::Empty))
            .filter(|name| is_kafka_topic(name));
        Ok(Self {
            topic_text: parameters.topic.clone(),
            topic,
            valid_static_topic,
            key: compile("message.key", &parameters.message.key)?,
            value: compile("message.value", &parameters.message.value)?,
            timestamp: compile("message.timestamp", &parameters.message.timestamp)?,
            headers: parameters
                .kafka_headers
                .as_deref()
                .filter(|text| !text.trim().is_empty())
                .map(|text| compile("kafka_headers", text))
                .transpose()?,
            ext_headers: parameters
                .kafka_ext_headers
                .iter()
                .map(|h| {
                    Ok((
                        h.kafka_ext_header_key.clone(),
                        compile("kafka_ext_headers", &h.kafka_ext_header_value)?,
                    ))
                })
                .collect::<Result<_, (String, TemplateError)>>()?,
            encode_mode: parameters.kafka_header_value_encode_mode,
        })
    }

    /// Whether every message goes to the same topic.
    pub fn static_topic(&self) -> Option<String> {
        self.topic
            .is_static()
            .then(|| self.topic.render(&Value::Null, Missing::Empty))
    }

    pub fn render<'r>(&self, row: impl Into<RowRef<'r>>) -> Result<RenderedRecord, RenderError> {
        let row = row.into();
        let topic = self.render_topic(row)?;
        let key = self.key.render(row, Missing::Empty);
        let timestamp = self
            .timestamp
            .render(row, Missing::Empty)
            .trim()
            .parse::<i64>()
            .ok();
        let mut headers = self
            .headers
            .as_ref()
            .and_then(|t| t.single_placeholder_value(row))
            .map(|value| header_pairs(&value, self.encode_mode))
            .unwrap_or_default();
        headers.extend(
            self.ext_headers
                .iter()
                .map(|(key, template)| (key.clone(), template.render(row, Missing::Empty))),
        );
        Ok(RenderedRecord {
            topic,
            key: (!key.is_empty()).then_some(key),
            value: self.value.render(row, Missing::Empty),
            headers,
            timestamp,
        })
    }

    /// A topic placeholder missing from the row makes the message fail rather than go to a topic
    /// with a hole in its name: rendering with both missing-value styles tells them apart.
    fn render_topic(&self, row: RowRef<'_>) -> Result<String, RenderError> {
        if let Some(topic) = &self.valid_static_topic {
            return Ok(topic.clone());
        }
        let topic = self.topic.render(row, Missing::Empty);
        if !self.topic.is_static() && topic != self.topic.render(row, Missing::Undefined) {
            return Err(RenderError::TopicPlaceholderMissing {
                template: self.topic_text.clone(),
            });
        }
        if !is_kafka_topic(&topic) {
            return Err(RenderError::InvalidTopic(topic));
        }
        Ok(topic)
    }
}

/// Headers from the value of the `kafka_headers` placeholder: an object, a list of pairs or JSON
/// text of either. `${pub_props}` holds the MQTT 5 user properties under `User-Property`; they
/// become headers of their own.
fn header_pairs(value: &Value, mode: HeaderValueEncodeMode) -> Vec<(String, String)> {
    let encode = |value: &Value| match (mode, value) {
        (HeaderValueEncodeMode::None, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    };
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(key, value)| match (key.as_str(), value) {
                ("User-Property", Value::Object(_) | Value::Array(_)) => pairs(value)
                    .into_iter()
                    .map(|(k, v)| (k, encode(&Value::String(v))))
                    .collect::<Vec<_>>(),
                _ => vec![(key.clone(), encode(value))],
            })
            .collect(),
        Value::String(text) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
            .map(|v| header_pairs(&v, mode))
            .unwrap_or_default(),
        Value::Array(_) => pairs(value)
            .into_iter()
            .map(|(k, v)| (k, encode(&Value::String(v))))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(is_kafka_topic("device-1.a_b"));
        assert!(!is_kafka_topic(""));
        assert!(!is_kafka_topic("a/b"));
        assert!(!is_kafka_topic(".."));
        assert!(!is_kafka_topic(&"x".repeat(250)));
    }

    #[test]
    fn workers_compile_every_template_the_api_validates() {
        let base = json!({
            "topic": "t",
            "message": {"key": "k", "value": "v", "timestamp": "${timestamp}"},
            "kafka_headers": "${pub_props}",
            "kafka_ext_headers": [{"kafka_ext_header_key": "h", "kafka_ext_header_value": "x"}]
        });
        let pointers = [
            "/topic",
            "/message/key",
            "/message/value",
            "/message/timestamp",
            "/kafka_headers",
            "/kafka_ext_headers/0/kafka_ext_header_value",
        ];
        let parse = |value: Value| -> KafkaProducerParameters {
            serde_json::from_value(value).expect("parameters")
        };
        let complete = parse(base.clone());
        let fields = complete.templates();
        assert_eq!(fields.len(), pointers.len(), "{fields:?}");
        // Over the rule engine's 1 MiB template limit: the one text no template accepts.
        let too_long = "x".repeat((1 << 20) + 1);
        for ((field, _), pointer) in fields.iter().zip(pointers) {
            let mut broken = base.clone();
            *broken.pointer_mut(pointer).expect(pointer) = json!(too_long);
            let parameters = parse(broken);
            assert!(
                parameters
                    .templates()
                    .iter()
                    .any(|(f, text)| f == field && *text == too_long),
                "{field} is not {pointer}"
            );
            let (named, _) = RecordTemplates::compile(&parameters)
                .err()
                .unwrap_or_else(|| panic!("workers compiled a broken {field}"));
            assert!(field.starts_with(&named), "{named} for {field}");
        }
    }

    fn templates(topic: &str) -> RecordTemplates {
        let parameters: KafkaProducerParameters =
            serde_json::from_value(json!({ "topic": topic })).expect("parameters");
        RecordTemplates::compile(&parameters).expect("templates")
    }

    #[test]
    fn static_and_rendered_topics_are_both_checked() {
        let row = json!({"site": "plant-a", "bad": "a/b"});
        let topic = |template: &str| templates(template).render(&row).map(|r| r.topic);
        assert_eq!(topic("sensors"), Ok("sensors".to_owned()));
        assert_eq!(
            topic("a/b"),
            Err(RenderError::InvalidTopic("a/b".to_owned())),
            "a static topic Kafka refuses fails each record, as a rendered one does"
        );
        assert_eq!(topic("t-${site}"), Ok("t-plant-a".to_owned()));
        assert_eq!(
            topic("t-${bad}"),
            Err(RenderError::InvalidTopic("t-a/b".to_owned()))
        );
        assert!(matches!(
            topic("t-${nope}"),
            Err(RenderError::TopicPlaceholderMissing { .. })
        ));
    }

    #[test]
    fn headers_from_objects_user_properties_and_lists() {
        let props = json!({"User-Property": {"site": "a", "n": "1"}, "Content-Type": "json"});
        let headers = header_pairs(&props, HeaderValueEncodeMode::None);
        assert_eq!(
            headers,
            vec![
                ("site".to_owned(), "a".to_owned()),
                ("n".to_owned(), "1".to_owned()),
                ("Content-Type".to_owned(), "json".to_owned())
            ]
        );
        let json_mode = header_pairs(&json!({"a": "x", "b": 2}), HeaderValueEncodeMode::Json);
        assert_eq!(
            json_mode,
            vec![("a".into(), "\"x\"".into()), ("b".into(), "2".into())]
        );
        let list = header_pairs(&json!([["k", "v"]]), HeaderValueEncodeMode::None);
        assert_eq!(list, vec![("k".into(), "v".into())]);
        let text = header_pairs(&json!("{\"k\":\"v\"}"), HeaderValueEncodeMode::None);
        assert_eq!(text, vec![("k".into(), "v".into())]);
        assert!(header_pairs(&json!(3), HeaderValueEncodeMode::None).is_empty());
    }
}
