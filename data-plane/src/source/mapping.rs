//! Topic mappings: a Kafka topic's records republished to an MQTT topic, templates compiled once.

use std::collections::HashMap;

use bytes::Bytes;
use tributary_connect::mqtt::OutboundPublish;
use tributary_protocol::resources::TopicMapping;
use tributary_rules::{Missing, RowRef, Template};

use super::error::SourceError;
use super::failure::{DeliveryFailure, check_topic};

/// The source's mappings, by Kafka topic.
#[derive(Debug, Default)]
pub struct Mappings {
    /// Looked up for every record: foldhash (seeded per process) rather than SipHash.
    by_kafka_topic: HashMap<String, CompiledMapping, foldhash::fast::RandomState>,
}

#[derive(Debug)]
pub struct CompiledMapping {
    mqtt_topic: Template,
    qos: u8,
    payload: Template,
}

impl Mappings {
    pub fn compile(mappings: &[TopicMapping]) -> Result<Self, SourceError> {
        let mut by_kafka_topic =
            HashMap::with_capacity_and_hasher(mappings.len(), Default::default());
        for (index, mapping) in mappings.iter().enumerate() {
            let field = |name: &str| format!("topic_mapping[{index}].{name}");
            if mapping.qos > 2 {
                return Err(SourceError::invalid(field("qos"), "must be 0, 1 or 2"));
            }
            let compile = |name: &str, text: &str| {
                Template::parse(text).map_err(|e| SourceError::invalid(field(name), e.to_string()))
            };
            let compiled = CompiledMapping {
                mqtt_topic: compile("mqtt_topic", &mapping.mqtt_topic)?,
                qos: mapping.qos,
                payload: compile("payload_template", &mapping.payload_template)?,
            };
            if by_kafka_topic
                .insert(mapping.kafka_topic.clone(), compiled)
                .is_some()
            {
                return Err(SourceError::invalid(
                    field("kafka_topic"),
                    format!("`{}` appears in more than one mapping", mapping.kafka_topic),
                ));
            }
        }
        Ok(Self { by_kafka_topic })
    }

    pub fn for_topic(&self, kafka_topic: &str) -> Option<&CompiledMapping> {
        self.by_kafka_topic.get(kafka_topic)
    }

    pub fn kafka_topics(&self) -> impl Iterator<Item = &str> {
        self.by_kafka_topic.keys().map(String::as_str)
    }
}

impl CompiledMapping {
    /// The PUBLISH for one record: `row` is the record itself, or its JSON
    /// ([`KafkaRecord::to_json`](tributary_rules::KafkaRecord::to_json)), which render the
    /// same. Missing values render empty.
    pub fn render<'r>(
        &self,
        row: impl Into<RowRef<'r>>,
    ) -> Result<OutboundPublish, DeliveryFailure> {
        let row = row.into();
        let topic = self.mqtt_topic.render(row, Missing::Empty);
        check_topic(&topic)?;
        Ok(OutboundPublish {
            topic,
            payload: Bytes::from(self.payload.render(row, Missing::Empty)),
            qos: self.qos,
            retain: false,
            user_properties: Vec::new(),
            content_type: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn mapping(kafka_topic: &str, mqtt_topic: &str, payload: &str) -> TopicMapping {
        TopicMapping {
            kafka_topic: kafka_topic.into(),
            mqtt_topic: mqtt_topic.into(),
            qos: 1,
            payload_template: payload.into(),
        }
    }

    fn row() -> Value {
        json!({
            "value": "{\"msg\": \"Hello EMQX\"}",
            "ts_type": "create",
            "ts": 1,
            "topic": "testtopic-out",
            "offset": 2,
            "key": "dev1",
            "headers": {"h1": "v1"}
        })
    }

    #[test]
    fn renders_topic_and_payload_from_the_record() {
        let mappings = Mappings::compile(&[mapping(
            "testtopic-out",
            "devices/${.key}/cmd",
            "${.value.msg}|${.headers.h1}|${.missing}|${.offset}",
        )])
        .unwrap();
        let publish = mappings
            .for_topic("testtopic-out")
            .unwrap()
            .render(&row())
            .unwrap();
        assert_eq!(publish.topic, "devices/dev1/cmd");
        assert_eq!(publish.qos, 1);
        assert_eq!(&publish.payload[..], b"Hello EMQX|v1||2");
        assert!(mappings.for_topic("other").is_none());
    }

    #[test]
    fn the_default_payload_is_the_whole_record() {
        let mappings = Mappings::compile(&[mapping("testtopic-out", "t/1", "${.}")]).unwrap();
        let publish = mappings
            .for_topic("testtopic-out")
            .unwrap()
            .render(&row())
            .unwrap();
        let payload: Value = serde_json::from_slice(&publish.payload).unwrap();
        assert_eq!(payload, row());
    }

    #[test]
    fn a_topic_that_renders_invalid_is_a_failure() {
        let mappings = Mappings::compile(&[
            mapping("a", "t/${.key}", "${.}"),
            mapping("b", "${.nothing}", "${.}"),
        ])
        .unwrap();
        let mut wildcard = row();
        wildcard["key"] = json!("+");
        let failure = mappings
            .for_topic("a")
            .unwrap()
            .render(&wildcard)
            .unwrap_err();
        assert_eq!(failure.metric(), "failed.invalid_topic");
        let failure = mappings.for_topic("b").unwrap().render(&row()).unwrap_err();
        assert!(matches!(
            failure,
            DeliveryFailure::InvalidTopic {
                reason: "empty",
                ..
            }
        ));
    }

    #[test]
    fn bad_mappings_are_configuration_errors() {
        let mut bad_qos = mapping("a", "t", "${.}");
        bad_qos.qos = 3;
        assert!(Mappings::compile(&[bad_qos]).is_err());
        let duplicate = Mappings::compile(&[mapping("a", "t", "x"), mapping("a", "u", "y")]);
        assert!(
            duplicate
                .unwrap_err()
                .to_string()
                .contains("more than one mapping")
        );
    }
}
