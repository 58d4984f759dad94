//! Helpers for the data plane's tests: the test stack's Apache Kafka and Mosquitto.
// Test helpers: a failed setup step should stop the test loudly, so unwrap/expect are fine here.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{Value, json};
use tributary_data_plane::flow::FlowEnv;
use tributary_data_plane::telemetry::{MetricsHub, StatusBoard};
use tributary_protocol::assignment::SourceFlowSpec;

/// Shared with the end-to-end harness: a persistent-session subscriber, a private Mosquitto that
/// can be restarted, free ports and unique names. (Not every test file including this module
/// uses every one of them.)
#[allow(unused_imports)]
pub use tributary_e2e::{
    broker::{PrivateMosquitto, SessionSubscriber as Subscriber},
    process::free_port,
    unique,
};

pub fn kafka() -> String {
    std::env::var("TRIBUTARY_TEST_KAFKA").expect(
        "TRIBUTARY_TEST_KAFKA is not set: run `scripts/test-stack.sh start && source .test-stack/env`",
    )
}

pub fn mqtt() -> String {
    std::env::var("TRIBUTARY_TEST_MQTT").expect(
        "TRIBUTARY_TEST_MQTT is not set: run `scripts/test-stack.sh start && source .test-stack/env`",
    )
}

pub async fn create_topic(name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .create()
        .unwrap();
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let results = admin
        .create_topics(
            [&topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    for result in results {
        result.unwrap();
    }
}

/// One record to produce: partition, key, value, headers.
pub struct Produce<'a> {
    pub partition: i32,
    pub key: Option<&'a str>,
    pub value: &'a [u8],
    pub headers: &'a [(&'a str, &'a str)],
}

pub fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("linger.ms", "5")
        .create()
        .unwrap()
}

pub async fn produce(producer: &FutureProducer, topic: &str, records: &[Produce<'_>]) {
    let sends = records.iter().map(|r| {
        let mut headers = OwnedHeaders::new();
        for (key, value) in r.headers {
            headers = headers.insert(Header {
                key,
                value: Some(*value),
            });
        }
        let mut record = FutureRecord::to(topic)
            .partition(r.partition)
            .payload(r.value)
            .headers(headers);
        if let Some(key) = r.key {
            record = record.key(key);
        }
        producer.send(record, Duration::from_secs(10))
    });
    for result in futures::future::join_all(sends).await {
        result.map_err(|(e, _)| e).unwrap();
    }
}

/// Produces `count` records `{"n": i}` spread round-robin over `partitions`.
pub async fn produce_numbered(
    topic: impl AsRef<str>,
    partitions: i32,
    range: std::ops::Range<u32>,
) {
    let topic = topic.as_ref();
    let producer = producer();
    let values: Vec<(i32, Vec<u8>)> = range
        .map(|n| (n as i32 % partitions, format!("{{\"n\":{n}}}").into_bytes()))
        .collect();
    for chunk in values.chunks(1000) {
        let records: Vec<Produce> = chunk
            .iter()
            .map(|(partition, value)| Produce {
                partition: *partition,
                key: None,
                value,
                headers: &[],
            })
            .collect();
        produce(&producer, topic, &records).await;
    }
}

/// The committed offsets of `group` for each partition of `topic` (absent = none committed).
pub fn committed(group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("group.id", group)
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition(topic, p);
    }
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(10))
        .unwrap();
    committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}

/// `(key, value)` of the records of `topic`, read from the beginning with a fresh group until
/// `expected` arrived or `timeout` passed.
pub async fn consume(
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<(Option<String>, String)> {
    use rdkafka::consumer::StreamConsumer;
    use rdkafka::message::Message;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + timeout;
    let mut records = Vec::new();
    while records.len() < expected {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(Ok(message)) => records.push((
                message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned()),
                message
                    .payload()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default(),
            )),
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => break,
        }
    }
    records
}

/// A resolved `kafka_producer` action writing `${key}` / `${value}` of a rule's row to `topic`.
pub fn kafka_action(name: &str, bootstrap: &str, topic: &str, query_mode: &str) -> Value {
    json!({
        "type": "kafka_producer",
        "action_id": format!("kafka_producer:{name}"),
        "connector_name": "test_kafka_out",
        // A short metadata timeout keeps an unreachable broker from slowing the test down.
        "connector": {"bootstrap_hosts": bootstrap, "metadata_request_timeout": "1s"},
        "parameters": {
            "topic": topic,
            "message": {"key": "${key}", "value": "${value}", "timestamp": ""},
            "query_mode": query_mode
        }
    })
}

/// The `n` of a `{"n": ...}` record delivered through a mapping with the default payload
/// (`${.}`: the record JSON, whose `value` holds the produced text).
pub fn record_number(payload: &[u8]) -> u64 {
    let record: Value = serde_json::from_slice(payload).unwrap();
    let value: Value = serde_json::from_str(record["value"].as_str().unwrap()).unwrap();
    value["n"].as_u64().unwrap()
}

/// Numbered records seen on MQTT: which arrived, and how often.
#[derive(Debug, Default)]
pub struct Tally {
    counts: HashMap<u64, usize>,
}

impl Tally {
    pub fn add(&mut self, payload: &[u8]) {
        *self.counts.entry(record_number(payload)).or_default() += 1;
    }

    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    pub fn duplicates(&self) -> usize {
        self.counts.values().map(|c| c - 1).sum()
    }

    /// The numbers below `total` that never arrived.
    pub fn missing(&self, total: u64) -> Vec<u64> {
        (0..total)
            .filter(|n| !self.counts.contains_key(n))
            .collect()
    }

    /// Reads from `subscriber` until `distinct() >= target` or `timeout` passes.
    pub async fn read_until(
        &mut self,
        subscriber: &mut Subscriber,
        target: usize,
        timeout: Duration,
    ) {
        let deadline = Instant::now() + timeout;
        while self.distinct() < target {
            let left = deadline.saturating_duration_since(Instant::now());
            match subscriber.next(left).await {
                Some((_, payload)) => self.add(&payload),
                None => break,
            }
        }
    }
}

pub fn flow_env(worker: &str) -> (FlowEnv, MetricsHub, StatusBoard) {
    let metrics = MetricsHub::new();
    let status = StatusBoard::default();
    (
        FlowEnv::new(worker, metrics.clone(), status.clone()),
        metrics,
        status,
    )
}

/// A source spec: `parameters` and `rules` as JSON, MQTT at `mqtt_server` (MQTT 5 unless `v4`).
pub fn spec(
    name: &str,
    parameters: Value,
    rules: Value,
    mqtt_server: &str,
    v4: bool,
) -> SourceFlowSpec {
    serde_json::from_value(json!({
        "source_id": format!("kafka_consumer:{name}"),
        "name": name,
        "connector_name": "test_kafka",
        "kafka": {"bootstrap_hosts": kafka()},
        "parameters": parameters,
        "mqtt": {
            "name": "default",
            "config": {"server": mqtt_server, "proto_ver": if v4 { "v4" } else { "v5" }}
        },
        "rules": rules
    }))
    .unwrap()
}

/// `127.0.0.1:<port>` where nothing listens: a broker that is unreachable.
pub fn nothing_listens() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// Polls `check` every 100 ms until it holds or `timeout` passes.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check()
}
