//! The columns an event exposes to rule SQL, resolved by name when a rule is compiled.

use crate::event::{Event, KafkaRecord, MessagePublish};
use crate::value::{Key, Map, MapHasher, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    // shared
    Topic,
    Timestamp,
    Node,
    Event,
    // message.publish
    Id,
    ClientId,
    Username,
    Payload,
    PeerHost,
    Qos,
    Flags,
    PubProps,
    PublishReceivedAt,
    ClientAttrs,
    // Kafka consumer
    KafkaValue,
    KafkaKey,
    Headers,
    Offset,
    Ts,
    TsType,
}

/// `message.publish` columns, in the order `SELECT *` lists them.
const MESSAGE_COLUMNS: &[(&str, Column)] = &[
    ("id", Column::Id),
    ("clientid", Column::ClientId),
    ("username", Column::Username),
    ("payload", Column::Payload),
    ("peerhost", Column::PeerHost),
    ("topic", Column::Topic),
    ("qos", Column::Qos),
    ("flags", Column::Flags),
    ("pub_props", Column::PubProps),
    ("publish_received_at", Column::PublishReceivedAt),
    ("client_attrs", Column::ClientAttrs),
    ("timestamp", Column::Timestamp),
    ("node", Column::Node),
    ("event", Column::Event),
];

/// Kafka consumer columns, in the order `SELECT *` lists them.
const KAFKA_COLUMNS: &[(&str, Column)] = &[
    ("value", Column::KafkaValue),
    ("ts_type", Column::TsType),
    ("ts", Column::Ts),
    ("topic", Column::Topic),
    ("offset", Column::Offset),
    ("key", Column::KafkaKey),
    ("headers", Column::Headers),
    ("timestamp", Column::Timestamp),
    ("node", Column::Node),
    ("event", Column::Event),
];

impl Column {
    pub(crate) fn from_name(name: &str) -> Option<Column> {
        MESSAGE_COLUMNS
            .iter()
            .chain(KAFKA_COLUMNS)
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }
}

pub(crate) fn columns_of(event: &Event) -> &'static [(&'static str, Column)] {
    match event {
        Event::MessagePublish(_) => MESSAGE_COLUMNS,
        Event::KafkaRecord(_) => KAFKA_COLUMNS,
    }
}

/// The value of a column; `undefined` when the event has no such column.
pub(crate) fn column_value(event: &Event, column: Column) -> Value {
    match event {
        Event::MessagePublish(m) => message_column(m, column),
        Event::KafkaRecord(k) => kafka_column(k, column),
    }
}

fn message_column(m: &MessagePublish, column: Column) -> Value {
    match column {
        Column::Id => Value::Str(m.id.to_string()),
        Column::ClientId => Value::Str(m.clientid.clone()),
        Column::Username => m.username.clone().map_or(Value::Undefined, Value::Str),
        Column::Payload => Value::from_bytes(m.payload.to_vec()),
        Column::PeerHost => m.peerhost.clone().map_or(Value::Undefined, Value::Str),
        Column::Topic => Value::Str(m.topic.clone()),
        Column::Qos => Value::Int(i64::from(m.qos)),
        Column::Flags => {
            let mut flags = Map::with_capacity_and_hasher(2, MapHasher::default());
            flags.insert("dup".into(), Value::Bool(m.dup));
            flags.insert("retain".into(), Value::Bool(m.retain));
            Value::Map(flags)
        }
        Column::PubProps => Value::Map(pub_props(&m.user_properties)),
        Column::PublishReceivedAt | Column::Timestamp => Value::Int(m.publish_received_at),
        Column::ClientAttrs => Value::Map(Map::default()),
        Column::Node => Value::Str(m.node.to_string()),
        Column::Event => Value::Str("message.publish".into()),
        _ => Value::Undefined,
    }
}

/// EMQX exposes user properties both as a map (last value wins) and as ordered pairs.
pub(crate) fn pub_props(user_properties: &[(String, String)]) -> Map {
    let mut props = Map::default();
    if user_properties.is_empty() {
        return props;
    }
    let map = user_properties
        .iter()
        .map(|(k, v)| (Key::new(k), Value::Str(v.clone())))
        .collect();
    let pairs = user_properties
        .iter()
        .map(|(k, v)| {
            let mut pair = Map::with_capacity_and_hasher(2, MapHasher::default());
            pair.insert("key".into(), Value::Str(k.clone()));
            pair.insert("value".into(), Value::Str(v.clone()));
            Value::Map(pair)
        })
        .collect();
    props.insert("User-Property".into(), Value::Map(map));
    props.insert("User-Property-Pairs".into(), Value::List(pairs));
    props
}

fn kafka_column(k: &KafkaRecord, column: Column) -> Value {
    match column {
        Column::KafkaValue => Value::Str(k.value.clone()),
        Column::KafkaKey => k.key.clone().map_or(Value::Undefined, Value::Str),
        Column::Headers => Value::Map(
            k.headers
                .iter()
                .map(|(h, v)| (Key::new(h), Value::Str(v.clone())))
                .collect(),
        ),
        Column::Offset => Value::Int(k.offset),
        Column::Topic => Value::Str(k.topic.to_string()),
        Column::Ts => k.ts.map_or(Value::Undefined, Value::Int),
        Column::TsType => Value::Str(k.ts_type.as_str().into()),
        Column::Timestamp => Value::Int(k.ts.unwrap_or_else(crate::event::now_ms)),
        Column::Node => Value::Str(k.node.to_string()),
        Column::Event => Value::Str(format!("$bridges/kafka_consumer:{}", k.source)),
        _ => Value::Undefined,
    }
}
