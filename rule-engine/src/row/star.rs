//! `SELECT *` without WHERE: the row is the event's columns, read in place.
//!
//! Building the row as a `serde_json::Value` costs ~40 allocations per message (owned keys,
//! owned strings, nested maps); a view costs none, and each consumer reads only what it needs.
//! The one value that is not a pure function of the event, a Kafka record's `timestamp` when
//! the record has none (it is "now"), is taken once when the row is made, as a built row would.

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::Field;
use crate::columns::{Column, columns_of, pub_props};
use crate::event::{Event, KafkaRecord, MessagePublish};
use crate::value::map_into_json;

/// The `SELECT *` row of one event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StarRow<'e> {
    event: &'e Event,
    /// The `timestamp` column, fixed when the row was made.
    timestamp: i64,
}

impl<'e> StarRow<'e> {
    pub(crate) fn new(event: &'e Event) -> Self {
        let timestamp = match event {
            Event::MessagePublish(m) => m.publish_received_at,
            Event::KafkaRecord(k) => k.ts.unwrap_or_else(crate::event::now_ms),
        };
        StarRow { event, timestamp }
    }

    /// The value of a top-level key, `None` when the row has no such key.
    pub(crate) fn get(self, name: &str) -> Option<Field<'e>> {
        let (_, column) = columns_of(self.event).iter().find(|(n, _)| *n == name)?;
        self.field(*column)
    }

    /// The row's keys and values, in the order EMQX lists them, without absent columns.
    fn fields(self) -> impl Iterator<Item = (&'static str, Field<'e>)> {
        columns_of(self.event)
            .iter()
            .filter_map(move |(name, column)| Some((*name, self.field(*column)?)))
    }

    pub(crate) fn to_json(self) -> Value {
        let mut row = Map::with_capacity(columns_of(self.event).len());
        for (name, field) in self.fields() {
            row.insert(name.to_owned(), field.into_json());
        }
        Value::Object(row)
    }

    fn field(self, column: Column) -> Option<Field<'e>> {
        match self.event {
            Event::MessagePublish(m) => message_field(m, column, self.timestamp),
            Event::KafkaRecord(k) => kafka_field(k, column, self.timestamp),
        }
    }
}

impl Serialize for StarRow<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, field) in self.fields() {
            map.serialize_entry(name, &field)?;
        }
        map.end()
    }
}

fn text(s: &str) -> Option<Field<'_>> {
    Some(Field::Text(Cow::Borrowed(s)))
}

fn message_field(m: &MessagePublish, column: Column, timestamp: i64) -> Option<Field<'_>> {
    match column {
        Column::Id => Some(Field::Text(m.id.as_text())),
        Column::ClientId => text(&m.clientid),
        Column::Username => text(m.username.as_deref()?),
        Column::Payload => Some(Field::Text(payload_text(&m.payload))),
        Column::PeerHost => text(m.peerhost.as_deref()?),
        Column::Topic => text(&m.topic),
        Column::Qos => Some(Field::Int(i64::from(m.qos))),
        Column::Flags => Some(Field::Flags {
            dup: m.dup,
            retain: m.retain,
        }),
        Column::PubProps => Some(Field::Json(Cow::Owned(Value::Object(map_into_json(
            pub_props(&m.user_properties),
        ))))),
        Column::PublishReceivedAt => Some(Field::Int(m.publish_received_at)),
        Column::ClientAttrs => Some(Field::Json(Cow::Owned(Value::Object(Map::new())))),
        Column::Timestamp => Some(Field::Int(timestamp)),
        Column::Node => text(&m.node),
        Column::Event => text("message.publish"),
        _ => None,
    }
}

/// Binaries that are not UTF-8 become lossy text in a row (a README deviation). The strict
/// check first: it is several times faster than `from_utf8_lossy` on the valid text most
/// payloads are, and `${.}` reads the payload on every message.
fn payload_text(payload: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(payload) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(payload),
    }
}

fn kafka_field(k: &KafkaRecord, column: Column, timestamp: i64) -> Option<Field<'_>> {
    match column {
        Column::KafkaValue => text(&k.value),
        Column::TsType => text(k.ts_type.as_str()),
        Column::Ts => Some(Field::Int(k.ts?)),
        Column::Topic => text(&k.topic),
        Column::Offset => Some(Field::Int(k.offset)),
        Column::KafkaKey => text(k.key.as_deref()?),
        Column::Headers => Some(Field::Json(Cow::Owned(k.headers_json()))),
        Column::Timestamp => Some(Field::Int(timestamp)),
        Column::Node => text(&k.node),
        Column::Event => Some(Field::Text(Cow::Owned(format!(
            "$bridges/kafka_consumer:{}",
            k.source
        )))),
        _ => None,
    }
}
