//! Paths into values that are not JSON, in every place a path can appear (SELECT, WHERE, CASE,
//! FOREACH/DO/INCASE, function arguments, templates), for each kind of payload that is not a
//! JSON map or list: plain text, non-UTF-8 bytes, truncated JSON, nothing, and JSON scalars.
//!
//! The reference is EMQX 5 (`emqx_rule_runtime`, `emqx_rule_maps`):
//! - a path rooted at `payload` decodes the payload strictly: when it is not JSON the message
//!   fails with `decode_json_failed`, in the class of the clause (EMQX's
//!   `t_sqlparse_invalid_json`, and the conformance vector `invalid_json_payload_is_error`);
//! - a path into a payload that is JSON but not a map or list (`42`, `"s"`), and a path into any
//!   other binary that is not JSON (a Kafka record's `value`), is undefined (`general_find`);
//! - the value itself, selected whole, is untouched;
//! - arithmetic on undefined fails, as in EMQX.

// Test fixtures: a broken one should fail the test at once.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use tributary_rules::{
    EvalError, Event, KafkaRecord, Missing, Output, Rule, Template, TsType, ValueError,
};

/// Payloads that are not JSON at all.
const NOT_JSON: &[(&str, &[u8])] = &[
    ("plain text", b"not json"),
    ("non-UTF-8 bytes", &[0xff, 0xfe, b'{', 0x80]),
    ("truncated JSON", br#"{"a": 1"#),
    ("empty", b""),
];

/// Payloads that are JSON, but neither a map nor a list.
const SCALARS: &[(&str, &[u8])] = &[("number", b"42"), ("string", br#""s""#)];

fn all_kinds() -> impl Iterator<Item = &'static (&'static str, &'static [u8])> {
    NOT_JSON.iter().chain(SCALARS)
}

fn message(payload: &[u8]) -> Event {
    Event::MessagePublish(support::publish("bi/1", payload))
}

/// A Kafka record's value is text by the time it is an event (the source encodes it), so
/// bytes that are not UTF-8 arrive as their lossy text.
fn record(value: &[u8]) -> Event {
    Event::KafkaRecord(KafkaRecord {
        source: "src".into(),
        topic: "kt".into(),
        partition: 0,
        offset: 7,
        key: None,
        value: raw(value),
        headers: Vec::new(),
        ts: Some(1_679_665_968_238),
        ts_type: TsType::Create,
        node: "n1".into(),
    })
}

/// How the untouched payload or value appears in a row.
fn raw(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn evaluate(sql: &str, event: &Event) -> Result<Output<'static>, EvalError> {
    Rule::parse(sql)
        .unwrap()
        .evaluate(event)
        .map(Output::into_owned)
}

fn row(sql: &str, event: &Event, kind: &str) -> Value {
    match evaluate(sql, event) {
        Ok(Output::Row(row)) => row.into_json(),
        other => panic!("{kind}: {sql}: expected a row, got {other:?}"),
    }
}

fn rows(sql: &str, event: &Event, kind: &str) -> Vec<Value> {
    match evaluate(sql, event) {
        Ok(Output::Rows(rows)) => rows,
        other => panic!("{kind}: {sql}: expected rows, got {other:?}"),
    }
}

/// Asserts the message fails with `decode_json_failed` in the given EMQX error class.
fn assert_decode_failure(sql: &str, payload: &[u8], kind: &str, class: &str) {
    let error = evaluate(sql, &message(payload)).unwrap_err();
    assert_eq!(error.class(), class, "{kind}: {sql}");
    assert!(
        matches!(error.cause(), ValueError::DecodeJsonFailed(_)),
        "{kind}: {sql}: {error}"
    );
    assert!(
        error.to_string().contains("decode_json_failed"),
        "{kind}: {error}"
    );
}

const KAFKA: &str = r#""$bridges/kafka_consumer:src""#;

#[test]
fn payload_selected_whole_is_untouched() {
    for (kind, payload) in all_kinds() {
        assert_eq!(
            row(
                r#"SELECT payload, payload('x') AS x FROM "bi/#""#,
                &message(payload),
                kind
            ),
            json!({"payload": raw(payload)}),
            "{kind}"
        );
    }
}

#[test]
fn select_path_into_payload() {
    let sql = r#"SELECT payload.x AS x, payload FROM "bi/#""#;
    for (kind, payload) in NOT_JSON {
        assert_decode_failure(sql, payload, kind, "select_and_transform_error");
    }
    for (kind, payload) in SCALARS {
        assert_eq!(
            row(sql, &message(payload), kind),
            json!({"payload": raw(payload)}),
            "{kind}"
        );
    }
}

#[test]
fn where_path_into_payload() {
    // Before: with `payload` selected whole, WHERE quietly did not match where SELECT failed.
    for sql in [
        r#"SELECT payload FROM "bi/#" WHERE payload.x = 1"#,
        r#"SELECT clientid FROM "bi/#" WHERE is_null(payload.x)"#,
    ] {
        for (kind, payload) in NOT_JSON {
            assert_decode_failure(sql, payload, kind, "match_conditions_error");
        }
    }
    for (kind, payload) in SCALARS {
        let event = message(payload);
        assert_eq!(
            row(
                r#"SELECT payload FROM "bi/#" WHERE is_null(payload.x)"#,
                &event,
                kind
            ),
            json!({"payload": raw(payload)}),
            "{kind}"
        );
        assert_eq!(
            evaluate(r#"SELECT payload FROM "bi/#" WHERE payload.x = 1"#, &event).unwrap(),
            Output::NoMatch,
            "{kind}"
        );
    }
}

#[test]
fn payload_aliased_then_read_by_path() {
    // `payload AS p` is an ordinary value: a path into it is undefined when it is not JSON.
    let sql = r#"SELECT payload AS p, p.x AS x FROM "bi/#" WHERE is_null(p.x)"#;
    for (kind, payload) in all_kinds() {
        assert_eq!(
            row(sql, &message(payload), kind),
            json!({"p": raw(payload)}),
            "{kind}"
        );
    }
}

#[test]
fn case_path_into_payload() {
    let sql = r#"SELECT CASE WHEN payload.x > 1 THEN 'big' ELSE 'other' END AS c, CASE payload.x WHEN 1 THEN 'one' ELSE 'none' END AS d FROM "bi/#""#;
    for (kind, payload) in NOT_JSON {
        assert_decode_failure(sql, payload, kind, "select_and_transform_error");
    }
    for (kind, payload) in SCALARS {
        assert_eq!(
            row(sql, &message(payload), kind),
            json!({"c": "other", "d": "none"}),
            "{kind}"
        );
    }
}

#[test]
fn case_when_that_is_not_boolean_still_falls_through() {
    let sql = r#"SELECT CASE WHEN payload.x THEN 'x' ELSE 'no' END AS c FROM "bi/#""#;
    assert_eq!(
        row(sql, &message(br#"{"x": 5}"#), "object"),
        json!({"c": "no"})
    );
}

#[test]
fn foreach_path_into_payload() {
    for sql in [
        r#"FOREACH payload.items FROM "bi/#""#,
        r#"FOREACH payload FROM "bi/#""#,
    ] {
        for (kind, payload) in NOT_JSON {
            assert_decode_failure(sql, payload, kind, "select_and_collect_error");
        }
        for (kind, payload) in SCALARS {
            assert_eq!(
                rows(sql, &message(payload), kind),
                Vec::<Value>::new(),
                "{kind}"
            );
        }
    }
}

#[test]
fn do_path_into_payload() {
    let sql = r#"FOREACH [1, 2] AS i DO i, payload.x AS x FROM "bi/#""#;
    for (kind, payload) in NOT_JSON {
        assert_decode_failure(sql, payload, kind, "doeach_error");
    }
    for (kind, payload) in SCALARS {
        assert_eq!(
            rows(sql, &message(payload), kind),
            vec![json!({"i": 1}), json!({"i": 2})],
            "{kind}"
        );
    }
}

#[test]
fn incase_path_into_payload() {
    let sql = r#"FOREACH [1, 2] AS i INCASE is_null(payload.x) FROM "bi/#""#;
    for (kind, payload) in NOT_JSON {
        assert_decode_failure(sql, payload, kind, "match_incase_error");
    }
    for (kind, payload) in SCALARS {
        assert_eq!(
            rows(sql, &message(payload), kind),
            vec![json!({"i": 1}), json!({"i": 2})],
            "{kind}"
        );
    }
}

#[test]
fn function_arguments_path_into_payload() {
    let sql = r#"SELECT coalesce(payload.x, 'none') AS x, is_null(payload.x[1]) AS n FROM "bi/#""#;
    for (kind, payload) in NOT_JSON {
        assert_decode_failure(sql, payload, kind, "select_and_transform_error");
    }
    for (kind, payload) in SCALARS {
        assert_eq!(
            row(sql, &message(payload), kind),
            json!({"x": "none", "n": true}),
            "{kind}"
        );
    }
}

#[test]
fn arithmetic_on_an_undefined_path_fails_as_in_emqx() {
    for (kind, payload) in SCALARS {
        let error = evaluate(
            r#"SELECT payload.x + 1 AS y FROM "bi/#""#,
            &message(payload),
        )
        .unwrap_err();
        assert_eq!(error.class(), "select_and_transform_error", "{kind}");
        assert!(
            matches!(error.cause(), ValueError::BadOperands { operator: "+", .. }),
            "{kind}: {error}"
        );
    }
}

#[test]
fn json_decode_called_on_what_is_not_json_fails() {
    let sql = r#"SELECT json_decode(payload) AS v FROM "bi/#""#;
    for (kind, payload) in NOT_JSON {
        let error = evaluate(sql, &message(payload)).unwrap_err();
        assert_eq!(error.class(), "select_and_transform_error", "{kind}");
        assert!(
            matches!(
                error.cause(),
                ValueError::BadArg {
                    function: "json_decode",
                    ..
                }
            ),
            "{kind}: {error}"
        );
    }
    assert_eq!(row(sql, &message(b"42"), "number"), json!({"v": 42}));
    assert_eq!(row(sql, &message(br#""s""#), "string"), json!({"v": "s"}));
}

#[test]
fn templates_path_into_payload() {
    let template = Template::parse("x=${payload.x};i=${payload.x.y};p=${payload}").unwrap();
    for (kind, payload) in all_kinds() {
        let event = message(payload);
        // A built row and a `SELECT *` row (a view of the event) render alike.
        for sql in [r#"SELECT payload FROM "bi/#""#, r#"SELECT * FROM "bi/#""#] {
            let Ok(Output::Row(row)) = Rule::parse(sql).unwrap().evaluate(&event) else {
                panic!("{kind}: {sql}: no row");
            };
            let raw = raw(payload);
            assert_eq!(
                template.render(&row, Missing::Empty),
                format!("x=;i=;p={raw}"),
                "{kind}: {sql}"
            );
            assert_eq!(
                template.render(&row, Missing::Undefined),
                format!("x=undefined;i=undefined;p={raw}"),
                "{kind}: {sql}"
            );
        }
    }
}

#[test]
fn kafka_value_selected_whole_and_paths_undefined() {
    let sql = format!("SELECT value.x AS x, value, value.x.y AS y FROM {KAFKA}");
    for (kind, value) in all_kinds() {
        assert_eq!(
            row(&sql, &record(value), kind),
            json!({"value": raw(value)}),
            "{kind}"
        );
    }
}

#[test]
fn kafka_value_path_in_where() {
    for (kind, value) in all_kinds() {
        let event = record(value);
        assert_eq!(
            row(
                &format!("SELECT value FROM {KAFKA} WHERE is_null(value.x)"),
                &event,
                kind
            ),
            json!({"value": raw(value)}),
            "{kind}"
        );
        assert_eq!(
            evaluate(
                &format!("SELECT value FROM {KAFKA} WHERE value.x = 1"),
                &event
            )
            .unwrap(),
            Output::NoMatch,
            "{kind}"
        );
    }
}

#[test]
fn kafka_value_path_in_case_and_function_arguments() {
    let sql = format!(
        "SELECT CASE WHEN value.x > 1 THEN 'big' ELSE 'other' END AS c, CASE value.x WHEN 1 THEN 'one' ELSE 'none' END AS d, coalesce(value.x, 'none') AS x FROM {KAFKA}"
    );
    for (kind, value) in all_kinds() {
        assert_eq!(
            row(&sql, &record(value), kind),
            json!({"c": "other", "d": "none", "x": "none"}),
            "{kind}"
        );
    }
}

#[test]
fn kafka_value_path_in_foreach_do_incase() {
    for (kind, value) in all_kinds() {
        let event = record(value);
        for sql in [
            format!("FOREACH value.items FROM {KAFKA}"),
            // EMQX decodes only `payload` for FOREACH; a binary value is no list: no rows.
            format!("FOREACH value FROM {KAFKA}"),
        ] {
            assert_eq!(rows(&sql, &event, kind), Vec::<Value>::new(), "{kind}");
        }
        assert_eq!(
            rows(
                &format!(
                    "FOREACH [1, 2] AS i DO i, value.x AS x INCASE is_null(value.x) FROM {KAFKA}"
                ),
                &event,
                kind
            ),
            vec![json!({"i": 1}), json!({"i": 2})],
            "{kind}"
        );
    }
}

#[test]
fn kafka_value_failures_are_emqx_failures() {
    for (kind, value) in all_kinds() {
        let error = evaluate(
            &format!("SELECT value.x + 1 AS y FROM {KAFKA}"),
            &record(value),
        )
        .unwrap_err();
        assert_eq!(error.class(), "select_and_transform_error", "{kind}");
        assert!(
            matches!(error.cause(), ValueError::BadOperands { .. }),
            "{kind}: {error}"
        );
    }
    for (kind, value) in NOT_JSON {
        let error = evaluate(
            &format!("SELECT json_decode(value) AS v FROM {KAFKA}"),
            &record(value),
        )
        .unwrap_err();
        assert!(
            matches!(
                error.cause(),
                ValueError::BadArg {
                    function: "json_decode",
                    ..
                }
            ),
            "{kind}: {error}"
        );
    }
}

#[test]
fn kafka_value_templates() {
    let template = Template::parse("x=${value.x};v=${value}").unwrap();
    for (kind, value) in all_kinds() {
        let event = record(value);
        let Ok(Output::Row(row)) = Rule::parse(&format!("SELECT * FROM {KAFKA}"))
            .unwrap()
            .evaluate(&event)
        else {
            panic!("{kind}: no row");
        };
        assert_eq!(
            template.render(&row, Missing::Empty),
            format!("x=;v={}", raw(value)),
            "{kind}"
        );
    }
}

#[test]
fn json_held_in_a_json_string_is_decoded_again() {
    // EMQX's `general_find` decodes a binary, and again if that gives a binary.
    let value = br#""{\"x\":{\"y\":1}}""#;
    assert_eq!(
        row(
            &format!("SELECT value.x.y AS y FROM {KAFKA}"),
            &record(value),
            "string"
        ),
        json!({"y": 1})
    );
    assert_eq!(
        row(
            r#"SELECT payload.x.y AS y FROM "bi/#""#,
            &message(value),
            "string"
        ),
        json!({"y": 1})
    );
}
