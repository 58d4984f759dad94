//! A plain `SELECT *` row is a view of its event, not built JSON. Whatever a consumer does with
//! it (render templates, ask for one value, serialise it, build it) must give exactly what the
//! same row built by the general evaluator gives (`SELECT * ... WHERE true` builds it).

// A broken fixture should fail the test at once.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Value, json};
use tributary_rules::{
    Event, KafkaRecord, MessagePublish, Missing, Output, Row, Rule, Template, TsType,
};

fn message(payload: &[u8], user_properties: Vec<(String, String)>, optional: bool) -> Event {
    Event::MessagePublish(MessagePublish {
        id: "0006A7A2CF6D0A8DF4430000A2C30002".into(),
        clientid: "c\"1\n\u{e9}".into(),
        username: optional.then(|| "u1".into()),
        topic: "t/a".into(),
        qos: 2,
        retain: true,
        dup: false,
        payload: Bytes::copy_from_slice(payload),
        user_properties,
        peerhost: optional.then(|| "10.0.0.1".into()),
        publish_received_at: 1_700_000_000_000,
        node: "n1".into(),
    })
}

fn kafka(ts: Option<i64>, key: Option<&str>) -> Event {
    Event::KafkaRecord(KafkaRecord {
        source: "src".into(),
        topic: "kt".into(),
        partition: 0,
        offset: 7,
        key: key.map(Into::into),
        value: r#"{"msg":"hi","n":[1,2]}"#.into(),
        // A repeated header keeps its first position and its last value.
        headers: vec![
            ("h1".into(), "v1".into()),
            ("h2".into(), "v2".into()),
            ("h1".into(), "v3".into()),
        ],
        ts,
        ts_type: TsType::Append,
        node: "n1".into(),
    })
}

fn events() -> Vec<Event> {
    let props = vec![
        ("foo".to_owned(), "bar".to_owned()),
        ("a".to_owned(), "1".to_owned()),
        ("foo".to_owned(), "baz".to_owned()),
    ];
    vec![
        message(
            br#"{"temp":21.5,"loc":{"lat":52.5},"s":"x\"y"}"#,
            Vec::new(),
            true,
        ),
        message(b"not json \"quoted\"\t", props, false),
        message(&[0xff, b'{', 0xfe], Vec::new(), true),
        message(b"", Vec::new(), false),
        kafka(Some(1_679_665_968_238), Some("k")),
        kafka(Some(-5), None),
    ]
}

fn star_row(event: &Event) -> Row<'_> {
    match Rule::parse(r#"SELECT * FROM "t/#", "$sources/kafka_consumer:src""#)
        .unwrap()
        .evaluate(event)
        .unwrap()
    {
        Output::Row(row) => row,
        other => panic!("expected a row, got {other:?}"),
    }
}

