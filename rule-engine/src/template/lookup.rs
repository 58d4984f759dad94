//! Placeholder paths into a row, and how the value found is written.
//!
//! A JSON row and a `SELECT *` row (a view of the event) must render identically;
//! `tests/select_star.rs` checks paths of `SELECT *` rows against the same paths in their JSON.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

use crate::row::{Field, RefRepr, RowRef, StarRow};

/// Writes the value at `path` (empty: the whole row); false when the row has nothing there.
pub(super) fn write_at(row: RowRef<'_>, path: &[String], out: &mut String) -> bool {
    // JSON rows keep a path of their own: going through `Field` cost the template benchmark
    // ~7% more instructions.
    match row.repr() {
        RefRepr::Json(value) => lookup_json(value, path).map(|found| write_value(&found, out)),
        RefRepr::Star(star) => lookup_star(star, path).map(|found| write_field(&found, out)),
    }
    .is_some()
}

/// The value at `path` as JSON, `None` when the row has nothing there.
pub(super) fn value_at(row: RowRef<'_>, path: &[String]) -> Option<Value> {
    match row.repr() {
        RefRepr::Json(value) => lookup_json(value, path).map(Cow::into_owned),
        RefRepr::Star(star) => lookup_star(star, path).map(Field::into_json),
    }
}

fn lookup_star<'a>(star: StarRow<'a>, path: &[String]) -> Option<Field<'a>> {
    match path.split_first() {
        None => Some(Field::Star(star)),
        Some((first, rest)) => within(star.get(first)?, rest),
    }
}

/// Goes down the rest of a path from a row's top-level value.
fn within<'a>(field: Field<'a>, path: &[String]) -> Option<Field<'a>> {
    if path.is_empty() {
        return Some(field);
    }
    match field {
        Field::Text(text) => decoded(&text, path).map(|value| Field::Json(Cow::Owned(value))),
        Field::Flags { dup, retain } => match path {
            [key] if key == "dup" => Some(Field::Bool(dup)),
            [key] if key == "retain" => Some(Field::Bool(retain)),
            _ => None,
        },
        Field::Json(Cow::Borrowed(value)) => lookup_json(value, path).map(Field::Json),
        Field::Json(Cow::Owned(value)) => {
            lookup_json(&value, path).map(|found| Field::Json(Cow::Owned(found.into_owned())))
        }
        Field::Int(_) | Field::Bool(_) | Field::Star(_) => None,
    }
}

// `inline`: the path every JSON row takes; as a call of its own it cost the template benchmark
// ~2% more instructions.
#[inline]
fn lookup_json<'v>(row: &'v Value, path: &[String]) -> Option<Cow<'v, Value>> {
    let mut current = row;
    for (i, key) in path.iter().enumerate() {
        current = match current {
            Value::Object(map) => map.get(key)?,
            Value::String(text) => return decoded(text, path.get(i..)?).map(Cow::Owned),
            _ => return None,
        };
    }
    Some(Cow::Borrowed(current))
}

/// A path that goes inside a string reads the string as JSON (quietly nothing if it is not).
fn decoded(text: &str, path: &[String]) -> Option<Value> {
    let decoded: Value = serde_json::from_str(text).ok()?;
    lookup_json(&decoded, path).map(Cow::into_owned)
}

/// Strings render raw, everything else as JSON.
fn write_field(field: &Field<'_>, out: &mut String) {
    match field {
        Field::Text(text) => out.push_str(text),
        Field::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Field::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Field::Json(value) => write_value(value, out),
        Field::Flags { .. } | Field::Star(_) => write_json(field, out),
    }
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        // Through bytes as `write_json` does: `Display` goes through `fmt` for every fragment,
        // which cost a rendered record more instructions than parsing its payload (callgrind,
        // data-plane/benches/hot_path.rs).
        other => write_serialised(other, out, || other.to_string()),
    }
}

/// Appends `value` serialised as JSON; `fallback` renders it if that fails (not expected:
/// serde_json writes UTF-8 and a `Vec` does not fail).
fn write_serialised(
    value: &impl serde::Serialize,
    out: &mut String,
    fallback: impl FnOnce() -> String,
) {
    let mut bytes = Vec::with_capacity(256);
    let serialised = serde_json::to_writer(&mut bytes, value)
        .ok()
        .and_then(|()| std::str::from_utf8(&bytes).ok());
    match serialised {
        Some(text) => out.push_str(text),
        None => out.push_str(&fallback()),
    }
}

/// Serialises the value itself, so `${.}` of a `SELECT *` row never builds the row. Into bytes
/// first: an `io::Write` adapter over `out` would check UTF-8 on each of the hundreds of
/// fragments serde_json writes; this checks them once.
fn write_json(field: &Field<'_>, out: &mut String) {
    write_serialised(field, out, || field.clone().into_json().to_string());
}
