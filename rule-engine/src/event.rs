//! The events a rule is applied to, and how `/rule_test` contexts become events.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::ContextError;
use crate::message_id::MessageId;

/// One input to a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An MQTT message arriving on the broker (`message.publish`).
    MessagePublish(MessagePublish),
    /// A record read by a Kafka consumer source.
    KafkaRecord(KafkaRecord),
}

/// An MQTT PUBLISH as seen by the bridge.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagePublish {
    pub id: MessageId,
    pub clientid: String,
    pub username: Option<String>,
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub payload: Bytes,
    pub user_properties: Vec<(String, String)>,
    pub peerhost: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub publish_received_at: i64,
    /// The worker's name: one per worker, shared by its messages.
    pub node: Arc<str>,
}

/// How Kafka stamped a record's timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsType {
    Create,
    Append,
    Undefined,
}

impl TsType {
    /// The name EMQX uses in the `ts_type` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Append => "append",
            Self::Undefined => "undefined",
        }
    }
}

/// A Kafka record as exposed to rules. `key` and `value` are already encoded (plain or
/// base64) according to the source's encoding mode.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaRecord {
    /// The name of the consumer source that read the record.
    pub source: Arc<str>,
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: String,
    pub headers: Vec<(String, String)>,
    /// Milliseconds since the Unix epoch.
    pub ts: Option<i64>,
    pub ts_type: TsType,
    /// The worker's name: one per worker, shared by its records.
    pub node: Arc<str>,
}

impl KafkaRecord {
    /// The record in the shape EMQX documents for Kafka sources (and renders for `${.}`):
    /// `{"value","ts_type","ts","topic","offset","key","headers"}`.
    pub fn to_json(&self) -> Value {
        let mut map = Map::with_capacity(7);
        map.insert("value".into(), Value::String(self.value.clone()));
        map.insert("ts_type".into(), Value::from(self.ts_type.as_str()));
        map.insert("ts".into(), self.ts.map_or(Value::Null, Value::from));
        map.insert("topic".into(), Value::String(self.topic.to_string()));
        map.insert("offset".into(), Value::from(self.offset));
        map.insert(
            "key".into(),
            self.key.clone().map_or(Value::Null, Value::String),
        );
        map.insert("headers".into(), self.headers_json());
        Value::Object(map)
    }

    /// Headers as a JSON object; a repeated header keeps its last value.
    pub(crate) fn headers_json(&self) -> Value {
        Value::Object(
            self.headers
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    }
}

const DEFAULT_NODE: &str = "tributary@127.0.0.1";

impl Event {
    /// Builds an event from a `POST /rule_test` context.
    ///
    /// `event_type` selects the shape (`message_publish`, the default, or `kafka_consumer`);
    /// missing fields take the defaults EMQX's rule tester uses.
    pub fn from_test_context(ctx: &Value) -> Result<Event, ContextError> {
        let obj = ctx
            .as_object()
            .ok_or_else(|| ContextError::new("context", "must be a JSON object"))?;
        let event_type = match obj.get("event_type") {
            None | Some(Value::Null) => "message_publish",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(ContextError::new("event_type", "must be a string")),
        };
        match event_type {
            "message_publish" | "message.publish" => {
                message_from_context(obj).map(Event::MessagePublish)
            }
            "kafka_consumer" => kafka_from_context(obj).map(Event::KafkaRecord),
            other => Err(ContextError::new(
                "event_type",
                format!(
                    "unsupported event type `{other}` (expected message_publish or kafka_consumer)"
                ),
            )),
        }
    }

