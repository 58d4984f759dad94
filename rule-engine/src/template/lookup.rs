//! Placeholder paths into a row, and how the value found is written.
//!
//! A JSON row and a `SELECT *` row (a view of the event) must render identically;
//! `tests/select_star.rs` checks paths of `SELECT *` rows against the same paths in their JSON.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

use crate::event::KafkaRecord;
use crate::row::{Field, RefRepr, RowRef, StarRow, write_map_as_json, write_value_as_json};
use crate::value::{Map, Value as Evaluated};

/// Writes the value at `path` (empty: the whole row); false when the row has nothing there.
pub(super) fn write_at(row: RowRef<'_>, path: &[String], out: &mut String) -> bool {
    // JSON rows keep a path of their own: going through `Field` cost the template benchmark
    // ~7% more instructions.
    match row.repr() {
        RefRepr::Json(value) => lookup_json(value, path).map(|found| write_value(&found, out)),
        RefRepr::Built(map) => lookup_built(map, path).map(|found| write_built(&found, out)),
        RefRepr::Star(star) => lookup_star(star, path).map(|found| write_field(&found, out)),
        RefRepr::Record(record) => {
            lookup_record(record, path).map(|found| write_field(&found, out))
        }
    }
    .is_some()
}

/// The value at `path` as JSON, `None` when the row has nothing there.
pub(super) fn value_at(row: RowRef<'_>, path: &[String]) -> Option<Value> {
    match row.repr() {
        RefRepr::Json(value) => lookup_json(value, path).map(Cow::into_owned),
        RefRepr::Built(map) => lookup_built(map, path).map(Built::into_json),
        RefRepr::Star(star) => lookup_star(star, path).map(Field::into_json),
        RefRepr::Record(record) => lookup_record(record, path).map(Field::into_json),
    }
}

/// The same lookup as [`lookup_json`] on [`KafkaRecord::to_json`]: an absent key or timestamp
/// is `null` there, so it is found, as `null`.
fn lookup_record<'a>(record: &'a KafkaRecord, path: &[String]) -> Option<Field<'a>> {
    let Some((first, rest)) = path.split_first() else {
        return Some(Field::Json(Cow::Owned(record.to_json())));
    };
    let null = || Field::Json(Cow::Owned(Value::Null));
    let field = match first.as_str() {
        "value" => Field::Text(Cow::Borrowed(&record.value)),
        "ts_type" => Field::Text(Cow::Borrowed(record.ts_type.as_str())),
        "ts" => record.ts.map_or_else(null, Field::Int),
        "topic" => Field::Text(Cow::Borrowed(&record.topic)),
        "offset" => Field::Int(record.offset),
        "key" => record
            .key
            .as_deref()
            .map_or_else(null, |key| Field::Text(Cow::Borrowed(key))),
        "headers" => Field::Json(Cow::Owned(record.headers_json())),
        _ => return None,
    };
    within(field, rest)
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

/// What a path into a row the evaluator built found.
enum Built<'a> {
    /// The whole row (an empty path).
    Row(&'a Map),
    Value(&'a Evaluated),
    /// A value inside a string that held JSON, decoded for the path.
    Decoded(Value),
}

impl Built<'_> {
    fn into_json(self) -> Value {
        match self {
            Built::Decoded(value) => value,
            found => found.to_json(),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Built::Row(map) => crate::row::map_to_json(map),
            Built::Value(value) => crate::row::to_json(value),
            Built::Decoded(value) => value.clone(),
        }
    }
}

/// The same lookup as [`lookup_json`] on the row's JSON: `undefined` is not there (JSON drops
/// it), a binary reads as the string it converts to.
fn lookup_built<'a>(row: &'a Map, path: &[String]) -> Option<Built<'a>> {
    let Some((first, rest)) = path.split_first() else {
        return Some(Built::Row(row));
    };
    let mut current = row.get(first.as_str())?;
    for (i, key) in rest.iter().enumerate() {
        current = match current {
            Evaluated::Map(map) => map.get(key.as_str())?,
            Evaluated::Str(text) => return decoded(text, rest.get(i..)?).map(Built::Decoded),
            Evaluated::Bin(bytes) => {
                return decoded(&String::from_utf8_lossy(bytes), rest.get(i..)?)
                    .map(Built::Decoded);
            }
            _ => return None,
        };
    }
    match current {
        Evaluated::Undefined => None,
        found => Some(Built::Value(found)),
    }
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

/// Strings render raw, everything else as JSON, as [`write_value`] renders the converted row.
fn write_built(found: &Built<'_>, out: &mut String) {
    match found {
        Built::Row(map) => write_map_as_json(map, out),
        Built::Value(Evaluated::Str(s)) => out.push_str(s),
        Built::Value(Evaluated::Bin(bytes)) => out.push_str(&String::from_utf8_lossy(bytes)),
        Built::Value(value) => write_value_as_json(value, out),
        Built::Decoded(value) => write_value(value, out),
    }
}

/// Appends `value` serialised as JSON; `fallback` renders it if that fails (not expected:
/// serde_json writes UTF-8 and a `Vec` does not fail).
///
/// While `out` is short it is serialised into in place, and its bytes are checked as UTF-8 once
/// afterwards: a buffer of its own was one more allocation and copy per rendered record. Past
/// [`IN_PLACE_MAX`] the whole of `out` would be checked again for every placeholder, so a buffer
/// of its own is used.
fn write_serialised(
    value: &impl serde::Serialize,
    out: &mut String,
    fallback: impl FnOnce() -> String,
) {
    if out.len() > IN_PLACE_MAX {
        let mut bytes = Vec::with_capacity(256);
        let serialised = serde_json::to_writer(&mut bytes, value)
            .ok()
            .and_then(|()| std::str::from_utf8(&bytes).ok());
        match serialised {
            Some(text) => out.push_str(text),
            None => out.push_str(&fallback()),
        }
        return;
    }
    let mut bytes = std::mem::take(out).into_bytes();
    let start = bytes.len();
    let written = serde_json::to_writer(&mut bytes, value).is_ok();
    match String::from_utf8(bytes) {
        Ok(text) if written => *out = text,
        Ok(text) => {
            *out = text;
            out.truncate(start);
            out.push_str(&fallback());
        }
        Err(error) => {
            let mut bytes = error.into_bytes();
            bytes.truncate(start);
            // What `out` held before is text, so this cannot fail.
            *out = String::from_utf8(bytes).unwrap_or_default();
            out.push_str(&fallback());
        }
    }
}

/// How long a rendered string may be for [`write_serialised`] to write into it in place.
const IN_PLACE_MAX: usize = 4096;

/// Serialises the value itself, so `${.}` of a `SELECT *` row never builds the row. Into bytes
/// first: an `io::Write` adapter over `out` would check UTF-8 on each of the hundreds of
/// fragments serde_json writes; this checks them once.
fn write_json(field: &Field<'_>, out: &mut String) {
    write_serialised(field, out, || field.clone().into_json().to_string());
}
