//! The fields every resource body shares (`type`, `name`, `enable`, `description`) and decoding of
//! the type-specific rest with errors that name the field.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tributary_protocol::resources::FieldError;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Default)]
pub struct Envelope {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub enable: Option<bool>,
    pub description: Option<String>,
}

/// Fields the API shows but nobody sets. They are dropped from request bodies so that a read,
/// edited and sent back, is a valid write.
const READ_ONLY: [&str; 9] = [
    "created_at",
    "updated_at",
    "last_modified_at",
    "status",
    "status_reason",
    "node_status",
    "from",
    // An action's or source's rules.
    "rules",
    // A rule's actions with their status.
    "action_details",
];

/// A connector's read-only lists of its actions and sources (rules write `actions`, so these
/// are dropped from connector bodies only).
pub fn without_connector_children(mut body: Value) -> Value {
    if let Value::Object(map) = &mut body {
        map.remove("actions");
        map.remove("sources");
    }
    body
}

/// Drops [`READ_ONLY`] fields from a JSON object body.
pub fn without_read_only(body: Value) -> ApiResult<Map<String, Value>> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        ));
    };
    for field in READ_ONLY {
        map.remove(field);
    }
    Ok(map)
}

/// Takes the envelope fields off a JSON object body; the rest is returned for typed decoding.
pub fn split(body: Value) -> ApiResult<(Envelope, Map<String, Value>)> {
    let mut map = without_read_only(body)?;
    let envelope = Envelope {
        kind: take_string(&mut map, "type")?,
        name: take_string(&mut map, "name")?,
        enable: match map.remove("enable") {
            None => None,
            Some(Value::Bool(b)) => Some(b),
            Some(_) => return Err(ApiError::invalid("enable", "must be true or false")),
        },
        description: take_string(&mut map, "description")?,
    };
    Ok((envelope, map))
}

fn take_string(map: &mut Map<String, Value>, field: &str) -> ApiResult<Option<String>> {
    match map.remove(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(field, "must be a string")),
    }
}

/// Decodes a typed body; a rejected value is reported with its path (`parameters.buffer.mode`).
pub fn decode<T: DeserializeOwned>(value: Value) -> ApiResult<T> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let reason = err.inner().to_string();
        let parent = err.path().to_string();
        // A missing field is reported at its parent's path: name the field itself.
        let missing = reason
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name);
        let field = match (parent.as_str(), missing) {
            (".", Some(name)) => name.to_owned(),
            (".", None) => "body".to_owned(),
            (parent, Some(name)) => format!("{parent}.{name}"),
            (parent, None) => parent.to_owned(),
        };
        ApiError::Invalid(vec![FieldError::new(field, reason)])
    })
}

/// Validation results of a nested part, reported under `parent` (`parameters.topic`).
pub fn within(parent: &str, errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| {
            if parent.is_empty() {
                e
            } else {
                e.within(parent)
            }
        })
        .collect()
}

/// Fails with every collected field error, if any.
pub fn reject_if_any(errors: Vec<FieldError>) -> ApiResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// On updates the path names the resource; a body that names another one is a mistake.
pub fn check_same(field: &str, given: Option<&str>, expected: &str) -> ApiResult<()> {
    match given {
        Some(value) if value != expected => Err(ApiError::invalid(
            field,
            format!("`{value}` differs from `{expected}` in the path; {field} cannot be changed"),
        )),
        _ => Ok(()),
    }
}
