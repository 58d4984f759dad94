//! A source's topic mapping renders its templates against the Kafka record itself
//! (`RowRef::from(&record)`), not against the record's JSON built per record. Whatever a
//! template asks for, the two must render the same: `KafkaRecord::to_json` is the shape users
//! see (`${.}`, `${.value.temp}`, `${.key}` on a record without key, ...).

// A broken fixture should fail the test at once.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tributary_rules::{KafkaRecord, Missing, Template, TsType};

/// Placeholders a mapping may hold: every column, paths into each, a missing one, the whole row.
const TEMPLATES: &[&str] = &[
    "${.}",
    "${.value}",
    "${.value.temp}",
    "${.value.loc.lat}",
    "${.value.list}",
    "${.ts}",
    "${.ts.x}",
    "${.ts_type}",
    "${.topic}",
    "${.offset}",
    "${.key}",
    "${.key.id}",
    "${.headers}",
    "${.headers.h1}",
    "${.headers.missing}",
    "${.partition}",
    "${.nope}",
    "devices/${.topic}/${.key}/${.offset}",
    "${value}",
    "${headers.h2}",
];

fn record(
    value: String,
    key: Option<String>,
    ts: Option<i64>,
    headers: Vec<(String, String)>,
) -> KafkaRecord {
    KafkaRecord {
        source: "src".into(),
        topic: "kt/\"q\"".into(),
        partition: 3,
        offset: 42,
        key,
        value,
        headers,
        ts,
        ts_type: TsType::Create,
        node: "n1".into(),
    }
}

fn assert_same(record: &KafkaRecord) {
    let json = record.to_json();
    for text in TEMPLATES {
        let template = Template::parse(text).unwrap();
        for missing in [Missing::Empty, Missing::Undefined] {
            assert_eq!(
                template.render(record, missing),
                template.render(&json, missing),
                "{text} on {json}"
            );
        }
        assert_eq!(
            template.single_placeholder_value(record),
            template.single_placeholder_value(&json),
            "{text} as a value on {json}"
        );
    }
}

#[test]
fn a_record_renders_as_its_json_with_and_without_key_and_timestamp() {
    let headers = vec![
        ("h1".to_owned(), "v1".to_owned()),
        ("h2".to_owned(), "{\"x\":1}".to_owned()),
        ("h1".to_owned(), "v3".to_owned()),
    ];
    let value = r#"{"temp":21.5,"loc":{"lat":52.5},"list":[1,"a"]}"#.to_owned();
    assert_same(&record(
        value.clone(),
        Some(r#"{"id":7}"#.into()),
        Some(1_700_000_000_000),
        headers,
    ));
    assert_same(&record(value, None, None, Vec::new()));
    assert_same(&record(
        "not json \u{fffd}".into(),
        Some(String::new()),
        Some(-1),
        Vec::new(),
    ));
}

proptest! {
    #[test]
    fn any_record_renders_as_its_json(
        value in prop_oneof![
            any::<String>(),
            (any::<i32>(), "[a-z\"\\\\]{0,6}").prop_map(|(n, s)| {
                serde_json::json!({"temp": n, "loc": {"lat": n}, "list": [s]}).to_string()
            }),
        ],
        key in proptest::option::of(any::<String>()),
        ts in proptest::option::of(any::<i64>()),
        headers in proptest::collection::vec(("h[12]", any::<String>()), 0..3),
    ) {
        assert_same(&record(value, key, ts, headers));
    }
}
