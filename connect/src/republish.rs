//! The `republish` action's templates: a rule output row rendered to an MQTT PUBLISH.
//!
//! Templates render with `Missing::Undefined`, as EMQX does (`repub/${nope}` -> `repub/undefined`).
//! Except QoS and retain: when either is a single placeholder whose value the row lacks, EMQX
//! (`replace_simple_var` in `emqx_rule_actions:republish`) falls back to QoS 0 and retain false,
//! so the default `${qos}` works for rows without a `qos` (Kafka records, events).
//! The worker publishes what they render; the control plane's dry run shows it.

use bytes::Bytes;
use serde_json::Value;
use tributary_protocol::resources::RepublishArgs;
use tributary_rules::{Missing, RowRef, Template, TemplateError};

use crate::mqtt::OutboundPublish;

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
}

/// The compiled templates of one `republish` action.
#[derive(Debug, Clone)]
pub struct RepublishTemplates {
    topic: Template,
    payload: Template,
    qos: FallbackTemplate,
    retain: FallbackTemplate,
    user_properties: Option<Template>,
    content_type: Option<Template>,
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
            qos: FallbackTemplate::new(compile("qos", &args.qos)?, &args.qos),
            retain: FallbackTemplate::new(compile("retain", &args.retain)?, &args.retain),
            user_properties: args
                .user_properties
                .as_deref()
                .map(|text| compile("user_properties", text))
                .transpose()?,
            content_type,
        })
    }

    pub fn render<'r>(
        &self,
        row: impl Into<RowRef<'r>>,
    ) -> Result<OutboundPublish, RepublishError> {
        let row = row.into();
        let topic = self.topic.render(row, Missing::Undefined);
        if topic.is_empty() || topic.contains(['+', '#']) {
            return Err(RepublishError::Rendered {
                field: "topic",
                value: topic,
            });
        }
        let qos = match self.qos.render(row) {
            None => 0,
            Some(text) => match text.trim() {
                "0" => 0,
                "1" => 1,
                "2" => 2,
                _ => {
                    return Err(RepublishError::Rendered {
                        field: "qos",
                        value: text,
                    });
                }
            },
        };
        let retain = self
            .retain
            .render(row)
            .is_some_and(|text| matches!(text.trim(), "true" | "1"));
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

/// A QoS or retain template, which has a default when it is one placeholder the row lacks.
#[derive(Debug, Clone)]
struct FallbackTemplate {
    template: Template,
    single_placeholder: bool,
}

impl FallbackTemplate {
    fn new(template: Template, text: &str) -> Self {
        // `${path}` and nothing else: the first `}` closes the only placeholder at the very end.
        let single_placeholder = !template.is_static()
            && text
                .strip_prefix("${")
                .and_then(|rest| rest.strip_suffix('}'))
                .is_some_and(|path| !path.contains('}'));
        Self {
            template,
            single_placeholder,
        }
    }

    /// The rendered text, or None when the single placeholder is undefined for this row.
    fn render(&self, row: RowRef<'_>) -> Option<String> {
        if self.single_placeholder {
            return self
                .template
                .single_placeholder_value(row)
                .map(|value| match value {
                    Value::String(text) => text,
                    other => other.to_string(),
                });
        }
        Some(self.template.render(row, Missing::Undefined))
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

    fn args(qos: &str, retain: &str) -> RepublishArgs {
        RepublishArgs {
            topic: "out/${key}".into(),
            qos: qos.into(),
            retain: retain.into(),
            payload: "${value}".into(),
            mqtt_properties: serde_json::Map::new(),
            user_properties: None,
        }
    }

    #[test]
    fn undefined_qos_and_retain_placeholders_fall_back_to_0_and_false() {
        // A Kafka record has neither `qos` nor `flags`: the defaults `${qos}` and
        // `${flags.retain}` must still publish, as in EMQX.
        let defaults = RepublishTemplates::compile(&args("${qos}", "${flags.retain}")).unwrap();
        let record = json!({"key": "k1", "value": "v", "topic": "kt", "offset": 3});
        let message = defaults.render(&record).unwrap();
        assert_eq!(
            (message.topic.as_str(), message.qos, message.retain),
            ("out/k1", 0, false)
        );
        assert_eq!(message.payload, Bytes::from("v"));

        // Defined values are still used, as numbers, booleans or text.
        let message = defaults
            .render(&json!({"key": "k", "qos": 2, "flags": {"retain": true}}))
            .unwrap();
        assert_eq!((message.qos, message.retain), (2, true));
        let message = defaults
            .render(&json!({"key": "k", "qos": "1", "flags": {"retain": "false"}}))
            .unwrap();
        assert_eq!((message.qos, message.retain), (1, false));
    }

    #[test]
    fn defined_but_invalid_qos_is_still_an_error() {
        let templates = RepublishTemplates::compile(&args("${q}", "false")).unwrap();
        for bad in [
            json!("7"),
            json!("abc"),
            json!(-1),
            json!(null),
            json!({"x": 1}),
        ] {
            let error = templates
                .render(&json!({"key": "k", "q": bad}))
                .unwrap_err();
            assert!(
                matches!(&error, RepublishError::Rendered { field: "qos", .. }),
                "{bad}: {error:?}"
            );
        }
        // Only a lone placeholder falls back; a missing value inside more text is invalid.
        let mixed = RepublishTemplates::compile(&args("${q}${r}", "false")).unwrap();
        assert!(matches!(
            mixed.render(&json!({"key": "k"})),
            Err(RepublishError::Rendered { field: "qos", value }) if value == "undefinedundefined"
        ));
        let literal = RepublishTemplates::compile(&args("${$}", "false")).unwrap();
        assert!(literal.render(&json!({"key": "k"})).is_err());
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
