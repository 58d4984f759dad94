//! A row the evaluator builds is kept in the evaluator's own values, not converted to JSON.
//! Whatever a consumer does with it (render templates, ask for one value, serialise it, convert
//! it) must give exactly what the same consumer gives on the row's JSON (`Row::to_json`).

// A broken fixture should fail the test at once.
#![allow(clippy::unwrap_used)]

mod support;

use proptest::prelude::*;
use serde_json::{Value, json};
use tributary_rules::{Event, MessagePublish, Missing, Output, Row, Rule, Template};

/// A client id that needs escaping in JSON, so that rendering is checked on it too.
fn message(payload: &[u8]) -> Event {
    Event::MessagePublish(MessagePublish {
        clientid: "c\"1\n\u{e9}".into(),
        ..support::publish("t/a", payload)
    })
}

/// Rules whose rows hold every kind of evaluator value: text, binaries that are not UTF-8,
/// floats (non-finite too), lists holding `undefined`, nested maps, strings that hold JSON.
const RULES: &[&str] = &[
    r#"SELECT payload.temp as temp, clientid, payload.seq as seq FROM "t/#""#,
    r#"SELECT payload as p, payload.loc as loc, payload.nope as gone FROM "t/#""#,
    r#"SELECT 1 as a.b.c, 'x' as a.b.d, [payload.nope, 1, 2.5] as l FROM "t/#""#,
    r#"SELECT base64_decode('/w==') as bin, base64_decode('e30=') as text FROM "t/#""#,
    r#"SELECT 1.0e308 * 10 as inf, 0.1 + 0.2 as f, -0.0 as z, 9007199254740993 as big FROM "t/#""#,
    r#"SELECT map_put('k', [1, 'x'], json_decode('{"m":{"n":null}}')) as m, null as n FROM "t/#""#,
    r#"SELECT '{"s":{"t":"u"}}' as js, '"{\"deep\":1}"' as twice FROM "t/#""#,
];

const TEMPLATES: &[&str] = &[
    "${.}",
    "${temp}|${clientid}|${seq}|${nope}",
    "${p}|${p.temp}|${p.loc.lat}|${loc}|${loc.lat}|${gone}|${p.nope.x}",
    "${a}|${a.b}|${a.b.c}|${a.b.d}|${a.b.c.x}|${l}|${l.0}",
    "${bin}|${text}|${text.x}|${bin.x}",
    "${inf}|${f}|${z}|${big}|${f.x}",
    "${m}|${m.m}|${m.m.n}|${m.k}|${n}|${n.x}",
    "${js}|${js.s}|${js.s.t}|${twice}|${twice.deep}",
];

fn row<'e>(rule: &Rule, event: &'e Event) -> Row<'e> {
    match rule.evaluate(event).unwrap() {
        Output::Row(row) => row,
        other => panic!("expected a row, got {other:?}"),
    }
}

fn assert_same_as_json(rule: &str, payload: &[u8], templates: &[String]) {
    let event = message(payload);
    let row = row(&Rule::parse(rule).unwrap(), &event);
    let json = row.to_json();
    // Strings compare key order and number formatting too, which `Value` equality does not.
    assert_eq!(
        serde_json::to_string(&row).unwrap(),
        json.to_string(),
        "{rule}"
    );
    assert_eq!(row.clone().into_json().to_string(), json.to_string());
    assert_eq!(row.clone().into_owned(), json);
    for text in templates {
        let template = Template::parse(text).unwrap();
        for missing in [Missing::Empty, Missing::Undefined] {
            assert_eq!(
                template.render(&row, missing),
                template.render(&json, missing),
                "{text} over {rule}"
            );
        }
        assert_eq!(
            template.single_placeholder_value(&row),
            template.single_placeholder_value(&json),
            "{text} over {rule}"
        );
    }
}

#[test]
fn a_built_row_renders_and_serialises_as_its_json() {
    let templates: Vec<String> = TEMPLATES.iter().map(|t| (*t).to_owned()).collect();
    let singles: Vec<String> = TEMPLATES
        .iter()
        .flat_map(|t| t.split('|'))
        .map(str::to_owned)
        .collect();
    for rule in RULES {
        for payload in [
            &br#"{"temp":21.5,"seq":7,"loc":{"lat":52.5},"s":"x\"y"}"#[..],
            br#"{"temp":"warm","loc":"{\"lat\":1}"}"#,
            b"{}",
        ] {
            assert_same_as_json(rule, payload, &templates);
            assert_same_as_json(rule, payload, &singles);
        }
    }
}

/// The figures the JSON of a built row holds, spelled out once, so that a change in both the
/// row and its conversion cannot pass unnoticed.
#[test]
fn a_built_row_holds_the_values_emqx_gives() {
    let event = message(br#"{"temp":21.5,"seq":7}"#);
    let rule = Rule::parse(
        r#"SELECT payload.temp as temp, [payload.nope, 1] as l, base64_decode('/w==') as bin,
           1.0e308 * 10 as inf, payload.nope as gone FROM "t/#""#,
    )
    .unwrap();
    let row = row(&rule, &event);
    assert_eq!(
        serde_json::to_string(&row).unwrap(),
        r#"{"temp":21.5,"l":[null,1],"bin":"�","inf":null}"#
    );
    assert_eq!(
        Template::parse("${temp}/${l}/${gone}")
            .unwrap()
            .render(&row, Missing::Undefined),
        "21.5/[null,1]/undefined"
    );
    assert_eq!(
        row.to_json(),
        json!({"temp": 21.5, "l": [null, 1], "bin": "\u{fffd}", "inf": null})
    );
}

fn json_payload() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z\"{}:\\\\]{0,6}".prop_map(Value::from),
        Just(json!("{\"a\":{\"b\":[1]}}")),
    ];
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[abp]", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("[abp]", value, 0..4).prop_map(|m| {
        serde_json::to_vec(&Value::Object(m.into_iter().collect())).unwrap_or_default()
    })
}

fn placeholder() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("x"),
        Just("y"),
        Just("p"),
        Just("a"),
        Just("b"),
        Just("0")
    ];
    (any::<bool>(), prop::collection::vec(key, 0..4))
        .prop_map(|(dot, keys)| format!("${{{}{}}}", if dot { "." } else { "" }, keys.join(".")))
}

proptest! {
    #[test]
    fn any_template_renders_a_built_row_as_its_json(
        payload in json_payload(),
        placeholders in prop::collection::vec(placeholder(), 1..4),
    ) {
        let rule = r#"SELECT payload.a as x, payload.b as y.a, payload as p, payload.p.a as y.b FROM "t/#""#;
        assert_same_as_json(rule, &payload, &[placeholders.join("|")]);
        assert_same_as_json(rule, &payload, &placeholders);
    }
}

/// Past a few kilobytes of output a value is serialised aside rather than in place; both ways
/// render the same.
#[test]
fn values_after_a_long_literal_render_the_same() {
    let event = message(br#"{"temp":21.5,"seq":7}"#);
    let rule = Rule::parse(r#"SELECT payload.temp as temp, [1, 'x'] as l FROM "t/#""#).unwrap();
    let row = row(&rule, &event);
    let long = "x".repeat(5_000);
    let template = Template::parse(&format!("{long}${{temp}}|${{l}}|${{.}}")).unwrap();
    let rendered = template.render(&row, Missing::Empty);
    assert_eq!(rendered, template.render(&row.to_json(), Missing::Empty));
    assert_eq!(
        rendered,
        format!(r#"{long}21.5|[1,"x"]|{{"temp":21.5,"l":[1,"x"]}}"#)
    );
}
