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

/// Collects field errors while walking a structure.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn check(&mut self, ok: bool, field: &str, reason: impl FnOnce() -> String) {
        if !ok {
            self.0.push(FieldError::new(field, reason()));
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Adds a nested structure's errors under `parent`.
    pub fn nested(&mut self, parent: &str, result: Result<(), Vec<FieldError>>) {
        if let Err(errors) = result {
            self.0.extend(errors.into_iter().map(|e| e.within(parent)));
        }
    }

    pub fn extend(&mut self, errors: impl IntoIterator<Item = FieldError>) {
        self.0.extend(errors);
    }

    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// Rules shared by several resources.
pub mod rules {
    /// `host:port` with a non-empty host and a port in 1..=65535 (`[v6]:port` accepted).
    pub fn host_port(entry: &str) -> Result<(), String> {
        let entry = entry.trim();
        let Some((host, port)) = entry.rsplit_once(':') else {
            return Err(format!("`{entry}` is not `host:port`"));
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty()
            || host
                .chars()
                .any(|c| c.is_whitespace() || c == '/' || c == ',')
        {
            return Err(format!("`{entry}` has no valid host"));
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 => Ok(()),
            _ => Err(format!("`{port}` in `{entry}` is not a port (1-65535)")),
        }
    }

    /// A comma-separated list of `host:port`.
    pub fn host_list(list: &str) -> Result<(), String> {
        if list.trim().is_empty() {
            return Err("at least one `host:port` is required".to_owned());
        }
        list.split(',').try_for_each(host_port)
    }

    /// Kafka's own rule: 1-249 characters out of `[a-zA-Z0-9._-]`, and not `.` or `..`. Workers
    /// apply it to each rendered topic, the API to each configured one.
    pub fn is_kafka_topic(topic: &str) -> bool {
        !topic.is_empty()
            && topic.len() <= 249
            && topic != "."
            && topic != ".."
            && topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    }

    /// [`is_kafka_topic`], with the reason in words.
    pub fn kafka_topic(topic: &str) -> Result<(), String> {
        if !is_kafka_topic(topic) {
            return Err(format!(
                "`{topic}` is not a valid Kafka topic: use 1-249 characters out of a-z A-Z 0-9 . _ -"
            ));
        }
        Ok(())
    }

    /// Whether a template contains a placeholder (so it is resolved per message).
    pub fn is_template(text: &str) -> bool {
        text.contains("${")
    }

    /// An MQTT topic to publish to: non-empty, no wildcards, no NUL.
    pub fn mqtt_publish_topic(topic: &str) -> Result<(), String> {
        if topic.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if topic.contains(['+', '#', '\0']) {
            return Err(format!(
                "`{topic}` contains a wildcard (+ or #); topics published to cannot"
            ));
        }
        Ok(())
    }

    /// Exactly one `${path}` and nothing else.
    pub fn single_placeholder(text: &str) -> Result<(), String> {
        let inner = text
            .trim()
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'));
        match inner {
            Some(path) if !path.contains(['{', '}', '$']) => Ok(()),
            _ => Err(format!(
                "`{text}` must be a single placeholder such as `${{pub_props}}`"
            )),
        }
    }

    /// PEM text, when a certificate or key is given inline.
    pub fn pem(text: &str) -> Result<(), String> {
        if text.contains("-----BEGIN ") {
            Ok(())
        } else {
            Err("expected PEM text starting with `-----BEGIN `".to_owned())
        }
    }
}
