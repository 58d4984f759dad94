//! `${path}` templates rendered against a rule's output row (EMQX `emqx_template`).

use serde_json::Value;

use crate::error::TemplateError;

/// What a placeholder whose path is missing renders as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// An empty string, as Kafka producer fields do.
    Empty,
    /// The text `undefined`, as the republish action does.
    Undefined,
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    text: String,
}

impl Template {
    /// Compiles a template. Malformed placeholders are kept literally.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        Ok(Template {
            text: text.to_owned(),
        })
    }

    /// Renders the template against a row.
    pub fn render(&self, row: &Value, missing: Missing) -> String {
        let mut out = String::new();
        self.render_into(row, missing, &mut out);
        out
    }

    /// Renders the template against a row, appending to `out`.
    pub fn render_into(&self, row: &Value, missing: Missing, out: &mut String) {
        let _ = (row, missing);
        out.push_str(&self.text);
    }

    /// When the template is exactly one `${path}`, the value at that path (unrendered).
    pub fn single_placeholder_value(&self, row: &Value) -> Option<Value> {
        let _ = row;
        None
    }

    /// Whether the template has no placeholders at all.
    pub fn is_static(&self) -> bool {
        true
    }
}