/// The same row from the general evaluator, which builds it as JSON.
fn built_row(event: &Event) -> Value {
    match Rule::parse(r#"SELECT * FROM "t/#", "$sources/kafka_consumer:src" WHERE true"#)
        .unwrap()
        .evaluate(event)
        .unwrap()
    {
        Output::Row(row) => row.into_json(),
        other => panic!("expected a row, got {other:?}"),
    }
}

const TEMPLATES: &[&str] = &[
    "${.}",
    "${}",
    "${id}/${.clientid}/${username}/${peerhost}/${topic}/${qos}/${node}/${event}",
    "${payload}|${payload.temp}|${payload.loc}|${payload.loc.lat}|${payload.s}|${payload.nope}",
    "${flags}|${flags.dup}|${flags.retain}|${flags.retain.x}|${flags.nope}",
    "${pub_props}|${pub_props.User_Property}|${client_attrs}|${client_attrs.x}",
    "${timestamp}|${publish_received_at}|${qos.x}|${clientid.x}|${nope}|${nope.deeper}",
    "${value}|${value.msg}|${value.n}|${ts}|${ts_type}|${offset}|${key}|${key.x}",
    "${headers}|${headers.h1}|${headers.h2}|${headers.h1.x}",
];

#[test]
fn a_star_row_is_the_row_the_evaluator_builds() {
    for event in &events() {
        let row = star_row(event);
        let built = built_row(event);
        // `to_string` compares key order and formatting too, which `Value` equality does not.
        assert_eq!(row.to_json().to_string(), built.to_string(), "{event:?}");
        assert_eq!(serde_json::to_string(&row).unwrap(), built.to_string());
        assert_eq!(row, built);
        assert_eq!(row.clone().into_owned(), built);
    }
}

#[test]
fn templates_render_a_star_row_as_its_json() {
    for event in &events() {
        let row = star_row(event);
        let built = built_row(event);
        for text in TEMPLATES {
            let template = Template::parse(text).unwrap();
            for missing in [Missing::Empty, Missing::Undefined] {
                assert_eq!(
                    template.render(&row, missing),
                    template.render(&built, missing),
                    "{text} over {event:?}"
                );
            }
        }
    }
}

#[test]
fn single_placeholders_give_the_json_value() {
    let paths = [
        "${.}",
        "${payload}",
        "${payload.loc}",
        "${flags}",
        "${flags.retain}",
        "${qos}",
        "${pub_props}",
        "${client_attrs}",
        "${headers}",
        "${value.n}",
        "${ts}",
        "${username}",
        "${nope}",
    ];
    for event in &events() {
        let row = star_row(event);
        let built = built_row(event);
        for text in paths {
            let template = Template::parse(text).unwrap();
            assert_eq!(
                template.single_placeholder_value(&row),
                template.single_placeholder_value(&built),
                "{text} over {event:?}"
            );
        }
    }
}

#[test]
fn a_star_row_reads_the_event_in_place() {
    let event = message(br#"{"temp":21.5}"#, Vec::new(), true);
    let row = star_row(&event);
    assert_eq!(
        Template::parse("${clientid}: ${payload.temp}, retain ${flags.retain}")
            .unwrap()
            .render(&row, Missing::Empty),
        "c\"1\n\u{e9}: 21.5, retain true"
    );
    assert_eq!(
        Template::parse("${.}")
            .unwrap()
            .render(&row, Missing::Empty),
        concat!(
            r#"{"id":"0006A7A2CF6D0A8DF4430000A2C30002","clientid":"c\"1\n"#,
            "\u{e9}",
            r#"","username":"u1","payload":"{\"temp\":21.5}","peerhost":"10.0.0.1","topic":"t/a","qos":2,"flags":{"dup":false,"retain":true},"pub_props":{},"publish_received_at":1700000000000,"client_attrs":{},"timestamp":1700000000000,"node":"n1","event":"message.publish"}"#
        )
    );
}

/// `/rule_test` evaluates a context's event and returns the output after the event is gone.
#[test]
fn an_owned_output_outlives_its_event() {
    let rule = Rule::parse(r#"SELECT * FROM "t/#""#).unwrap();
    let (owned, expected) = {
        let event = message(b"{}", Vec::new(), true);
        let output = rule.evaluate(&event).unwrap();
        (output.clone().into_owned(), output.to_json())
    };
    assert_eq!(owned.to_json(), expected);
    assert_eq!(owned.into_rows(), vec![expected.unwrap()]);
}

/// A record without a timestamp gets "now" as `timestamp`, once: every consumer of the row sees
/// the same value, as with a built row.
#[test]
fn a_kafka_timestamp_of_now_is_fixed_when_the_row_is_made() {
    let event = kafka(None, Some("k"));
    let row = star_row(&event);
    let timestamp = row.to_json()["timestamp"].as_i64().unwrap();
    assert!(timestamp > 1_700_000_000_000);
    assert!(row.to_json().get("ts").is_none());
    std::thread::sleep(std::time::Duration::from_millis(3));
    let template = Template::parse("${timestamp}").unwrap();
    assert_eq!(template.render(&row, Missing::Empty), timestamp.to_string());
    assert_eq!(row.to_json()["timestamp"], json!(timestamp));
    assert_eq!(
        serde_json::to_value(&row).unwrap()["timestamp"],
        json!(timestamp)
    );
}

/// `${path}` over names the rows have, names they lack and JSON keys inside the payload.
fn placeholder() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("payload"),
        Just("clientid"),
        Just("flags"),
        Just("retain"),
        Just("dup"),
        Just("pub_props"),
        Just("qos"),
        Just("a"),
        Just("b"),
        Just("x"),
        Just("value"),
        Just("headers"),
        Just("timestamp"),
        Just("nope"),
    ];
    (any::<bool>(), prop::collection::vec(key, 0..4))
        .prop_map(|(dot, keys)| format!("${{{}{}}}", if dot { "." } else { "" }, keys.join(".")))
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..24),
        "\\{(\"[abx]\":(1|\"s\"|\\{\"a\":2\\}|\\[1,2\\]|\"\\{\\\\\"b\\\\\":3\\}\"),?){0,3}\\}"
            .prop_map(String::into_bytes),
    ]
}

proptest! {
    #[test]
    fn any_template_renders_a_star_row_as_its_json(
        payload in payload(),
        placeholders in prop::collection::vec(placeholder(), 1..4),
        with_props in any::<bool>(),
    ) {
        let props = if with_props { vec![("a".to_owned(), "1".to_owned())] } else { Vec::new() };
        let event = message(&payload, props, with_props);
        let row = star_row(&event);
        let built = built_row(&event);
        let template = Template::parse(&placeholders.join("|")).unwrap();
        prop_assert_eq!(
            template.render(&row, Missing::Undefined),
            template.render(&built, Missing::Undefined)
        );
        prop_assert_eq!(
            template.single_placeholder_value(&row),
            template.single_placeholder_value(&built)
        );
    }
}
