//! A rule's output row, and the borrowed view of a row that templates render against.
//!
//! A `SELECT *` row is the event itself (see [`star`]), so evaluating such a rule copies nothing;
//! consumers see the same JSON object either way: templates look fields up in place, and
//! `to_json`/`Serialize` give exactly the object a built row would be.

mod built;
mod field;
mod star;

use std::borrow::Cow;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::event::{Event, KafkaRecord};
use crate::value::Map;

pub(crate) use built::{MapAsJson, map_to_json, to_json, write_map_as_json, write_value_as_json};
pub(crate) use field::Field;
pub(crate) use star::StarRow;

/// One output row of a rule: a JSON object.
///
/// `'e` is the event the rule was applied to: a `SELECT *` row reads the event in place instead
/// of copying it. [`Row::into_owned`] (or [`Row::into_json`]) gives a row that outlives it.
#[derive(Debug, Clone)]
pub struct Row<'e>(Repr<'e>);

#[derive(Debug, Clone)]
enum Repr<'e> {
    /// Given as JSON (FOREACH rows, rows from callers).
    Json(Value),
    /// Built by evaluating the rule's fields, in the evaluator's values (see [`built`]).
    Built(Map),
    /// `SELECT *`: the event's columns.
    Star(StarRow<'e>),
}

impl<'e> Row<'e> {
    /// The `SELECT *` row of an event.
    pub(crate) fn star(event: &'e Event) -> Self {
        Row(Repr::Star(StarRow::new(event)))
    }

    /// A row the evaluator built.
    pub(crate) fn built(map: Map) -> Row<'static> {
        Row(Repr::Built(map))
    }

    /// The row as JSON, built if the row is a view of its event.
    pub fn to_json(&self) -> Value {
        self.as_json().into_owned()
    }

    /// The row as JSON, built if the row is a view of its event.
    pub fn into_json(self) -> Value {
        match self.0 {
            Repr::Json(value) => value,
            Repr::Built(map) => Value::Object(crate::value::map_into_json(map)),
            Repr::Star(star) => star.to_json(),
        }
    }

    /// A row that no longer borrows the event (a view of the event becomes built JSON).
    pub fn into_owned(self) -> Row<'static> {
        match self.0 {
            Repr::Built(map) => Row(Repr::Built(map)),
            other => Row(Repr::Json(Row(other).into_json())),
        }
    }

    fn as_json(&self) -> Cow<'_, Value> {
        match &self.0 {
            Repr::Json(value) => Cow::Borrowed(value),
            Repr::Built(map) => Cow::Owned(map_to_json(map)),
            Repr::Star(star) => Cow::Owned(star.to_json()),
        }
    }
}

impl From<Value> for Row<'static> {
    fn from(value: Value) -> Self {
        Row(Repr::Json(value))
    }
}

/// Rows are equal when their JSON is, however each is held.
impl PartialEq for Row<'_> {
    fn eq(&self, other: &Row<'_>) -> bool {
        self.as_json() == other.as_json()
    }
}

impl PartialEq<Value> for Row<'_> {
    fn eq(&self, other: &Value) -> bool {
        *self.as_json() == *other
    }
}

/// Serialises as the JSON object the row stands for, without building it first.
impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Json(value) => value.serialize(serializer),
            Repr::Built(map) => MapAsJson(map).serialize(serializer),
            Repr::Star(star) => star.serialize(serializer),
        }
    }
}

/// What a template renders against: a JSON value or a rule's [`Row`], borrowed.
///
/// Template methods take `impl Into<RowRef>`, so both `&Value` and `&Row` can be passed as is.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a>(RefRepr<'a>);

#[derive(Debug, Clone, Copy)]
pub(crate) enum RefRepr<'a> {
    Json(&'a Value),
    Built(&'a Map),
    Star(StarRow<'a>),
    /// A Kafka record in the shape of [`KafkaRecord::to_json`], read in place.
    Record(&'a KafkaRecord),
}

impl<'a> RowRef<'a> {
    pub(crate) fn repr(self) -> RefRepr<'a> {
        self.0
    }
}

impl<'a> From<&'a Value> for RowRef<'a> {
    fn from(value: &'a Value) -> Self {
        RowRef(RefRepr::Json(value))
    }
}

/// A Kafka record as a source's topic mapping renders it: the object of
/// [`KafkaRecord::to_json`] (`value`, `ts_type`, `ts`, `topic`, `offset`, `key`, `headers`),
/// looked up in the record itself rather than built for every record.
impl<'a> From<&'a KafkaRecord> for RowRef<'a> {
    fn from(record: &'a KafkaRecord) -> Self {
        RowRef(RefRepr::Record(record))
    }
}

impl<'a> From<&'a Row<'_>> for RowRef<'a> {
    fn from(row: &'a Row<'_>) -> Self {
        RowRef(match &row.0 {
            Repr::Json(value) => RefRepr::Json(value),
            Repr::Built(map) => RefRepr::Built(map),
            Repr::Star(star) => RefRepr::Star(*star),
        })
    }
}
