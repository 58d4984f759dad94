//! What the Kafka -> MQTT end-to-end tests share: producing records, creating sources, reading
//! numbered records back.
#![allow(dead_code)] // each test file uses a part

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use tributary_e2e::broker::SessionSubscriber;
use tributary_e2e::{Stack, unique};

pub fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .unwrap_or_else(|e| panic!("producer: {e}"))
}

/// Produces `{"n": i}` for every `i` in `range`, round-robin over `partitions`, with `headers`.
pub async fn produce_numbered(
    producer: &FutureProducer,
    topic: &str,
    partitions: i32,
    range: std::ops::Range<u32>,
    headers: &[(&str, &str)],
) {
    let numbers: Vec<u32> = range.collect();
    for chunk in numbers.chunks(1000) {
        let sends = chunk.iter().map(|n| {
            let value = format!("{{\"n\":{n}}}");
            let headers = headers.iter().fold(OwnedHeaders::new(), |h, (key, value)| {
                h.insert(Header {
                    key,
                    value: Some(*value),
                })
            });
            let partition = i32::try_from(*n).unwrap_or_default() % partitions;
            async move {
                producer
                    .send(
                        FutureRecord::<str, str>::to(topic)
                            .partition(partition)
                            .payload(&value)
                            .headers(headers),
                        Duration::from_secs(10),
                    )
                    .await
                    .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
            }
        });
        futures::future::join_all(sends).await;
    }
}

/// The `default` MQTT connector at `mqtt` and a `kafka_consumer` connector `kc` on the stack's
/// Kafka.
pub async fn create_connectors(stack: &Stack, mqtt: &str) {
    let api = stack.api();
    api.create_default_mqtt_connector(mqtt).await;
    create_consumer_connector(stack, &stack.env.kafka).await;
}

/// The `kafka_consumer` connector `kc` on the Kafka at `bootstrap`.
pub async fn create_consumer_connector(stack: &Stack, bootstrap: &str) {
    stack
        .api()
        .post(
            "/connectors",
            json!({"type": "kafka_consumer", "name": "kc", "bootstrap_hosts": bootstrap}),
        )
        .await;
}

/// A source named `name` on connector `kc` with `parameters` (and a fresh group id unless they
/// name one).
pub async fn create_source(stack: &Stack, name: &str, mut parameters: Value) {
    if parameters.get("group_id").is_none() {
        parameters["group_id"] = json!(unique("e2e-group"));
    }
    stack
        .api()
        .post(
            "/sources",
            json!({"type": "kafka_consumer", "name": name, "connector": "kc", "parameters": parameters}),
        )
        .await;
}

/// The `n` of a payload `{"n": ...}`.
pub fn number(payload: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Value>(payload).ok()?["n"].as_u64()
}

/// Numbered records seen on MQTT: which arrived, and how often.
#[derive(Debug, Default)]
pub struct Tally {
    counts: HashMap<u64, usize>,
}

impl Tally {
    pub fn add(&mut self, payload: &Bytes) {
        if let Some(n) = number(payload) {
            *self.counts.entry(n).or_default() += 1;
        }
    }

    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    pub fn contains(&self, n: u64) -> bool {
        self.counts.contains_key(&n)
    }

    pub fn duplicates(&self) -> usize {
        self.counts.values().map(|c| c - 1).sum()
    }

    /// The numbers in `range` that never arrived.
    pub fn missing(&self, range: std::ops::Range<u64>) -> Vec<u64> {
        range.filter(|n| !self.counts.contains_key(n)).collect()
    }
}

/// Reads from `subscriber` into `tally` until `target` distinct records arrived or `within` passed.
pub async fn read_into(
    subscriber: &mut SessionSubscriber,
    tally: &mut Tally,
    target: usize,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    while tally.distinct() < target {
        let left = deadline.saturating_duration_since(Instant::now());
        match subscriber.next(left).await {
            Some((_, payload)) => tally.add(&payload),
            None => break,
        }
    }
}
