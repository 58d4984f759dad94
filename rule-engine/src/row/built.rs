//! A row built by evaluating a rule's fields, kept in the evaluator's own values.
//!
//! Converting every row to `serde_json::Value`, only for the record's templates to serialise it
//! again, was 13 % of a message's instructions (callgrind, data-plane/benches/hot_path.rs). A
//! built row is looked up and serialised in place instead, and converted only when a caller asks
//! for JSON. Whatever a consumer does, the result is exactly what the converted row gives
//! (`tests/built_rows.rs`): `undefined` is dropped from maps and `null` in lists, binaries that
//! are not UTF-8 read lossily, and non-finite floats are `null`, as in `Value::into_json`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::value::{Map, Value};

/// Serialises an evaluator value as the JSON `Value::into_json` converts it to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AsJson<'a>(pub(crate) &'a Value);

/// Serialises a built row (or any evaluator map) as its JSON object.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MapAsJson<'a>(pub(crate) &'a Map);

impl Serialize for AsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Undefined | Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => serializer.serialize_f64(*f),
            Value::Float(_) => serializer.serialize_unit(),
            Value::Str(s) => serializer.serialize_str(s),
            Value::Bin(b) => serializer.serialize_str(&String::from_utf8_lossy(b)),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&AsJson(item))?;
                }
                seq.end()
            }
            Value::Map(map) => MapAsJson(map).serialize(serializer),
        }
    }
}

impl Serialize for MapAsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(None)?;
        for (key, value) in self.0 {
            if !matches!(value, Value::Undefined) {
                out.serialize_entry(key.as_str(), &AsJson(value))?;
            }
        }
        out.end()
    }
}

/// The JSON of a built row, by reference (the row stays usable).
pub(crate) fn map_to_json(map: &Map) -> serde_json::Value {
    serde_json::Value::Object(
        map.iter()
            .filter(|(_, v)| !matches!(v, Value::Undefined))
            .map(|(k, v)| (k.as_str().to_owned(), to_json(v)))
            .collect(),
    )
}

/// The JSON of one evaluator value, by reference.
pub(crate) fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Undefined | Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::Bin(b) => serde_json::Value::String(String::from_utf8_lossy(b).into_owned()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => map_to_json(map),
    }
}
