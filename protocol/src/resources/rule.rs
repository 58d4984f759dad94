//! Rules: rule SQL plus the actions its output goes to.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};

use super::action::RepublishArgs;

/// One entry of a rule's `actions`: a reference to a stored action (`"kafka_producer:my_sink"`)
/// or an inline function.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum RuleActionRef {
    /// `"<type>:<name>"` of a stored action.
    Stored(String),
    Inline(InlineAction),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "function", content = "args", rename_all = "snake_case")]
#[expect(
    clippy::large_enum_variant,
    reason = "a rule holds a few actions, read once per change: boxing would save nothing"
)]
pub enum InlineAction {
    Republish(RepublishArgs),
    /// EMQX's debugging action: each output row is written to the worker's log (at `info`) and
    /// counted a success. `args` may be left out.
    Console(ConsoleArgs),
}

/// `args` of `console`: none. Accepts an absent `args` (`{"function": "console"}`, as EMQX's
/// own tests write it), `null` or `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConsoleArgs {}

/// By hand: the derived schema would require `args` of `console` and forbid `null`, which the
/// server accepts (as EMQX does).
impl utoipa::PartialSchema for InlineAction {
    fn schema() -> RefOr<Schema> {
        let function = |name: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([name]))
        };
        let republish = ObjectBuilder::new()
            .description(Some("Publishes each output row back to MQTT."))
            .property("function", function("republish"))
            .property("args", Ref::from_schema_name("RepublishArgs"))
            .required("function")
            .required("args");
        let console = ObjectBuilder::new()
            .description(Some(
                "EMQX's debugging action: each output row is written to the worker's log (at \
                 `info`) and counted a success. `args` may be left out, `null` or `{}`.",
            ))
            .property("function", function("console"))
            .property(
                "args",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
                    .max_properties(Some(0)),
            )
            .required("function");
        OneOfBuilder::new().item(republish).item(console).into()
    }
}

impl ToSchema for InlineAction {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            "RepublishArgs".to_owned(),
            <RepublishArgs as utoipa::PartialSchema>::schema(),
        ));
        <RepublishArgs as ToSchema>::schemas(schemas);
    }
}

impl<'de> Deserialize<'de> for ConsoleArgs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ConsoleArgs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("no arguments: `console` takes none (leave `args` out, or `{}`)")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(ConsoleArgs {})
            }
            // An absent `args` arrives as `none`.
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(ConsoleArgs {})
            }
            fn visit_some<D: serde::Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<Self::Value, D::Error> {
                deserializer.deserialize_any(self)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                match map.next_key::<String>()? {
                    None => Ok(ConsoleArgs {}),
                    Some(key) => Err(serde::de::Error::custom(format!(
                        "`console` takes no arguments, not `{key}`"
                    ))),
                }
            }
        }
        deserializer.deserialize_option(Visitor)
    }
}

/// By hand rather than `untagged`, so that an error inside an inline action keeps its path
/// (`actions[0].args.qos`) and says what is allowed instead of "did not match any variant".
impl<'de> Deserialize<'de> for RuleActionRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RuleActionRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a stored action id such as `\"kafka_producer:<name>\"` or an inline action \
                     `{\"function\": \"republish\", \"args\": {\"topic\": ...}}` or \
                     `{\"function\": \"console\"}`",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RuleActionRef::Stored(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(RuleActionRef::Stored(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                InlineAction::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RuleActionRef::Inline)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn console_is_read_with_or_without_args_as_emqx_writes_it() {
        for body in [
            json!({"function": "console"}),
            json!({"function": "console", "args": {}}),
            json!({"function": "console", "args": null}),
        ] {
            let action: RuleActionRef = serde_json::from_value(body.clone()).unwrap();
            assert_eq!(
                action,
                RuleActionRef::Inline(InlineAction::Console(ConsoleArgs {})),
                "{body}"
            );
        }
        let written =
            serde_json::to_value(RuleActionRef::Inline(InlineAction::Console(ConsoleArgs {})))
                .unwrap();
        assert_eq!(written, json!({"function": "console", "args": {}}));
        let refused = serde_json::from_value::<RuleActionRef>(
            json!({"function": "console", "args": {"x": 1}}),
        )
        .unwrap_err();
        assert!(
            refused.to_string().contains("takes no arguments"),
            "{refused}"
        );
    }
}
