//! The worker's own work on one MQTT → Kafka message, without sockets or threads: decode the
//! PUBLISH bytes as the vendored rumqttc does, make the rule's event, evaluate the benchmark's
//! rule (`scripts/bench.sh`: JSON payload parsed, WHERE evaluated), render the record with the
//! action's default templates and hand it to librdkafka (a client whose broker never answers, so
//! the records only queue; the queue is purged between rounds).
//!
//! `cargo bench -p tributary-data-plane --bench hot_path -- --warm-up-time 1 --measurement-time 5`
//!
//! With `TRIBUTARY_HOT_PATH_MESSAGES=N` set it runs exactly N messages through the path and
//! exits, which is what `scripts/instructions.sh` counts with callgrind (instructions per
//! message, repeatable on a busy machine).

// A benchmark whose setup fails should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, black_box, criterion_group};
use rdkafka::ClientConfig;
use rdkafka::producer::{Producer, PurgeConfig};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, Publish, PublishProperties};
use tributary_connect::record::RecordTemplates;
use tributary_data_plane::sink::kafka::client::{ProducerContext, SinkProducer};
use tributary_protocol::resources::KafkaProducerParameters;
use tributary_rules::{Event, MessagePublish, Output, Rule};

/// The rule of the benchmark harness's MQTT → Kafka flows (bench/src/flows.rs).
const SQL: &str = "SELECT payload.temp as temp, clientid, payload.seq as seq, \
                   payload.sent_at_us as sent_at_us FROM \"bench/#\" WHERE payload.temp > 0";

/// Records queued in librdkafka before the queue is purged.
const PURGE_EVERY: u64 = 50_000;

/// The PUBLISH a broker sends for one of the harness's 200-byte messages, as bytes.
fn publish_bytes(seq: u64) -> Bytes {
    let payload = format!(
        r#"{{"temp":23.5,"hum":41.2,"seq":{seq},"sent_at_us":1764800000000000,"device":"sensor-0001","site":"plant-a","fw":"1.4.2","status":"ok","alarms":[],"loc":{{"lat":52.52,"lon":13.405}},"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}"#
    );
    let mut publish = Publish::new("bench/1a2b3c4d/q1/1", QoS::AtLeastOnce, payload, None);
    publish.pkid = 7;
    publish.properties = Some(PublishProperties {
        subscription_identifiers: vec![1],
        ..PublishProperties::default()
    });
    let mut bytes = BytesMut::new();
    Packet::Publish(publish).write(&mut bytes, None).unwrap();
    bytes.freeze()
}

struct HotPath {
    packet: Bytes,
    rule: Rule,
    templates: RecordTemplates,
    producer: SinkProducer,
}

impl HotPath {
    fn new() -> Self {
        let parameters: KafkaProducerParameters =
            serde_json::from_value(serde_json::json!({"topic": "bench-sink"})).unwrap();
        let mut config = ClientConfig::new();
        // Nothing listens there: records stay queued and are purged.
        config
            .set("bootstrap.servers", "127.0.0.1:9")
            .set("queue.buffering.max.messages", "1000000")
            .set("linger.ms", "5");
        let producer = SinkProducer::create(config, ProducerContext::default()).unwrap();
        Self {
            packet: publish_bytes(123_456),
            rule: Rule::parse(SQL).unwrap(),
            templates: RecordTemplates::compile(&parameters).unwrap(),
            producer,
        }
    }

    /// One message, as the worker's poller and rule flow handle it (mqtt/v5.rs `received`,
    /// flow/rule_flow.rs `handle`, sink/kafka/producer.rs `send`).
    fn message(&self) -> usize {
        let mut bytes = BytesMut::from(&self.packet[..]);
        let Ok(Packet::Publish(publish)) = Packet::read(&mut bytes, Some(1 << 20)) else {
            panic!("not a PUBLISH");
        };
        let user_properties = publish
            .properties
            .map(|p| p.user_properties)
            .unwrap_or_default();
        let event = Event::MessagePublish(MessagePublish {
            id: tributary_rules::MessageId::default(),
            clientid: String::new(),
            username: None,
            topic: String::from_utf8_lossy(&publish.topic).into_owned(),
            qos: publish.qos as u8,
            retain: publish.retain,
            dup: publish.dup,
            payload: publish.payload,
            user_properties,
            peerhost: None,
            publish_received_at: 1_764_800_000_000,
            node: "worker-1".into(),
        });
        let output = self.rule.evaluate(&event).unwrap();
        assert!(!matches!(output, Output::NoMatch), "the rule did not match");
        let mut sent = 0;
        for row in &output.into_rows() {
            let record = self.templates.render(row).unwrap();
            let delivery = self.producer.produce_awaited(&record, Some(0)).unwrap();
            drop(delivery);
            sent += 1;
        }
        sent
    }

    fn purge(&self) {
        self.producer
            .current()
            .purge(PurgeConfig::default().queue().inflight());
    }
}

fn bench_hot_path(c: &mut Criterion) {
    let path = HotPath::new();
    let mut group = c.benchmark_group("mqtt_to_kafka");
    group.throughput(Throughput::Elements(1));
    let mut queued = 0_u64;
    group.bench_function("publish_to_librdkafka_200B_json", |b| {
        b.iter(|| {
            queued += black_box(path.message()) as u64;
            if queued >= PURGE_EVERY {
                path.purge();
                queued = 0;
            }
        })
    });
    group.finish();
    path.purge();
}

criterion_group!(benches, bench_hot_path);

fn main() {
    if let Ok(messages) = std::env::var("TRIBUTARY_HOT_PATH_MESSAGES") {
        let messages: u64 = messages
            .parse()
            .expect("TRIBUTARY_HOT_PATH_MESSAGES is a count");
        let path = HotPath::new();
        for n in 0..messages {
            black_box(path.message());
            if (n + 1) % PURGE_EVERY == 0 {
                path.purge();
            }
        }
        path.purge();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
