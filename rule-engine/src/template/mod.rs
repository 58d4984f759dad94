//! `${path}` templates rendered against a rule's output row (EMQX `emqx_template`).
//!
//! A placeholder is `${` + an optional `.` + `[A-Za-z0-9._]*` + `}`: `${.}` and `${}` are
//! the whole row as JSON, `${.clientid}` is the same as `${clientid}`, and `${$}` is a
//! literal `$`. Anything that does not parse as a placeholder is kept literally. Lookups
//! decode a JSON object held in a string when the path goes inside it.

mod lookup;

use serde_json::Value;

use crate::error::TemplateError;
use crate::row::RowRef;

/// Templates longer than this are rejected; they are configuration, not data.
const MAX_TEMPLATE_LEN: usize = 1 << 20;

/// What a placeholder whose path is missing renders as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// An empty string, as Kafka producer fields do.
    Empty,
    /// The text `undefined`, as the republish action does.
    Undefined,
}

/// A compiled template: parse once, render per message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// Path keys; empty means the whole row.
    Placeholder(Vec<String>),
}

impl Template {
    /// Compiles a template. Malformed placeholders are kept literally.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        if text.len() > MAX_TEMPLATE_LEN {
            return Err(TemplateError::TooLong {
                len: text.len(),
                limit: MAX_TEMPLATE_LEN,
            });
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let (before, from_dollar) = rest.split_at(start);
            literal.push_str(before);
            let inner = from_dollar.get(2..).unwrap_or_default();
            match inner.find('}').map(|end| inner.split_at(end)) {
                Some(("$", after)) => {
                    literal.push('$');
                    rest = after.get(1..).unwrap_or_default();
                }
                Some((path, after)) if is_placeholder_path(path) => {
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Placeholder(split_path(path)));
                    rest = after.get(1..).unwrap_or_default();
                }
                _ => {
                    literal.push_str("${");
                    rest = inner;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// Renders the template against a row (a rule's [`Row`](crate::Row) or any JSON value).
    pub fn render<'r>(&self, row: impl Into<RowRef<'r>>, missing: Missing) -> String {
        let mut out = String::with_capacity(self.expected_len());
        self.render_into(row, missing, &mut out);
        out
    }

    /// A guess at the rendered length, so that a record's value is not regrown several times
    /// while it is written: the literals, a short value per placeholder, a small row for `${.}`.
    /// A lone placeholder (a record's key, its timestamp) is written in one piece, often empty:
    /// nothing is reserved, so it allocates once, to size, and not at all when empty.
    fn expected_len(&self) -> usize {
        if let [Part::Placeholder(path)] = self.parts.as_slice()
            && !path.is_empty()
        {
            return 0;
        }
        self.parts
            .iter()
            .map(|part| match part {
                Part::Literal(text) => text.len(),
                Part::Placeholder(path) if path.is_empty() => 256,
                Part::Placeholder(_) => 16,
            })
            .sum()
    }

    /// Renders the template against a row, appending to `out`.
    pub fn render_into<'r>(&self, row: impl Into<RowRef<'r>>, missing: Missing, out: &mut String) {
        let row = row.into();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Placeholder(path) => {
                    if !lookup::write_at(row, path, out) {
                        out.push_str(match missing {
                            Missing::Empty => "",
                            Missing::Undefined => "undefined",
                        });
                    }
                }
            }
        }
    }

    /// When the template is exactly one `${path}`, the value at that path (unrendered),
    /// e.g. a map for Kafka headers given as `${pub_props}`.
    pub fn single_placeholder_value<'r>(&self, row: impl Into<RowRef<'r>>) -> Option<Value> {
        match self.parts.as_slice() {
            [Part::Placeholder(path)] => lookup::value_at(row.into(), path),
            _ => None,
        }
    }

    /// Whether the template has no placeholders at all.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }
}

