//! The documented paths and their methods, read from the OpenAPI document, so that a documented
//! path asked with another method answers 405 with `Allow` instead of 404.
//!
//! actix routes `#[get("/x")]` and `#[post("/x")]` as two resources guarded by method; a request
//! no guard accepts falls through to the default service, which asks this table.

use serde_json::Value;

use super::docs::OpenApiJson;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter,
}

#[derive(Debug, Clone)]
struct Template {
    segments: Vec<Segment>,
    methods: Vec<String>,
}

impl Template {
    fn matches(&self, path: &[&str]) -> bool {
        self.segments.len() == path.len()
            && self.segments.iter().zip(path).all(|(s, p)| match s {
                Segment::Literal(text) => text == p,
                Segment::Parameter => !p.is_empty(),
            })
    }

    fn literals(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count()
    }
}

#[derive(Debug, Clone, Default)]
pub struct KnownPaths {
    templates: Vec<Template>,
}

impl KnownPaths {
    pub fn from_spec(spec: &OpenApiJson) -> Self {
        let parsed: Value = serde_json::from_str(&spec.0).unwrap_or_default();
        let templates = parsed["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(path, item)| Template {
                        segments: split(path)
                            .into_iter()
                            .map(|s| {
                                if s.starts_with('{') && s.ends_with('}') {
                                    Segment::Parameter
                                } else {
                                    Segment::Literal(s.to_owned())
                                }
                            })
                            .collect(),
                        methods: item
                            .as_object()
                            .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { templates }
    }

    /// The methods of the most specific documented path matching `path` (the one with the most
    /// literal segments, as `/actions/{id}/metrics` over `/actions/{id}/{operation}`); `None`
    /// when no documented path matches.
    pub fn allowed_methods(&self, path: &str) -> Option<Vec<String>> {
        let path = split(path);
        let matching: Vec<&Template> = self.templates.iter().filter(|t| t.matches(&path)).collect();
        let best = matching.iter().map(|t| t.literals()).max()?;
        let mut methods: Vec<String> = matching
            .iter()
            .filter(|t| t.literals() == best)
            .flat_map(|t| t.methods.iter().cloned())
            .collect();
        methods.sort();
        methods.dedup();
        Some(methods)
    }
}

fn split(path: &str) -> Vec<&str> {
    path.trim_end_matches('/').split('/').skip(1).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn table() -> KnownPaths {
        let spec = serde_json::json!({"paths": {
            "/api/v5/actions/{id}": {"get": {}, "put": {}, "delete": {}},
            "/api/v5/actions/{id}/metrics": {"get": {}},
            "/api/v5/actions/{id}/{operation}": {"post": {}},
        }});
        KnownPaths::from_spec(&OpenApiJson(Arc::new(spec.to_string())))
    }

    #[test]
    fn the_most_specific_documented_path_gives_the_methods() {
        let t = table();
        assert_eq!(
            t.allowed_methods("/api/v5/actions/a:b/metrics"),
            Some(vec!["GET".to_owned()])
        );
        assert_eq!(
            t.allowed_methods("/api/v5/actions/a:b/start"),
            Some(vec!["POST".to_owned()])
        );
        assert_eq!(
            t.allowed_methods("/api/v5/actions/a:b"),
            Some(vec![
                "DELETE".to_owned(),
                "GET".to_owned(),
                "PUT".to_owned()
            ])
        );
        assert_eq!(t.allowed_methods("/api/v5/nothing"), None);
        assert_eq!(t.allowed_methods("/api/v5/actions//metrics"), None);
    }
}
