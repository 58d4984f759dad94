//! Rules: rule SQL plus the actions its output goes to.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "function", content = "args", rename_all = "snake_case")]
pub enum InlineAction {
    Republish(RepublishArgs),
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
                     `{\"function\": \"republish\", \"args\": {\"topic\": ...}}`",
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
