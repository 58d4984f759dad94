//! Kafka helpers over rdkafka (bundled librdkafka), for the test stack's Apache Kafka.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::metadata::Metadata;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

/// A consumed record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: String,
    pub headers: Vec<(String, String)>,
    pub timestamp: Option<i64>,
}

pub async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap_or_else(|e| panic!("admin client: {e}"));
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}"));
    for result in results {
        if let Err((name, code)) = result {
            panic!("create topic {name}: {code}");
        }
    }
}

/// Reads `topic` from the beginning until `expected` records arrived, or `timeout` passed (then
/// returns what it has).
///
/// Partitions are assigned directly rather than joined through a consumer group: a reader needs no
/// group, and one still joining when its timeout ends would report records as missing.
pub async fn consume(
    bootstrap: &str,
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<Record> {
    let mut seen = 0;
    consume_until(bootstrap, topic, timeout, |_| {
        seen += 1;
        seen >= expected
    })
    .await
}

/// Reads `topic` from the beginning until `done` returns true for a record (it sees every record
/// once, in arrival order), or `timeout` passed.
///
/// Records are counted by reading them, never by watermarks: what a test checks is what a
/// consumer really gets.
pub async fn consume_until(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
    mut done: impl FnMut(&Record) -> bool,
) -> Vec<Record> {
    let deadline = Instant::now() + timeout;
    let consumer = reader(bootstrap, topic, deadline).await;
    let mut records = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(Ok(message)) => {
                let record = record(&message);
                let finished = done(&record);
                records.push(record);
                if finished {
                    break;
                }
            }
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => break,
        }
    }
    records
}

/// Everything `topic` holds: reads until no record arrived for `quiet` (or `timeout` passed).
pub async fn consume_quiet(
    bootstrap: &str,
    topic: &str,
    quiet: Duration,
    timeout: Duration,
) -> Vec<Record> {
    let deadline = Instant::now() + timeout;
    let consumer = reader(bootstrap, topic, deadline).await;
    let mut records = Vec::new();
    loop {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .min(quiet);
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(Ok(message)) => records.push(record(&message)),
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => break,
        }
    }
    records
}

/// A consumer assigned every partition of `topic` from the beginning.
async fn reader(bootstrap: &str, topic: &str, deadline: Instant) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", crate::unique("e2e-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap_or_else(|e| panic!("consumer: {e}"));
    // A topic created a moment ago may not be in the metadata yet.
    let mut ids = Vec::new();
    while ids.is_empty() && Instant::now() < deadline {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("metadata of {topic}: {e}"));
        ids = partition_ids(&metadata, topic);
        if ids.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let assignment = from_the_beginning(topic, &ids);
    consumer
        .assign(&assignment)
        .unwrap_or_else(|e| panic!("assign {topic}: {e}"));
    consumer
}

/// The partitions of `topic` in `metadata`; none while the topic is unknown or has an error.
pub fn partition_ids(metadata: &Metadata, topic: &str) -> Vec<i32> {
    metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect()
}

/// An assignment of `partitions` of `topic`, each read from its first record.
pub fn from_the_beginning(topic: &str, partitions: &[i32]) -> TopicPartitionList {
    let mut assignment = TopicPartitionList::new();
    for &id in partitions {
        assignment
            .add_partition_offset(topic, id, Offset::Beginning)
            .unwrap_or_else(|e| panic!("assign {topic}/{id}: {e}"));
    }
    assignment
}

fn record(message: &BorrowedMessage<'_>) -> Record {
    Record {
        partition: message.partition(),
        offset: message.offset(),
        key: message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned()),
        value: message
            .payload()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default(),
        headers: message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            h.value
                                .map(|v| String::from_utf8_lossy(v).into_owned())
                                .unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        timestamp: message.timestamp().to_millis(),
    }
}

pub async fn produce(bootstrap: &str, topic: &str, key: Option<&str>, value: &str) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap_or_else(|e| panic!("producer: {e}"));
    let mut record = FutureRecord::<str, str>::to(topic).payload(value);
    if let Some(key) = key {
        record = record.key(key);
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
}
