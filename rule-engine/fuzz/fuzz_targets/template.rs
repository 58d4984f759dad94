//! The `${...}` template renderer: the first line of the input is a template, the rest a payload.
//! The template is rendered against the payload as JSON and against the row `SELECT *` makes of
//! an MQTT message carrying that payload (the two row representations an action renders), with
//! both ways of writing a missing value. Nothing may panic, and a template without placeholders
//! renders to the same text whatever the row.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tributary_rules::{Event, MessagePublish, Missing, Rule, Template};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (text, payload) = data.split_at(split);
    let Ok(text) = std::str::from_utf8(text) else { return };
    let Ok(template) = Template::parse(text) else { return };
    let json: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
    let empty = serde_json::Value::Null;
    for missing in [Missing::Empty, Missing::Undefined] {
        let rendered = template.render(&json, missing);
        if template.is_static() {
            assert_eq!(rendered, template.render(&empty, missing));
        }
    }
    let _ = template.single_placeholder_value(&json);

    let event = Event::MessagePublish(MessagePublish {
        id: "id".into(),
        clientid: "c".into(),
        username: Some("u".into()),
        topic: "t/a".into(),
        qos: 1,
        retain: false,
        dup: false,
        payload: Bytes::copy_from_slice(payload.get(1..).unwrap_or_default()),
        user_properties: vec![("k".into(), "v".into())],
        peerhost: None,
        publish_received_at: 0,
        node: "n".into(),
    });
    if let Ok(rule) = Rule::parse("SELECT * FROM \"t/#\"") {
        if let Ok(output) = rule.evaluate(&event) {
            for row in output.into_rows() {
                let _ = template.render(&row, Missing::Empty);
                let _ = template.single_placeholder_value(&row);
            }
        }
    }
});
