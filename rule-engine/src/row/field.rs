//! A value found in a row, borrowed where it can be, so that rendering `${clientid}` from a
//! `SELECT *` row copies nothing.

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::StarRow;

#[derive(Debug, Clone)]
pub(crate) enum Field<'a> {
    /// A JSON string.
    Text(Cow<'a, str>),
    Int(i64),
    Bool(bool),
    /// A message's `flags`, which the republish default `${flags.retain}` reads per message.
    Flags {
        dup: bool,
        retain: bool,
    },
    Json(Cow<'a, Value>),
    /// A whole `SELECT *` row (`${.}`).
    Star(StarRow<'a>),
}

impl Field<'_> {
    pub(crate) fn into_json(self) -> Value {
        match self {
            Field::Text(text) => Value::String(text.into_owned()),
            Field::Int(i) => Value::from(i),
            Field::Bool(b) => Value::Bool(b),
            Field::Flags { dup, retain } => {
                let mut flags = Map::with_capacity(2);
                flags.insert("dup".into(), Value::Bool(dup));
                flags.insert("retain".into(), Value::Bool(retain));
                Value::Object(flags)
            }
            Field::Json(value) => value.into_owned(),
            Field::Star(star) => star.to_json(),
        }
    }
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Text(text) => serializer.serialize_str(text),
            Field::Int(i) => serializer.serialize_i64(*i),
            Field::Bool(b) => serializer.serialize_bool(*b),
            Field::Flags { dup, retain } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("dup", dup)?;
                map.serialize_entry("retain", retain)?;
                map.end()
            }
            Field::Json(value) => value.serialize(serializer),
            Field::Star(star) => star.serialize(serializer),
        }
    }
}
