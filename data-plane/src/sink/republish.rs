//! The `republish` action: a rule output row back to MQTT through a connector.
//!
//! Templates render with `Missing::Undefined`, as EMQX does (`repub/${nope}` -> `repub/undefined`).
//! Used by MQTT rules here and by rules over Kafka records in `source/`.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use tributary_protocol::resources::RepublishArgs;
use tributary_rules::{Missing, Template, TemplateError};

use crate::mqtt::{ClientError, MqttConnection, OutboundPublish};

#[derive(Debug, Clone, thiserror::Error)]
pub enum RepublishError {
    /// The action's configuration cannot be compiled (user error).
    #[error("republish `{field}`: {source}")]
    Template {
        field: &'static str,
        source: TemplateError,
    },
    /// This row renders to something that cannot be published (user data).
    #[error("republish rendered an invalid {field}: `{value}`")]
    Rendered { field: &'static str, value: String },
    /// The connection is gone (internal: the flow is stopping).
    #[error(transparent)]
    Connection(#[from] ClientError),
}

/// A compiled `republish` action bound to a connection.
#[derive(Debug, Clone)]
pub struct Republisher {
    templates: RepublishTemplates,
    connection: Arc<MqttConnection>,
}

/// The compiled templates alone: rendering needs no connection (and is unit-testable).
#[derive(Debug, Clone)]
pub struct RepublishTemplates {
    topic: Template,
    payload: Template,
    qos: Template,
    retain: Template,
    user_properties: Option<Template>,
    content_type: Option<Template>,
}

impl Republisher {
    pub fn new(
        args: &RepublishArgs,
        connection: Arc<MqttConnection>,
    ) -> Result<Self, RepublishError> {
        Ok(Self {
            templates: RepublishTemplates::compile(args)?,
            connection,
        })
    }

    /// Renders `row` and queues the PUBLISH on the connection.
    pub async fn publish(&self, row: &Value) -> Result<(), RepublishError> {
        let message = self.templates.render(row)?;
        self.connection.publish(message).await?;
        Ok(())
    }
}

impl RepublishTemplates {
    pub fn compile(args: &RepublishArgs) -> Result<Self, RepublishError> {
        let compile = |field: &'static str, text: &str| {
            Template::parse(text).map_err(|source| RepublishError::Template { field, source })
        };
        let content_type = args
            .mqtt_properties
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("Content-Type"))
            .and_then(|(_, value)| value.as_str())
            .map(|text| compile("mqtt_properties.Content-Type", text))
            .transpose()?;
        Ok(Self {
            topic: compile("topic", &args.topic)?,
            payload: compile("payload", &args.payload)?,
            qos: compile("qos", &args.qos)?,
            retain: compile("retain", &args.retain)?,
            user_properties: args
                .user_properties
                .as_deref()
                .map(|text| compile("user_properties", text))
                .transpose()?,
            content_type,
        })
    }

    pub fn render(&self, row: &Value) -> Result<OutboundPublish, RepublishError> {
        let topic = self.topic.render(row, Missing::Undefined);
        if topic.is_empty() || topic.contains(['+', '#']) {
            return Err(RepublishError::Rendered {
                field: "topic",
                value: topic,
            });
        }
        let qos_text = self.qos.render(row, Missing::Undefined);
        let qos = match qos_text.trim() {
            "0" => 0,
            "1" => 1,
            "2" => 2,
            _ => {
                return Err(RepublishError::Rendered {
                    field: "qos",
                    value: qos_text,
                });
            }
        };
        let retain = matches!(
            self.retain.render(row, Missing::Undefined).trim(),
            "true" | "1"
        );
        Ok(OutboundPublish {
            topic,
            payload: Bytes::from(self.payload.render(row, Missing::Undefined)),
            qos,
            retain,
            user_properties: self
                .user_properties
                .as_ref()
                .and_then(|t| t.single_placeholder_value(row))
                .map(|value| pairs(&value))
                .unwrap_or_default(),
            content_type: self
                .content_type
                .as_ref()
                .map(|t| t.render(row, Missing::Undefined)),
        })
    }
}

/// User properties from an object (`{"k": "v"}`) or a list of pairs (`[["k","v"]]` or
/// `[{"key":"k","value":"v"}]`); non-string values become their JSON text.
pub fn pairs(value: &Value) -> Vec<(String, String)> {
    fn text(value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Array(kv) if kv.len() == 2 => Some((text(&kv[0]), text(&kv[1]))),
                Value::Object(kv) => Some((text(kv.get("key")?), text(kv.get("value")?))),
                _ => None,
            })
            .collect(),
        Value::String(s) => serde_json::from_str::<Value>(s)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
            .map(|v| pairs(&v))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pairs_accept_objects_lists_and_json_text() {
        assert_eq!(
            pairs(&json!({"a": "1", "b": 2})),
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(
            pairs(&json!([["a", "1"], {"key": "b", "value": "2"}])).len(),
            2
        );
        assert_eq!(
            pairs(&json!("{\"a\":\"1\"}")),
            vec![("a".into(), "1".into())]
        );
        assert!(pairs(&json!(5)).is_empty());
    }

    #[test]
    fn static_templates_render_and_bad_qos_is_an_error() {
        let args = RepublishArgs {
            topic: "out/static".into(),
            qos: "1".into(),
            retain: "false".into(),
            payload: "hello".into(),
            mqtt_properties: serde_json::Map::new(),
            user_properties: None,
        };
        let templates = RepublishTemplates::compile(&args).unwrap();
        let message = templates.render(&json!({})).unwrap();
        assert_eq!(message.topic, "out/static");
        assert_eq!(message.qos, 1);
        assert!(!message.retain);
        assert_eq!(message.payload, Bytes::from("hello"));

        let bad = RepublishArgs {
            qos: "7".into(),
            ..args
        };
        let templates = RepublishTemplates::compile(&bad).unwrap();
        assert!(matches!(
            templates.render(&json!({})),
            Err(RepublishError::Rendered { field: "qos", .. })
        ));
    }
}
