//! `SELECT *` without WHERE: the row is built straight from the event as JSON, with no
//! intermediate values and without touching the payload.

use serde_json::{Map, Value as Json};

use crate::columns::pub_props;
use crate::event::Event;
use crate::value::map_into_json;

pub(crate) fn select_star(event: &Event) -> Json {
    let mut row = Map::with_capacity(14);
    match event {
        Event::MessagePublish(m) => {
            row.insert("id".into(), Json::String(m.id.clone()));
            row.insert("clientid".into(), Json::String(m.clientid.clone()));
            if let Some(username) = &m.username {
                row.insert("username".into(), Json::String(username.clone()));
            }
            row.insert(
                "payload".into(),
                Json::String(String::from_utf8_lossy(&m.payload).into_owned()),
            );
            if let Some(peerhost) = &m.peerhost {
                row.insert("peerhost".into(), Json::String(peerhost.clone()));
            }
            row.insert("topic".into(), Json::String(m.topic.clone()));
            row.insert("qos".into(), Json::from(m.qos));
            let mut flags = Map::with_capacity(2);
            flags.insert("dup".into(), Json::Bool(m.dup));
            flags.insert("retain".into(), Json::Bool(m.retain));
            row.insert("flags".into(), Json::Object(flags));
            row.insert(
                "pub_props".into(),
                Json::Object(map_into_json(pub_props(&m.user_properties))),
            );
            row.insert(
                "publish_received_at".into(),
                Json::from(m.publish_received_at),
            );
            row.insert("client_attrs".into(), Json::Object(Map::new()));
            row.insert("timestamp".into(), Json::from(m.publish_received_at));
            row.insert("node".into(), Json::String(m.node.clone()));
            row.insert("event".into(), Json::String("message.publish".into()));
        }
        Event::KafkaRecord(k) => {
            row.insert("value".into(), Json::String(k.value.clone()));
            row.insert("ts_type".into(), Json::from(k.ts_type.as_str()));
            if let Some(ts) = k.ts {
                row.insert("ts".into(), Json::from(ts));
            }
            row.insert("topic".into(), Json::String(k.topic.clone()));
            row.insert("offset".into(), Json::from(k.offset));
            if let Some(key) = &k.key {
                row.insert("key".into(), Json::String(key.clone()));
            }
            row.insert("headers".into(), k.headers_json());
            row.insert(
                "timestamp".into(),
                Json::from(k.ts.unwrap_or_else(crate::event::now_ms)),
            );
            row.insert("node".into(), Json::String(k.node.clone()));
            row.insert(
                "event".into(),
                Json::String(format!("$bridges/kafka_consumer:{}", k.source)),
            );
        }
    }
    Json::Object(row)
}