fn is_placeholder_path(path: &str) -> bool {
    let body = path.strip_prefix('.').unwrap_or(path);
    body.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn split_path(path: &str) -> Vec<String> {
    let body = path.strip_prefix('.').unwrap_or(path);
    if body.is_empty() {
        return Vec::new();
    }
    body.split('.').map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(template: &str, row: Value) -> String {
        Template::parse(template)
            .unwrap()
            .render(&row, Missing::Empty)
    }

    #[test]
    fn scalars_maps_and_lists() {
        let row = json!({"a": "1", "b": 1, "c": 1.0, "d": {"d1": "hi"}, "l": [0, 1, 1000]});
        assert_eq!(
            render("a:${a},b:${b},c:${c},d:${d},d1:${d.d1},l:${l}", row),
            r#"a:1,b:1,c:1.0,d:{"d1":"hi"},d1:hi,l:[0,1,1000]"#
        );
    }

    #[test]
    fn whole_row_and_leading_dot() {
        assert_eq!(render("${.}", json!({"a": 1})), r#"{"a":1}"#);
        assert_eq!(render("${}", json!({"a": 1})), r#"{"a":1}"#);
        assert_eq!(
            render("${.clientid}/${clientid}", json!({"clientid": "c1"})),
            "c1/c1"
        );
    }

    #[test]
    fn json_strings_are_decoded_on_lookup() {
        assert_eq!(
            render(
                "${payload.d1.d2}",
                json!({"payload": r#"{"d1":{"d2":"hi"}}"#})
            ),
            "hi"
        );
        assert_eq!(render("${payload.x}", json!({"payload": "not json"})), "");
    }

    #[test]
    fn missing_modes() {
        let t = Template::parse("x-${nope}-y").unwrap();
        assert_eq!(t.render(&json!({}), Missing::Empty), "x--y");
        assert_eq!(t.render(&json!({}), Missing::Undefined), "x-undefined-y");
        assert_eq!(render("${a}", json!({"a": null})), "null");
    }

    #[test]
    fn malformed_and_escaped() {
        assert_eq!(
            render("a:$a,b:b},d:${d", json!({"a": 1, "d": 2})),
            "a:$a,b:b},d:${d"
        );
        assert_eq!(render("${a b}${a}", json!({"a": 1})), "${a b}1");
        assert_eq!(render("cost: ${$}5", json!({})), "cost: $5");
        assert_eq!(render("${${a}", json!({"a": 1})), "${1");
    }

    #[test]
    fn static_and_single_placeholder() {
        assert!(Template::parse("testtopic-in").unwrap().is_static());
        assert!(!Template::parse("t/${a}").unwrap().is_static());
        let t = Template::parse("${pub_props}").unwrap();
        assert_eq!(
            t.single_placeholder_value(&json!({"pub_props": {"k": "v"}})),
            Some(json!({"k": "v"}))
        );
        assert_eq!(t.single_placeholder_value(&json!({})), None);
        assert_eq!(
            Template::parse("a${b}")
                .unwrap()
                .single_placeholder_value(&json!({"b": 1})),
            None
        );
    }

    #[test]
    fn a_lone_placeholder_allocates_only_what_it_writes() {
        let key = Template::parse("${.clientid}").unwrap();
        let empty = key.render(&json!({"temp": 1}), Missing::Empty);
        assert_eq!((empty.as_str(), empty.capacity()), ("", 0));
        assert_eq!(key.render(&json!({"clientid": "c1"}), Missing::Empty), "c1");
        assert_eq!(
            key.render(&json!({"clientid": {"a": [1, 2]}}), Missing::Empty),
            r#"{"a":[1,2]}"#
        );
        // A template with literals or the whole row still reserves its guess.
        let topic = Template::parse("t/${.clientid}").unwrap();
        assert!(topic.render(&json!({}), Missing::Empty).capacity() >= 2);
    }

    #[test]
    fn render_into_appends() {
        let mut out = String::from(">");
        Template::parse("${a}")
            .unwrap()
            .render_into(&json!({"a": 1}), Missing::Empty, &mut out);
        assert_eq!(out, ">1");
    }
}
