//! End-to-end rule behaviour through the public API, after EMQX's `t_sqlselect_*` and
//! `t_sqlparse_*` suites.

// The helpers below are test code too: a broken fixture should fail the test at once.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use tributary_rules::{
    EvalError, Event, KafkaRecord, MessagePublish, Output, Rule, RuleInput, TsType, ValueError,
};

fn message(topic: &str, payload: &str) -> Event {
    Event::MessagePublish(MessagePublish {
        user_properties: vec![("foo".into(), "bar".into())],
        peerhost: Some("127.0.0.1".into()),
        ..support::publish(topic, payload.as_bytes())
    })
}

fn kafka(source: &str) -> Event {
    Event::KafkaRecord(KafkaRecord {
        source: source.into(),
        topic: "kt".into(),
        partition: 0,
        offset: 7,
        key: Some("k".into()),
        value: r#"{"msg":"hi"}"#.into(),
        headers: vec![("h1".into(), "v1".into())],
        ts: Some(1_679_665_968_238),
        ts_type: TsType::Create,
        node: "n1".into(),
    })
}

fn row(sql: &str, payload: &str) -> Value {
    match Rule::parse(sql)
        .unwrap()
        .evaluate(&message("t/a", payload))
        .unwrap()
    {
        Output::Row(row) => row.into_json(),
        other => panic!("expected a row, got {other:?}"),
    }
}

fn rows(sql: &str, payload: &str) -> Vec<Value> {
    match Rule::parse(sql)
        .unwrap()
        .evaluate(&message("t/a", payload))
        .unwrap()
    {
        Output::Rows(rows) => rows,
        other => panic!("expected rows, got {other:?}"),
    }
}

fn eval_error(sql: &str, payload: &str) -> EvalError {
    Rule::parse(sql)
        .unwrap()
        .evaluate(&message("t/a", payload))
        .unwrap_err()
}

