//! Field-level validation shared by the control plane (at save time) and workers (defensively).

use serde::Serialize;

/// One rejected field: its dotted path (e.g. `parameters.topic`) and a reason a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Prefixes the field path, for errors found inside a nested structure.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

/// Checks what serde's types cannot express (ranges, templates, host lists).
pub trait Validate {
    fn validate(&self) -> Result<(), Vec<FieldError>>;
}
