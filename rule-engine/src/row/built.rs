//! A row built by evaluating a rule's fields, kept in the evaluator's own values.
//!
//! Converting every row to `serde_json::Value`, only for the record's templates to serialise it
//! again, was 13 % of a message's instructions (callgrind, data-plane/benches/hot_path.rs). A
//! built row is looked up and serialised in place instead, and converted only when a caller asks
//! for JSON. Whatever a consumer does, the result is exactly what the converted row gives
//! (`tests/built_rows.rs`): `undefined` is dropped from maps and `null` in lists, binaries that
//! are not UTF-8 read lossily, and non-finite floats are `null`, as in `Value::into_json`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::value::plain_text::plain_len;
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

/// Appends the JSON [`AsJson`] serialises `value` to, byte for byte, written directly: through
/// serde_json's serialiser a rendered `${.}` of four members cost 1,255 instructions, 43 % of
/// them escaping strings that needed none, against 1,159 this way (callgrind,
/// data-plane/benches/hot_path.rs).
pub(crate) fn write_value_as_json(value: &Value, out: &mut String) {
    match value {
        Value::Undefined | Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // The crates and calls serde_json formats numbers with.
        Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Value::Float(f) if f.is_finite() => out.push_str(zmij::Buffer::new().format_finite(*f)),
        Value::Float(_) => out.push_str("null"),
        Value::Str(text) => write_json_str(text, out),
        Value::Bin(bytes) => write_json_str(&String::from_utf8_lossy(bytes), out),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value_as_json(item, out);
            }
            out.push(']');
        }
        Value::Map(map) => write_map_as_json(map, out),
    }
}

/// Appends the JSON object [`MapAsJson`] serialises `map` to: its `undefined` members left out.
pub(crate) fn write_map_as_json(map: &Map, out: &mut String) {
    out.push('{');
    let mut members = map.iter().filter(|(_, v)| !matches!(v, Value::Undefined));
    if let Some((key, value)) = members.next() {
        write_member(key.as_str(), value, out);
        for (key, value) in members {
            out.push(',');
            write_member(key.as_str(), value, out);
        }
    }
    out.push('}');
}

fn write_member(key: &str, value: &Value, out: &mut String) {
    write_json_str(key, out);
    out.push(':');
    write_value_as_json(value, out);
}

/// A string as serde_json writes it: as it is between quotes when nothing in it needs escaping,
/// else escaped by serde_json itself.
fn write_json_str(text: &str, out: &mut String) {
    if plain_len(text.as_bytes()) == text.len() {
        out.reserve(text.len() + 2);
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else if let Ok(escaped) = serde_json::to_string(text) {
        out.push_str(&escaped);
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::value::Key;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Undefined),
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_map(Value::Float),
            prop_oneof![
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(-0.0),
                Just(1e21),
                Just(5e-324)
            ]
            .prop_map(Value::Float),
            "[a-z\"\\\\\u{0}-\u{1f}\u{7f}\u{e9}\u{1f600}]{0,12}".prop_map(Value::Str),
            prop::collection::vec(any::<u8>(), 0..6).prop_map(Value::Bin),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                prop::collection::vec(("[a-z\"\u{1}]{0,4}", inner), 0..4).prop_map(|members| {
                    Value::Map(members.into_iter().map(|(k, v)| (Key::new(k), v)).collect())
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]

        #[test]
        fn writes_what_serde_json_serialises(value in value()) {
            let mut written = String::from("prefix ");
            write_value_as_json(&value, &mut written);
            let serialised = serde_json::to_string(&AsJson(&value)).unwrap_or_default();
            prop_assert_eq!(written, format!("prefix {serialised}"));
        }
    }
}