#[test]
fn rule_is_cheap_to_share() {
    fn assert_traits<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_traits::<Rule>();
    assert_traits::<tributary_rules::Template>();
    let rule = Rule::parse(r#"SELECT * FROM "t/#""#).unwrap();
    assert_eq!(rule.clone().sql(), r#"SELECT * FROM "t/#""#);
}

#[test]
fn inputs_are_classified() {
    let rule = Rule::parse(
        r#"SELECT * FROM "t/#", "$bridges/kafka_consumer:a", "$sources/kafka_consumer:b", "$events/client_connected""#,
    )
    .unwrap();
    assert_eq!(
        rule.inputs(),
        [
            RuleInput::TopicFilter("t/#".into()),
            RuleInput::KafkaSource("a".into()),
            RuleInput::KafkaSource("b".into()),
            RuleInput::Event("$events/client_connected".into()),
        ]
    );
    assert!(rule.matches_input(&message("t/x/y", "")));
    assert!(!rule.matches_input(&message("u/x", "")));
    assert!(rule.matches_input(&kafka("a")));
    assert!(rule.matches_input(&kafka("b")));
    assert!(!rule.matches_input(&kafka("c")));
    assert!(Rule::parse(r#"SELECT * FROM "t/#/x""#).is_err());
}

#[test]
fn select_star_lists_message_columns_and_keeps_raw_payload() {
    let row = row(r#"SELECT * FROM "t/#""#, r#"{"x":1}"#);
    assert_eq!(row["payload"], json!(r#"{"x":1}"#));
    assert_eq!(row["clientid"], json!("c1"));
    assert_eq!(row["flags"], json!({"dup": false, "retain": false}));
    assert_eq!(row["pub_props"]["User-Property"], json!({"foo": "bar"}));
    assert_eq!(row["timestamp"], json!(1_700_000_000_000i64));
    assert_eq!(row["event"], json!("message.publish"));
}

#[test]
fn fast_and_general_select_star_agree() {
    let fast = row(r#"SELECT * FROM "t/#""#, "{}");
    let general = row(r#"SELECT * FROM "t/#" WHERE true"#, "{}");
    assert_eq!(fast, general);
}

#[test]
fn star_with_later_aliases() {
    let row = row(r#"SELECT *, payload.x AS x FROM "t/#""#, r#"{"x":5}"#);
    assert_eq!(row["x"], json!(5));
    assert_eq!(row["clientid"], json!("c1"));
}

#[test]
fn payload_is_not_parsed_unless_touched() {
    // An invalid JSON payload is fine as long as no path reaches into it.
    assert_eq!(
        row(r#"SELECT clientid, payload FROM "t/#""#, "not json"),
        json!({"clientid": "c1", "payload": "not json"})
    );
    let err = eval_error(r#"SELECT payload.a FROM "t/#""#, "not json");
    assert_eq!(err.class(), "select_and_transform_error");
    assert!(matches!(err.cause(), ValueError::DecodeJsonFailed(_)));
    let err = eval_error(r#"SELECT 1 AS x FROM "t/#" WHERE payload.a = 1"#, "{bad");
    assert_eq!(err.class(), "match_conditions_error");
}

#[test]
fn earlier_aliases_are_visible_and_override_columns() {
    let row = row(
        r#"SELECT payload.cmd AS cmd, cmd.info AS meta.info, 'x' AS clientid, clientid AS c2 FROM "t/#""#,
        r#"{"cmd":{"info":"tt"}}"#,
    );
    assert_eq!(
        row,
        json!({"cmd": {"info": "tt"}, "meta": {"info": "tt"}, "clientid": "x", "c2": "x"})
    );
}

#[test]
fn where_sees_selected_fields_over_columns() {
    let rule =
        Rule::parse(r#"SELECT 'other' AS clientid FROM "t/#" WHERE clientid = 'other'"#).unwrap();
    assert!(matches!(
        rule.evaluate(&message("t/a", "{}")).unwrap(),
        Output::Row(_)
    ));
}

#[test]
fn undefined_fields_are_left_out() {
    assert_eq!(
        row(r#"SELECT payload.missing AS m, clientid FROM "t/#""#, "{}"),
        json!({"clientid": "c1"})
    );
    assert_eq!(
        row(r#"SELECT CASE WHEN false THEN 1 END AS c FROM "t/#""#, "{}"),
        json!({})
    );
}

#[test]
fn unaliased_fields_are_named_after_their_path() {
    assert_eq!(
        row(r#"SELECT payload.x[2] FROM "t/#""#, r#"{"x":[1,3,4]}"#),
        json!({"payload": {"x": [3]}})
    );
    assert_eq!(
        row(r#"SELECT payload.a.b FROM "t/#""#, r#"{"a":{"b":1}}"#),
        json!({"payload": {"a": {"b": 1}}})
    );
    assert_eq!(
        row(r#"SELECT 'abc' FROM "t/#""#, "{}"),
        json!({"abc": "abc"})
    );
}

#[test]
fn comparisons_with_undefined_and_strings() {
    let matches = |sql: &str, payload: &str| {
        !matches!(
            Rule::parse(sql)
                .unwrap()
                .evaluate(&message("t/a", payload))
                .unwrap(),
            Output::NoMatch
        )
    };
    assert!(!matches(
        r#"SELECT 1 FROM "t/#" WHERE payload.nope != 1"#,
        "{}"
    ));
    assert!(matches(
        r#"SELECT 1 FROM "t/#" WHERE payload.a = payload.b"#,
        "{}"
    ));
    assert!(matches(
        r#"SELECT 1 FROM "t/#" WHERE payload.v = '1.5'"#,
        r#"{"v":1.5}"#
    ));
    assert!(matches(r#"SELECT 1 FROM "t/#" WHERE 1 = 1.0"#, "{}"));
    assert!(!matches(r#"SELECT 1 FROM "t/#" WHERE 1 IN (1.0)"#, "{}"));
    assert!(matches(
        r#"SELECT 1 FROM "t/#" WHERE NOT payload.x"#,
        r#"{"x":false}"#
    ));
    assert!(!matches(
        r#"SELECT 1 FROM "t/#" WHERE NOT payload.x"#,
        r#"{"x":"str"}"#
    ));
    assert!(matches(
        r#"SELECT 1 FROM "t/#" WHERE topic =~ 't/#' AND qos >= 1"#,
        "{}"
    ));
    let err = eval_error(
        r#"SELECT 1 FROM "t/#" WHERE payload.v > 1"#,
        r#"{"v":"abc"}"#,
    );
    assert_eq!(err.class(), "match_conditions_error");
    let err = eval_error(r#"SELECT 1 FROM "t/#" WHERE payload.v"#, r#"{"v":1}"#);
    assert!(matches!(err.cause(), ValueError::NotBoolean(_)));
}

#[test]
fn arithmetic_and_errors() {
    assert_eq!(
        row(
            r#"SELECT 7 / 2 AS q, 7 div 2 AS d, -7 mod 2 AS m, 'a' + 1 AS s, -payload.x AS n, 2 * (1 + 2) AS p FROM "t/#""#,
            r#"{"x":3}"#
        ),
        json!({"q": 3.5, "d": 3, "m": -1, "s": "a1", "n": -3, "p": 6})
    );
    let err = eval_error(r#"SELECT 1 / 0 AS x FROM "t/#""#, "{}");
    assert_eq!(err.class(), "select_and_transform_error");
    assert!(
        err.to_string().starts_with("select_and_transform_error"),
        "{err}"
    );
    let err = eval_error(r#"SELECT upper(1) AS x FROM "t/#""#, "{}");
    assert!(
        err.to_string().contains("badarg in function upper"),
        "{err}"
    );
}

#[test]
fn case_value_uses_exact_match() {
    assert_eq!(
        row(
            r#"SELECT CASE payload.x WHEN 1 THEN 'int' WHEN 1.0 THEN 'float' END AS c FROM "t/#""#,
            r#"{"x":1.0}"#
        ),
        json!({"c": "float"})
    );
}

#[test]
fn foreach_forms() {
    assert_eq!(
        rows(r#"FOREACH payload.l FROM "t/#""#, r#"{"l":[1,2]}"#),
        vec![json!({"item": 1}), json!({"item": 2})]
    );
    assert_eq!(
        rows(
            r#"FOREACH payload.l AS x DO x.id AS id, clientid INCASE x.id > 1 FROM "t/#""#,
            r#"{"l":[{"id":1},{"id":2}]}"#
        ),
        vec![json!({"id": 2, "clientid": "c1"})]
    );
    assert_eq!(
        rows(
            r#"FOREACH payload.l AS x FROM "t/#" WHERE length(x) = 2"#,
            r#"{"l":[1,2]}"#
        )
        .len(),
        2
    );
    assert!(rows(r#"FOREACH payload.missing FROM "t/#""#, "{}").is_empty());
    // EMQX's `ensure_list`: something that is not a list gives no rows, not an error.
    assert!(rows(r#"FOREACH payload.l FROM "t/#""#, r#"{"l":3}"#).is_empty());
    assert_eq!(
        rows(r#"FOREACH payload FROM "t/#""#, "[1,2]"),
        vec![json!({"item": 1}), json!({"item": 2})]
    );
    assert_eq!(
        eval_error(
            r#"FOREACH payload.l AS x INCASE x > 1 FROM "t/#""#,
            r#"{"l":["a"]}"#
        )
        .class(),
        "match_incase_error"
    );
    assert_eq!(
        eval_error(
            r#"FOREACH payload.l AS x DO upper(x) AS u FROM "t/#""#,
            r#"{"l":[1]}"#
        )
        .class(),
        "doeach_error"
    );
}

#[test]
fn kafka_records() {
    let rule = Rule::parse(r#"SELECT value.msg AS msg, key, headers.h1 AS h, offset, ts_type FROM "$sources/kafka_consumer:src""#).unwrap();
    let record = kafka("src");
    let Output::Row(row) = rule.evaluate(&record).unwrap() else {
        panic!()
    };
    assert_eq!(
        row,
        json!({"msg": "hi", "key": "k", "h": "v1", "offset": 7, "ts_type": "create"})
    );
    assert_eq!(rule.evaluate(&kafka("other")).unwrap(), Output::NoMatch);
    let Event::KafkaRecord(record) = kafka("src") else {
        panic!()
    };
    assert_eq!(
        record.to_json(),
        json!({"value": r#"{"msg":"hi"}"#, "ts_type": "create", "ts": 1_679_665_968_238i64, "topic": "kt", "offset": 7, "key": "k", "headers": {"h1": "v1"}})
    );
}

#[test]
fn compile_time_errors() {
    let e = Rule::parse(r#"SELECT nope(1) FROM "t""#).unwrap_err();
    assert_eq!((e.line, e.column), (1, 8));
    assert!(e.message.contains("unknown function `nope`"));
    assert!(
        Rule::parse(r#"SELECT upper(1, 2) FROM "t""#)
            .unwrap_err()
            .message
            .contains("takes 1 argument")
    );
    assert!(
        Rule::parse(r#"SELECT a AND b AS c FROM "t""#)
            .unwrap_err()
            .message
            .contains("only allowed in WHERE")
    );
    assert!(Rule::parse(r#"SELECT 1 FROM "t" WHERE a = 1 AND b IN (1)"#).is_ok());
    assert_eq!(
        Rule::parse("SELECT FROM").unwrap_err().to_string(),
        "line 1, column 8: expected an expression, found `FROM`"
    );
}

#[test]
fn output_helpers() {
    assert_eq!(Output::NoMatch.to_json(), None);
    assert!(Output::NoMatch.into_rows().is_empty());
    assert_eq!(
        Output::Row(json!({"a": 1}).into()).into_rows(),
        vec![json!({"a": 1})]
    );
    assert_eq!(Output::Rows(vec![json!(1)]).to_json(), Some(json!([1])));
}

#[test]
fn test_contexts() {
    let event = Event::from_test_context(
        &json!({"event_type": "kafka_consumer", "source": "s", "value": {"a": 1}}),
    )
    .unwrap();
    let Event::KafkaRecord(record) = event else {
        panic!()
    };
    assert_eq!(record.value, r#"{"a":1}"#);
    let err = Event::from_test_context(&json!({"qos": 7})).unwrap_err();
    assert_eq!(err.field, "qos");
    assert!(Event::from_test_context(&json!({"event_type": "nope"})).is_err());
    assert!(Event::from_test_context(&json!([])).is_err());
}
