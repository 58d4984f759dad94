//! Property tests: no input makes the parser, the evaluator or templates panic.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Value, json};
use tributary_rules::{Event, MessagePublish, Missing, Rule, Template};

fn message(payload: Vec<u8>) -> Event {
    Event::MessagePublish(MessagePublish {
        id: "id".into(),
        clientid: "c".into(),
        username: None,
        topic: "t/a".into(),
        qos: 0,
        retain: false,
        dup: false,
        payload: Bytes::from(payload),
        user_properties: Vec::new(),
        peerhost: None,
        publish_received_at: 0,
        node: "n".into(),
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z0-9 {}\\[\\]\":,]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map("[a-z]{1,3}", inner, 0..6).prop_map(|m| json!(m)),
        ]
    })
}

/// Rules that exercise paths, arithmetic, comparisons and functions over the payload.
const RULES: &[&str] = &[
    r#"SELECT * FROM "t/#""#,
    r#"SELECT payload.a AS a, payload.a.b[1] AS b, payload.a[1..2] AS r FROM "t/#" WHERE payload.a > 1 OR payload.b = 'x'"#,
    r#"SELECT payload.a + payload.b AS s, payload.a * 2 AS m, payload.a / payload.b AS d, payload.a div payload.b AS i FROM "t/#""#,
    r#"SELECT upper(payload.s) AS u, json_encode(payload) AS j, map_get('a.b', payload) AS g, nth(1, payload.l) AS n FROM "t/#""#,
    r#"SELECT CASE WHEN payload.x < 0 THEN 0 ELSE payload.x END AS y, int(payload.x) AS i, str(payload) AS s FROM "t/#""#,
    r#"FOREACH payload.l AS x DO x.id AS id, x + 1 AS y INCASE x.v > 1 FROM "t/#""#,
    r#"SELECT payload.a AS x.y[2].z, payload.b AS c[-0], base64_decode(payload.s) AS b FROM "t/#""#,
];

proptest! {
    #[test]
    fn parser_never_panics(sql in ".{0,200}") {
        let _ = Rule::parse(&sql);
    }

    #[test]
    fn parser_never_panics_on_sql_like_tokens(
        tokens in prop::collection::vec(
            prop_oneof![
                Just("SELECT"), Just("FOREACH"), Just("DO"), Just("INCASE"), Just("FROM"), Just("WHERE"),
                Just("AS"), Just("AND"), Just("OR"), Just("NOT"), Just("IN"), Just("CASE"), Just("WHEN"),
                Just("THEN"), Just("ELSE"), Just("END"), Just("div"), Just("mod"), Just("*"), Just(","),
                Just("("), Just(")"), Just("["), Just("]"), Just("."), Just(".."), Just("-"), Just("+"),
                Just("="), Just("=~"), Just("<>"), Just("1"), Just("-0"), Just("2.5"), Just("'s'"),
                Just("\"t/#\""), Just("payload"), Just("a"), Just("upper"), Just("true"),
            ],
            0..40,
        )
    ) {
        let sql = tokens.join(" ");
        if let Ok(rule) = Rule::parse(&sql) {
            let _ = rule.evaluate(&message(br#"{"a":1}"#.to_vec()));
        }
    }

    #[test]
    fn evaluation_never_panics_on_json_payloads(payload in json_value()) {
        let event = message(payload.to_string().into_bytes());
        for sql in RULES {
            let rule = Rule::parse(sql).unwrap();
            let _ = rule.evaluate(&event);
        }
    }

    #[test]
    fn evaluation_never_panics_on_arbitrary_bytes(payload in prop::collection::vec(any::<u8>(), 0..64)) {
        let event = message(payload);
        for sql in RULES {
            let _ = Rule::parse(sql).unwrap().evaluate(&event);
        }
    }

    #[test]
    fn templates_never_panic(text in ".{0,80}", row in json_value()) {
        if let Ok(template) = Template::parse(&text) {
            let _ = template.render(&row, Missing::Undefined);
            let _ = template.single_placeholder_value(&row);
        }
    }
}
