//! The evaluator's value type.
//!
//! EMQX values are Erlang terms, which distinguish things JSON cannot: a missing value
//! (`undefined`) from JSON `null`, and text from arbitrary binaries (a gzip result, a
//! base64-decoded blob). Evaluating over our own type keeps those distinctions until the
//! row is handed out as JSON.

use std::fmt;

mod kept_members;
pub(crate) mod plain_text;

use indexmap::IndexMap;
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

pub(crate) type Map = IndexMap<Key, Value, MapHasher>;

/// A map's key. Rules build maps on every message (the decoded payload, the output row), from
/// keys that are mostly short: a `SmolStr` keeps up to 23 bytes inline and shares longer ones,
/// so neither taking a key from the payload nor copying a column name from the rule allocates.
pub(crate) type Key = smol_str::SmolStr;

/// The hasher of the evaluator's maps. Every JSON payload a rule decodes fills one, so the hash
/// is on every message's path: SipHash (std's default) was a tenth of the instructions of a
/// message (callgrind, data-plane/benches/hot_path.rs). foldhash is what hashbrown uses by
/// default, much cheaper on short keys, and seeded per process, so devices choosing payload keys
/// cannot aim collisions at a known seed.
pub(crate) type MapHasher = foldhash::fast::RandomState;

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Value {
    /// A missing value (Erlang `undefined`): never written into output rows.
    #[default]
    Undefined,
    /// JSON `null` (Erlang atom `null`).
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A binary that is valid UTF-8.
    Str(String),
    /// A binary that is not valid UTF-8.
    Bin(Vec<u8>),
    List(Vec<Value>),
    Map(Map),
}

