//! The worker's own work on one Kafka → MQTT record, without sockets or threads: decode the
//! message as the source's consumer thread does (`source/record.rs`), then render the PUBLISH of
//! the benchmark's topic mapping (`scripts/bench.sh`: the payload is `${.value}`), as the
//! dispatcher's planner does (`source/plan.rs`).
//!
//! `cargo bench -p tributary-data-plane --bench source_path -- --warm-up-time 1 --measurement-time 5`
//!
//! Two ways of rendering are measured side by side, so the figure is a ratio within one run:
//! `record_in_place` is what the worker does (templates read the record itself), `json_row`
//! renders against the record's JSON built per record (`KafkaRecord::to_json`), as the worker
//! did before.

// A benchmark whose setup fails should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use rdkafka::message::{OwnedHeaders, OwnedMessage, Timestamp};
use tributary_data_plane::source::mapping::Mappings;
use tributary_data_plane::source::record::RecordDecoder;
use tributary_protocol::resources::{KafkaConsumerParameters, TopicMapping};

/// One of the harness's 200-byte JSON records, as librdkafka hands it over.
fn message() -> OwnedMessage {
    let value = r#"{"temp":23.5,"hum":41.2,"seq":123456,"sent_at_us":1764800000000000,"device":"sensor-0001","site":"plant-a","fw":"1.4.2","status":"ok","alarms":[],"loc":{"lat":52.52,"lon":13.405}}"#;
    OwnedMessage::new(
        Some(value.as_bytes().to_vec()),
        None,
        "bench-k2m".to_owned(),
        Timestamp::CreateTime(1_764_800_000_000),
        2,
        1_000_000,
        Some(OwnedHeaders::new()),
    )
}

fn bench_source_path(c: &mut Criterion) {
    let parameters: KafkaConsumerParameters =
        serde_json::from_value(serde_json::json!({"topic": "bench-k2m"})).unwrap();
    let decoder = RecordDecoder::new("bench", "worker-1", &parameters);
    let mappings = Mappings::compile(&[TopicMapping {
        kafka_topic: "bench-k2m".into(),
        mqtt_topic: "bench/k2m/out".into(),
        qos: 1,
        payload_template: "${.value}".into(),
    }])
    .unwrap();
    let mapping = mappings.for_topic("bench-k2m").unwrap();
    let message = message();
    // The consumer thread hands the decoder the topic name its partition's queue shares.
    let topic: Arc<str> = Arc::from("bench-k2m");

    let mut group = c.benchmark_group("kafka_to_mqtt");
    group.throughput(Throughput::Elements(1));
    group.bench_function("record_in_place", |b| {
        b.iter(|| {
            let record = decoder.decode_from(black_box(&message), Arc::clone(&topic));
            black_box(mapping.render(&record).unwrap())
        })
    });
    group.bench_function("json_row", |b| {
        b.iter(|| {
            let record = decoder.decode_from(black_box(&message), Arc::clone(&topic));
            black_box(mapping.render(&record.to_json()).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_source_path);
criterion_main!(benches);
