//! What a rule sees of a PUBLISH: the input is the bytes a broker sends, decoded as an MQTT 5
//! and as an MQTT 3.1.1 packet by the worker's client (the vendored rumqttc), turned into the
//! rule's event the way the worker does (data-plane/src/mqtt/v5.rs and v4.rs `received`: the
//! topic read as lossy UTF-8, the v5 user properties kept, `clientid` and `username` taken from
//! the user properties of those names as rule_flow.rs does), and evaluated by rules that decode
//! the payload as JSON and read the user properties. Nothing may panic.

#![no_main]

use std::sync::OnceLock;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tributary_rules::{Event, MessagePublish, Rule};

const MAX_PACKET: usize = 1 << 20;

/// Rules that touch every part of the message a worker hands them.
const RULES: &[&str] = &[
    "SELECT * FROM \"#\"",
    "SELECT payload, payload.n AS n, payload.a.b[1] AS deep, topic, clientid, username FROM \"#\"",
    "SELECT pub_props, pub_props.'User-Property' AS props, pub_props.'User-Property'.k AS k FROM \"#\"",
    "SELECT payload.x AS x FROM \"#\" WHERE payload.x > 1 AND is_not_null(payload.y)",
    "FOREACH payload.items AS item DO item.v AS v, clientid FROM \"#\"",
    "SELECT json_decode(payload) AS j, json_encode(payload) AS e, bin2hexstr(payload) AS h FROM \"#\"",
];

fn rules() -> &'static [Rule] {
    static RULES_PARSED: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES_PARSED.get_or_init(|| {
        RULES
            .iter()
            .map(|sql| Rule::parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}")))
            .collect()
    })
}

fn event(
    topic: String,
    payload: bytes::Bytes,
    qos: u8,
    retain: bool,
    dup: bool,
    user_properties: Vec<(String, String)>,
) -> Event {
    let mut clientid = String::new();
    let mut username = None;
    for (key, value) in &user_properties {
        match key.as_str() {
            "clientid" if clientid.is_empty() => clientid = value.clone(),
            "username" if username.is_none() => username = Some(value.clone()),
            _ => {}
        }
    }
    Event::MessagePublish(MessagePublish {
        id: "0".into(),
        clientid,
        username,
        topic,
        qos,
        retain,
        dup,
        payload,
        user_properties,
        peerhost: None,
        publish_received_at: 0,
        node: "fuzz".into(),
    })
}

fn evaluate(event: &Event) {
    for rule in rules() {
        let _ = rule.evaluate(event);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut v5 = BytesMut::from(data);
    if let Ok(rumqttc::v5::mqttbytes::v5::Packet::Publish(publish)) =
        rumqttc::v5::mqttbytes::v5::Packet::read(&mut v5, Some(MAX_PACKET as u32))
    {
        let user_properties = publish
            .properties
            .map(|p| p.user_properties)
            .unwrap_or_default();
        evaluate(&event(
            String::from_utf8_lossy(&publish.topic).into_owned(),
            publish.payload,
            publish.qos as u8,
            publish.retain,
            publish.dup,
            user_properties,
        ));
    }
    let mut v4 = BytesMut::from(data);
    if let Ok(rumqttc::Packet::Publish(publish)) = rumqttc::Packet::read(&mut v4, MAX_PACKET) {
        evaluate(&event(
            publish.topic,
            publish.payload,
            publish.qos as u8,
            publish.retain,
            publish.dup,
            Vec::new(),
        ));
    }
});