impl Value {
    /// Wraps bytes as text when they are UTF-8, as a binary otherwise.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Value {
        match String::from_utf8(bytes) {
            Ok(s) => Value::Str(s),
            Err(e) => Value::Bin(e.into_bytes()),
        }
    }

    /// Parses a JSON document.
    pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Parses a JSON document but, when it is an object, materialises only the members
    /// named in `keys`; the others are still validated, then skipped. A rule that reads
    /// `payload.temp` thus never allocates the rest of the payload.
    pub(crate) fn parse_json_keeping(
        bytes: &[u8],
        keys: &[Key],
    ) -> Result<Value, serde_json::Error> {
        match kept_members::kept_members(bytes, keys) {
            Some(value) => Ok(value),
            None => Self::parse_json_keeping_with_serde(bytes, keys),
        }
    }

    /// [`parse_json_keeping`](Self::parse_json_keeping) by serde_json alone: for what the
    /// scanner leaves (anything but a plain object, and every invalid document, whose error
    /// serde_json words).
    fn parse_json_keeping_with_serde(
        bytes: &[u8],
        keys: &[Key],
    ) -> Result<Value, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let value = KeepKeys { keys }.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(value)
    }

    /// Parses a binary as JSON only when it looks like an object or array; used where EMQX
    /// writes into a string that holds JSON and starts afresh otherwise.
    pub(crate) fn decode_container(bytes: &[u8]) -> Option<Value> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
        if *first != b'{' && *first != b'[' {
            return None;
        }
        Value::parse_json(bytes).ok()
    }

    /// Parses a binary a path goes into, as EMQX's `general_find` does: `None` when it is not
    /// JSON (plain text, truncated JSON, non-UTF-8 bytes, nothing at all), so the path is
    /// undefined. A JSON string is kept, since EMQX decodes it again if the path goes on;
    /// numbers, booleans and `null` are skipped unparsed, as no path goes inside them.
    pub(crate) fn decode_for_path(bytes: &[u8]) -> Option<Value> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
        if !matches!(first, b'{' | b'[' | b'"') {
            return None;
        }
        Value::parse_json(bytes).ok()
    }

    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s.as_bytes()),
            Value::Bin(b) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn is_binary(&self) -> bool {
        matches!(self, Value::Str(_) | Value::Bin(_))
    }

    pub(crate) fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Float(_))
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Short type name for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Undefined => "undefined",
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) | Value::Bin(_) => "binary",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }

    /// Converts from a JSON value.
    #[cfg(test)]
    pub(crate) fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => number_from_json(n),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| (Key::new(k), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON. `undefined` becomes `null` inside lists and is dropped from maps,
    /// binaries that are not UTF-8 are converted lossily, and non-finite floats become `null`.
    pub(crate) fn into_json(self) -> serde_json::Value {
        match self {
            Value::Undefined | Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Int(i) => serde_json::Value::from(i),
            Value::Float(f) => serde_json::Number::from_f64(f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Str(s) => serde_json::Value::String(s),
            Value::Bin(b) => serde_json::Value::String(String::from_utf8_lossy(&b).into_owned()),
            Value::List(items) => {
                serde_json::Value::Array(items.into_iter().map(Value::into_json).collect())
            }
            Value::Map(map) => serde_json::Value::Object(map_into_json(map)),
        }
    }

    /// The value as bytes, the way EMQX's `str()` converts any term to a binary.
    pub(crate) fn to_bin(&self) -> Vec<u8> {
        match self {
            Value::Bin(b) => b.clone(),
            other => other.to_text().into_bytes(),
        }
    }

    /// The value as text, the way EMQX's `str()` converts any term (binaries lossily).
    pub(crate) fn to_text(&self) -> String {
        match self {
            Value::Undefined => "undefined".to_owned(),
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Str(s) => s.clone(),
            Value::Bin(b) => String::from_utf8_lossy(b).into_owned(),
            Value::List(_) | Value::Map(_) => self.to_json_string(),
        }
    }

    /// JSON text of the value, as `json_encode` and string conversion of maps/lists produce.
    pub(crate) fn to_json_string(&self) -> String {
        self.clone().into_json().to_string()
    }
}

/// Floats print with up to 10 decimals and no trailing zeros, keeping one (`2.0`, `0.1`),
/// like Erlang's `float_to_binary(F, [{decimals, 10}, compact])`.
pub(crate) fn format_float(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    let mut s = format!("{f:.10}");
    while s.ends_with('0') && !s.ends_with(".0") {
        s.pop();
    }
    s
}

pub(crate) fn map_into_json(map: Map) -> serde_json::Map<String, serde_json::Value> {
    map.into_iter()
        .filter(|(_, v)| !matches!(v, Value::Undefined))
        .map(|(k, v)| (k.into(), v.into_json()))
        .collect()
}

#[cfg(test)]
fn number_from_json(n: &serde_json::Number) -> Value {
    match n.as_i64() {
        Some(i) => Value::Int(i),
        None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Deserialises JSON straight into [`Value`], skipping `serde_json::Value` on the hot path.
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map =
            Map::with_capacity_and_hasher(access.size_hint().unwrap_or(0), MapHasher::default());
        while let Some(key) = access.next_key_seed(KeySeed)? {
            map.insert(key, access.next_value()?);
        }
        Ok(Value::Map(map))
    }
}

/// Top-level object filter for [`Value::parse_json_keeping`]; anything that is not an
/// object is parsed in full.
struct KeepKeys<'k> {
    keys: &'k [Key],
}

impl<'de> DeserializeSeed<'de> for KeepKeys<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeepKeys<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        ValueVisitor.visit_i64(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        ValueVisitor.visit_u64(v)
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        ValueVisitor.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::with_capacity_and_hasher(self.keys.len(), MapHasher::default());
        while let Some(key) = access.next_key_seed(WantedKey { keys: self.keys })? {
            match key {
                Some(key) => {
                    map.insert(key, access.next_value()?);
                }
                None => {
                    access.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Map(map))
    }
}

/// Reads an object key as a [`Key`]: one of up to 23 bytes is kept inline, unallocated.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key::new(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
        Ok(Key::from(v))
    }
}

/// Reads an object key without allocating: a kept key is shared with the rule's list.
struct WantedKey<'k> {
    keys: &'k [Key],
}

impl<'de> DeserializeSeed<'de> for WantedKey<'_> {
    type Value = Option<Key>;

    /// Asks for the key's bytes: compared with the wanted keys as they are, without checking
    /// first that every key is UTF-8 (a key that matches one is). Keys nobody wants are skipped
    /// unchecked, as their values already are.
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<Key>, D::Error> {
        deserializer.deserialize_bytes(self)
    }
}

impl WantedKey<'_> {
    fn wanted(&self, key: &[u8]) -> Option<Key> {
        self.keys.iter().find(|k| k.as_bytes() == key).cloned()
    }
}

