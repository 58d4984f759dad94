//! Rules: rule SQL plus the actions its output goes to.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::action::RepublishArgs;

/// One entry of a rule's `actions`: a reference to a stored action (`"kafka_producer:my_sink"`)
/// or an inline function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