    /// The MQTT topic or the Kafka topic the event came from.
    pub fn topic(&self) -> &str {
        match self {
            Self::MessagePublish(m) => &m.topic,
            Self::KafkaRecord(k) => &k.topic,
        }
    }
}

fn message_from_context(obj: &Map<String, Value>) -> Result<MessagePublish, ContextError> {
    let qos = match opt_i64(obj, "qos")? {
        None => 1,
        Some(q @ 0..=2) => q as u8,
        Some(_) => return Err(ContextError::new("qos", "must be 0, 1 or 2")),
    };
    let flags = obj.get("flags").and_then(Value::as_object);
    let flag = |name: &str| -> Result<bool, ContextError> {
        match obj.get(name).or_else(|| flags.and_then(|f| f.get(name))) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ContextError::new(name, "must be a boolean")),
        }
    };
    let payload = match obj.get("payload") {
        None | Some(Value::Null) => Bytes::from_static(br#"{"msg": "hello"}"#),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        // Accept a JSON document too, as a convenience: it is what the payload would encode to.
        Some(other) => Bytes::from(other.to_string()),
    };
    Ok(MessagePublish {
        id: opt_str(obj, "id")?
            .unwrap_or_else(|| "0006A7A2CF6D0A8DF4430000A2C30002".into())
            .into(),
        clientid: opt_str(obj, "clientid")?.unwrap_or_else(|| "c_emqx".into()),
        username: match obj.get("username") {
            None => Some("u_emqx".into()),
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ContextError::new("username", "must be a string or null")),
        },
        topic: opt_str(obj, "topic")?.unwrap_or_else(|| "t/a".into()),
        qos,
        retain: flag("retain")?,
        dup: flag("dup")?,
        payload,
        user_properties: user_properties(obj)?,
        peerhost: opt_str(obj, "peerhost")?.or_else(|| Some("127.0.0.1".into())),
        publish_received_at: opt_i64(obj, "publish_received_at")?
            .or(opt_i64(obj, "timestamp")?)
            .unwrap_or_else(now_ms),
        node: opt_str(obj, "node")?
            .unwrap_or_else(|| DEFAULT_NODE.into())
            .into(),
    })
}

fn user_properties(obj: &Map<String, Value>) -> Result<Vec<(String, String)>, ContextError> {
    let Some(props) = obj.get("pub_props") else {
        return Ok(Vec::new());
    };
    let field = "pub_props.User-Property";
    match props.get("User-Property") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => Ok(map
            .iter()
            .map(|(k, v)| (k.clone(), scalar_to_string(v)))
            .collect()),
        Some(Value::Array(pairs)) => pairs
            .iter()
            .map(|pair| match pair {
                Value::Array(kv) => match kv.as_slice() {
                    [k, v] => Ok((scalar_to_string(k), scalar_to_string(v))),
                    _ => Err(ContextError::new(
                        field,
                        "pairs must be [key, value] or {key, value}",
                    )),
                },
                Value::Object(kv) => Ok((
                    kv.get("key").map(scalar_to_string).unwrap_or_default(),
                    kv.get("value").map(scalar_to_string).unwrap_or_default(),
                )),
                _ => Err(ContextError::new(
                    field,
                    "pairs must be [key, value] or {key, value}",
                )),
            })
            .collect(),
        Some(_) => Err(ContextError::new(field, "must be an object")),
    }
}

fn kafka_from_context(obj: &Map<String, Value>) -> Result<KafkaRecord, ContextError> {
    let headers = match obj.get("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (k.clone(), scalar_to_string(v)))
            .collect(),
        Some(_) => return Err(ContextError::new("headers", "must be an object")),
    };
    let ts_type = match opt_str(obj, "ts_type")?.as_deref() {
        None | Some("create") => TsType::Create,
        Some("append") => TsType::Append,
        Some("undefined") => TsType::Undefined,
        Some(_) => {
            return Err(ContextError::new(
                "ts_type",
                "must be create, append or undefined",
            ));
        }
    };
    let partition = match opt_i64(obj, "partition")? {
        None => 0,
        Some(p) => i32::try_from(p).map_err(|_| ContextError::new("partition", "out of range"))?,
    };
    Ok(KafkaRecord {
        source: opt_str(obj, "source")?.unwrap_or_default().into(),
        topic: opt_str(obj, "topic")?.unwrap_or_default().into(),
        partition,
        offset: opt_i64(obj, "offset")?.unwrap_or(0),
        key: match obj.get("key") {
            None | Some(Value::Null) => None,
            Some(v) => Some(scalar_to_string(v)),
        },
        value: obj.get("value").map(scalar_to_string).unwrap_or_default(),
        headers,
        ts: opt_i64(obj, "ts")?,
        ts_type,
        node: opt_str(obj, "node")?
            .unwrap_or_else(|| DEFAULT_NODE.into())
            .into(),
    })
}

fn opt_str(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, ContextError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ContextError::new(field, "must be a string")),
    }
}

fn opt_i64(obj: &Map<String, Value>, field: &str) -> Result<Option<i64>, ContextError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ContextError::new(field, "must be an integer")),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| ContextError::new(field, "must be an integer")),
        Some(_) => Err(ContextError::new(field, "must be an integer")),
    }
}

/// Strings stay as they are; anything else becomes its JSON text.
fn scalar_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
