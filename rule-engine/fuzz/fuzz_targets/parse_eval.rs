//! Parses the first line of the input as rule SQL and, if it compiles, evaluates it
//! against the rest of the input as an MQTT payload. Also renders the line as a template.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tributary_rules::{Event, MessagePublish, Missing, Rule, Template};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (sql, payload) = data.split_at(split);
    let Ok(sql) = std::str::from_utf8(sql) else { return };
    let event = Event::MessagePublish(MessagePublish {
        id: "id".into(),
        clientid: "c".into(),
        username: Some("u".into()),
        topic: "t/a".into(),
        qos: 1,
        retain: false,
        dup: false,
        payload: Bytes::copy_from_slice(payload),
        user_properties: vec![("k".into(), "v".into())],
        peerhost: None,
        publish_received_at: 0,
        node: "n".into(),
    });
    if let Ok(rule) = Rule::parse(sql) {
        let _ = rule.evaluate(&event);
    }
    if let Ok(template) = Template::parse(sql) {
        let row: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
        let _ = template.render(&row, Missing::Empty);
    }
});
