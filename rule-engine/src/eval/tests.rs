//! How often an event's payload or value is decoded: once per evaluation at most, whatever
//! the number of paths, with a failed decode remembered rather than retried.

use bytes::Bytes;

use super::EVENT_DECODES;
use crate::event::{Event, KafkaRecord, MessagePublish, TsType};
use crate::rule::{Output, Rule};

fn message(payload: &[u8]) -> Event {
    Event::MessagePublish(MessagePublish {
        id: "id1".into(),
        clientid: "c1".into(),
        username: None,
        topic: "t/a".into(),
        qos: 0,
        retain: false,
        dup: false,
        payload: Bytes::copy_from_slice(payload),
        user_properties: Vec::new(),
        peerhost: None,
        publish_received_at: 0,
        node: "n1".into(),
    })
}

fn record(value: &str) -> Event {
    Event::KafkaRecord(KafkaRecord {
        source: "src".into(),
        topic: "kt".into(),
        partition: 0,
        offset: 0,
        key: None,
        value: value.into(),
        headers: Vec::new(),
        ts: Some(0),
        ts_type: TsType::Create,
        node: "n1".into(),
    })
}

/// The rule's output as JSON (or the error's text), and how many decodes it took.
fn decodes(sql: &str, event: &Event) -> (Result<Option<serde_json::Value>, String>, usize) {
    let rule = Rule::parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    EVENT_DECODES.with(|count| count.set(0));
    let output = rule
        .evaluate(event)
        .map(|output| Output::to_json(&output))
        .map_err(|e| e.to_string());
    (output, EVENT_DECODES.with(std::cell::Cell::get))
}

#[test]
fn payload_is_decoded_once_for_all_its_paths() {
    let (output, count) = decodes(
        r#"SELECT payload, payload.a AS a, payload.b AS b, CASE WHEN payload.a = 1 THEN 'one' END AS c FROM "t/#" WHERE payload.b = 2 AND is_null(payload.z)"#,
        &message(br#"{"a": 1, "b": 2}"#),
    );
    assert_eq!(
        output,
        Ok(Some(serde_json::json!({
            "payload": r#"{"a": 1, "b": 2}"#, "a": 1, "b": 2, "c": "one"
        })))
    );
    assert_eq!(count, 1);
}

#[test]
fn payload_is_decoded_once_across_foreach_items() {
    let (output, count) = decodes(
        r#"FOREACH payload.l AS i DO i, payload.k AS k INCASE payload.k = 'v' FROM "t/#""#,
        &message(br#"{"l": [1, 2, 3], "k": "v"}"#),
    );
    let expected: Vec<_> = (1..=3)
        .map(|i| serde_json::json!({"i": i, "k": "v"}))
        .collect();
    assert_eq!(output, Ok(Some(serde_json::Value::Array(expected))));
    assert_eq!(count, 1);
}

#[test]
fn a_failed_payload_decode_is_not_retried() {
    let (output, count) = decodes(
        r#"SELECT payload('a') AS a, payload('b') AS b, payload('c') AS c, payload FROM "t/#""#,
        &message(b"not json"),
    );
    assert_eq!(output, Ok(Some(serde_json::json!({"payload": "not json"}))));
    assert_eq!(count, 1);
}

#[test]
fn a_payload_never_read_by_a_path_is_not_decoded() {
    let (output, count) = decodes(r#"SELECT payload FROM "t/#" WHERE true"#, &message(b"x"));
    assert_eq!(output, Ok(Some(serde_json::json!({"payload": "x"}))));
    assert_eq!(count, 0);
}

#[test]
fn kafka_value_is_decoded_once_failure_included() {
    for value in [r#"{"a": 1}"#, "not json"] {
        let (output, count) = decodes(
            r#"SELECT value.a AS a, value.b AS b, coalesce(value.c, 'none') AS c FROM "$bridges/kafka_consumer:src" WHERE is_null(value.d)"#,
            &record(value),
        );
        let expected = if value.starts_with('{') {
            serde_json::json!({"a": 1, "c": "none"})
        } else {
            serde_json::json!({"c": "none"})
        };
        assert_eq!(output, Ok(Some(expected)), "{value}");
        assert_eq!(count, 1, "{value}");
    }
}
