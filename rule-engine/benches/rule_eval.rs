//! Hot-path benchmarks: rule evaluation per message and template rendering.
//!
//! `cargo bench -p tributary-rules --bench rule_eval -- --warm-up-time 1 --measurement-time 3`

// A benchmark whose setup fails should stop loudly.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use serde_json::json;
use tributary_rules::{Event, MessagePublish, Missing, Output, Rule, Template};

fn message(payload: &str) -> Event {
    Event::MessagePublish(MessagePublish {
        id: "0006A7A2CF6D0A8DF4430000A2C30002".into(),
        clientid: "sensor-0001".into(),
        username: Some("device".into()),
        topic: "t/site1/sensor-0001".into(),
        qos: 1,
        retain: false,
        dup: false,
        payload: Bytes::from(payload.to_owned()),
        user_properties: Vec::new(),
        peerhost: Some("10.0.0.1".into()),
        publish_received_at: 1_700_000_000_000,
        node: "worker-1".into(),
    })
}

/// A ~200-byte JSON telemetry payload.
const PAYLOAD_200B: &str = r#"{"temp":23.5,"hum":41.2,"pressure":1013.25,"battery":87,"device":"sensor-0001","site":"plant-a","fw":"1.4.2","status":"ok","seq":123456,"alarms":[],"loc":{"lat":52.52,"lon":13.405},"ts":1700000000000}"#;

fn bench_rules(c: &mut Criterion) {
    assert!(
        (190..=230).contains(&PAYLOAD_200B.len()),
        "payload is {} bytes",
        PAYLOAD_200B.len()
    );
    let event = message(PAYLOAD_200B);

    let filter =
        Rule::parse(r#"SELECT payload.temp as temp, clientid FROM "t/#" WHERE payload.temp > 0"#)
            .unwrap();
    c.bench_function("select_fields_where_200B_json", |b| {
        b.iter(|| filter.evaluate(black_box(&event)).unwrap())
    });

    // The benchmark harness's MQTT -> Kafka flow: the selected fields, rendered whole (`${.}`)
    // as the Kafka action does by default.
    let whole_row = Template::parse("${.}").unwrap();
    let mut rendered = String::with_capacity(512);
    c.bench_function("select_fields_where_render_whole_row", |b| {
        b.iter(|| {
            rendered.clear();
            if let Output::Row(row) = filter.evaluate(black_box(&event)).unwrap() {
                whole_row.render_into(&row, Missing::Empty, &mut rendered);
            }
        })
    });

    let star = Rule::parse(r#"SELECT * FROM "t/#""#).unwrap();
    c.bench_function("select_star", |b| {
        b.iter(|| star.evaluate(black_box(&event)).unwrap())
    });

    // What a Kafka action does with that row by default (EMQX's value template is `${.}`):
    // the evaluation alone says little if rendering pays for it instead.
    c.bench_function("select_star_render_whole_row", |b| {
        b.iter(|| {
            rendered.clear();
            if let Output::Row(row) = star.evaluate(black_box(&event)).unwrap() {
                whole_row.render_into(&row, Missing::Empty, &mut rendered);
            }
        })
    });

    let array_event = message(
        r#"{"sensors":[{"id":1,"v":10},{"id":2,"v":20},{"id":3,"v":30},{"id":4,"v":40},{"id":5,"v":50},{"id":6,"v":60},{"id":7,"v":70},{"id":8,"v":80},{"id":9,"v":90},{"id":10,"v":100}]}"#,
    );
    let foreach = Rule::parse(
        r#"FOREACH payload.sensors AS s DO s.id AS id, s.v AS v INCASE s.v > 10 FROM "t/#""#,
    )
    .unwrap();
    c.bench_function("foreach_10_elements", |b| {
        b.iter(|| foreach.evaluate(black_box(&array_event)).unwrap())
    });

    let template = Template::parse(r#"{"temp": ${temp}, "hum": ${hum}}"#).unwrap();
    let row = json!({"temp": 23.5, "hum": 41.2, "clientid": "sensor-0001"});
    let mut out = String::with_capacity(64);
    c.bench_function("template_render", |b| {
        b.iter(|| {
            out.clear();
            template.render_into(black_box(&row), Missing::Empty, &mut out);
        })
    });
}

criterion_group!(benches, bench_rules);
criterion_main!(benches);