impl<'de> Visitor<'de> for WantedKey<'_> {
    type Value = Option<Key>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Option<Key>, E> {
        Ok(self.wanted(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Key>, E> {
        Ok(self.wanted(v.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_json_into_values() {
        let v = Value::parse_json(br#"{"a":[1,2.5,"x",null,true],"b":{}}"#).unwrap();
        let Value::Map(m) = &v else {
            panic!("not a map")
        };
        assert_eq!(
            m.get("a"),
            Some(&Value::List(vec![
                Value::Int(1),
                Value::Float(2.5),
                Value::Str("x".into()),
                Value::Null,
                Value::Bool(true)
            ]))
        );
        assert_eq!(v.into_json(), json!({"a":[1,2.5,"x",null,true],"b":{}}));
    }

    #[test]
    fn object_keys_of_any_length_and_with_escapes_are_read() {
        let long = "a_key_longer_than_twenty_three_bytes";
        let json = format!(r#"{{"{long}":1,"t\u0065mp":2,"":3}}"#);
        let v = Value::parse_json(json.as_bytes()).unwrap();
        assert_eq!(v.into_json(), json!({long: 1, "temp": 2, "": 3}));
    }

    #[test]
    fn keeping_keys_skips_but_validates_the_rest() {
        let keys = [Key::new("temp")];
        let v = Value::parse_json_keeping(br#"{"hum":[1,{"x":2}],"temp":21.5,"s":"x"}"#, &keys)
            .unwrap();
        assert_eq!(v.into_json(), json!({"temp": 21.5}));
        assert!(Value::parse_json_keeping(br#"{"hum":[1,}"#, &keys).is_err());
        assert!(Value::parse_json_keeping(br#"{"temp":1} x"#, &keys).is_err());
        assert_eq!(
            Value::parse_json_keeping(b"[1]", &keys).unwrap(),
            Value::List(vec![Value::Int(1)])
        );
    }

    #[test]
    fn kept_keys_match_with_escapes_and_unwanted_keys_are_not_checked() {
        let keys = [Key::new("temp"), Key::new("é")];
        // `\u0065` is `e`, `\u00e9` is `é`: a key matches once its escapes are read.
        let v = Value::parse_json_keeping(br#"{"t\u0065mp":1,"\u00e9":2,"tem":3}"#, &keys).unwrap();
        assert_eq!(v.into_json(), json!({"temp": 1, "é": 2}));
        // A key nobody wants is skipped like a value nobody wants, its bytes unchecked.
        let mut payload = br#"{"temp":1,""#.to_vec();
        payload.extend_from_slice(&[0xff, 0xfe]);
        payload.extend_from_slice(br#"":2}"#);
        let v = Value::parse_json_keeping(&payload, &keys).unwrap();
        assert_eq!(v.into_json(), json!({"temp": 1}));
    }

    #[test]
    fn undefined_is_dropped_from_maps_and_null_in_lists() {
        let mut m = Map::default();
        m.insert("gone".into(), Value::Undefined);
        m.insert("l".into(), Value::List(vec![Value::Undefined]));
        assert_eq!(Value::Map(m).into_json(), json!({"l":[null]}));
    }

    #[test]
    fn float_text_is_compact() {
        assert_eq!(format_float(2.0), "2.0");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(1.5e3), "1500.0");
        assert_eq!(Value::Float(27.5).to_text(), "27.5");
    }

    #[test]
    fn bytes_are_text_only_when_utf8() {
        assert_eq!(Value::from_bytes(b"hi".to_vec()), Value::Str("hi".into()));
        assert_eq!(Value::from_bytes(vec![0xff]), Value::Bin(vec![0xff]));
    }

    #[test]
    fn decode_for_path_keeps_strings_and_skips_what_has_no_inside() {
        assert_eq!(
            Value::decode_for_path(br#" "{\"a\":1}""#),
            Some(Value::Str(r#"{"a":1}"#.into()))
        );
        assert!(Value::decode_for_path(b"42").is_none());
        assert!(Value::decode_for_path(b"not json").is_none());
        assert!(Value::decode_for_path(br#"{"a": 1"#).is_none());
        assert!(Value::decode_for_path(b"").is_none());
        assert!(Value::decode_for_path(&[0xff, 0xfe]).is_none());
        assert!(Value::decode_for_path(b"[1]").is_some());
    }

    #[test]
    fn decode_container_ignores_scalars_and_garbage() {
        assert!(Value::decode_container(b"12").is_none());
        assert!(Value::decode_container(b"{bad").is_none());
        assert!(Value::decode_container(b" [1]").is_some());
    }
}
