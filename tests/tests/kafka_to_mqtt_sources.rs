//! Kafka -> MQTT with the real binaries: a `kafka_consumer` source created through the REST API,
//! run by workers pulled over gRPC. Needs `scripts/test-stack.sh start && source .test-stack/env`
//! and `cargo build --workspace --bins`.

use std::collections::HashSet;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use tributary_e2e::mqtt::Subscriber;
use tributary_e2e::{Stack, kafka, unique, wait_until};

const DELIVERY: Duration = Duration::from_secs(60);

fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .unwrap_or_else(|e| panic!("producer: {e}"))
}

/// Creates the `default` MQTT connector, a consumer connector and a source mapping `kafka_topic`
/// to `mqtt_topic`.
async fn create_source(stack: &Stack, name: &str, kafka_topic: &str, mqtt_topic: &str) {
    create_source_with(stack, name, kafka_topic, mqtt_topic, json!({})).await;
}

/// [`create_source`], with `extra` parameters.
async fn create_source_with(
    stack: &Stack,
    name: &str,
    kafka_topic: &str,
    mqtt_topic: &str,
    extra: Value,
) {
    let mut parameters = json!({
        "topic_mapping": [{"kafka_topic": kafka_topic, "mqtt_topic": mqtt_topic, "qos": 1}],
        "offset_reset_policy": "earliest",
        "group_id": unique("e2e-group")
    });
    if let (Some(parameters), Some(extra)) = (parameters.as_object_mut(), extra.as_object()) {
        parameters.extend(extra.clone());
    }
    let api = stack.api();
    api.create_default_mqtt_connector(&stack.env.mqtt).await;
    api.post(
        "/connectors",
        json!({"type": "kafka_consumer", "name": "kc", "bootstrap_hosts": stack.env.kafka}),
    )
    .await;
    api.post(
        "/sources",
        json!({
            "type": "kafka_consumer",
            "name": name,
            "connector": "kc",
            "parameters": parameters
        }),
    )
    .await;
}

/// One worker; a new one-partition Kafka topic that a new source (with `extra` parameters) maps
/// to a new MQTT topic, and a subscriber of that MQTT topic.
async fn one_worker_and_a_mapped_topic(extra: Value) -> (Stack, String, String, Subscriber) {
    let stack = Stack::start(1).await;
    let topic = unique("testtopic-out");
    let mqtt_topic = format!("t/{}/1", unique("e2e"));
    kafka::create_topic(&stack.env.kafka, &topic, 1).await;
    let subscriber = Subscriber::start(&stack.env.mqtt, &mqtt_topic).await;
    create_source_with(&stack, &unique("src"), &topic, &mqtt_topic, extra).await;
    (stack, topic, mqtt_topic, subscriber)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_with_key_and_header_reaches_mqtt_as_the_documented_json() {
    let (mut stack, topic, mqtt_topic, mut subscriber) =
        one_worker_and_a_mapped_topic(json!({})).await;

    let headers = OwnedHeaders::new().insert(Header {
        key: "header_key",
        value: Some("header_value"),
    });
    producer(&stack.env.kafka)
        .send(
            FutureRecord::to(&topic)
                .key("key")
                .payload(r#"{"msg": "Hello EMQX"}"#)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce: {e}"));

    let received = subscriber.collect(1, DELIVERY).await;
    assert_eq!(received.len(), 1, "nothing arrived on {mqtt_topic}");
    let record: Value = serde_json::from_slice(&received[0].1).unwrap_or_default();
    assert_eq!(
        record["value"],
        json!("{\"msg\": \"Hello EMQX\"}"),
        "{record}"
    );
    assert_eq!(record["ts_type"], json!("create"));
    assert!(
        record["ts"].as_i64().unwrap_or_default() > 1_600_000_000_000,
        "{record}"
    );
    assert_eq!(record["topic"], json!(topic));
    assert_eq!(record["offset"], json!(0));
    assert_eq!(record["key"], json!("key"));
    assert_eq!(record["headers"], json!({"header_key": "header_value"}));
    let keys: Vec<&str> = record
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "value", "ts_type", "ts", "topic", "offset", "key", "headers"
        ]
    );
    stack.stop_worker(0).await;
}

/// A source that batches its fetches (`min_batch_bytes` far above what arrives) still delivers
/// records that come one at a time: Kafka answers once `max_wait_time` passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_batches_fetches_still_delivers_records_that_come_one_at_a_time() {
    let (mut stack, topic, _, mut subscriber) = one_worker_and_a_mapped_topic(
        json!({"min_batch_bytes": "512KB", "max_wait_time": "100ms"}),
    )
    .await;

    let producer = producer(&stack.env.kafka);
    for n in 0..3 {
        let payload = format!("record {n}");
        producer
            .send(
                FutureRecord::<(), _>::to(&topic).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
        let received = subscriber.collect(1, DELIVERY).await;
        let values: Vec<Value> = received
            .iter()
            .map(|(_, payload)| serde_json::from_slice(payload).unwrap_or_default())
            .collect();
        assert_eq!(
            values
                .iter()
                .map(|v| v["value"].clone())
                .collect::<Vec<_>>(),
            [json!(payload)],
            "record {n} alone, with fetches waiting for 512KB"
        );
    }
    stack.stop_worker(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_10000_records_and_a_killed_worker_loses_none() {
    const TOTAL: usize = 10_000;
    let mut stack = Stack::start(2).await;
    let topic = unique("shared");
    let mqtt_topic = format!("t/{}", unique("e2e"));
    let name = unique("src");
    kafka::create_topic(&stack.env.kafka, &topic, 4).await;
    let mut subscriber = Subscriber::start(&stack.env.mqtt, &mqtt_topic).await;
    create_source(&stack, &name, &topic, &mqtt_topic).await;

    let producer = producer(&stack.env.kafka);
    let produce = |range: std::ops::Range<usize>| {
        let producer = producer.clone();
        let topic = topic.clone();
        async move {
            let sends: Vec<_> = range
                .map(|n| {
                    let value = format!("{{\"n\":{n}}}");
                    let producer = producer.clone();
                    let topic = topic.clone();
                    async move {
                        let partition = i32::try_from(n % 4).unwrap_or_default();
                        producer
                            .send(
                                FutureRecord::<str, str>::to(&topic)
                                    .partition(partition)
                                    .payload(&value),
                                Duration::from_secs(10),
                            )
                            .await
                            .unwrap_or_else(|(e, _)| panic!("produce: {e}"));
                    }
                })
                .collect();
            futures::future::join_all(sends).await;
        }
    };

    // Both workers hold partitions before the records come: a group forms at once on Kafka
    // (no initial rebalance delay), and the first member could otherwise read everything before
    // the second one joins. A partition's lag gauge appears once its worker fetched from it.
    let lag_gauge = format!("topic=\"{topic}\"");
    let joined = wait_until(Duration::from_secs(60), || async {
        stack.worker_metrics(0).await.contains(&lag_gauge)
            && stack.worker_metrics(1).await.contains(&lag_gauge)
    })
    .await;
    assert!(
        joined,
        "the second worker never got partitions of the group"
    );

    let mut seen: HashSet<u64> = HashSet::new();
    let mut messages = 0usize;
    produce(0..TOTAL / 2).await;
    absorb(
        &mut seen,
        &mut messages,
        subscriber.collect(2_000, DELIVERY).await,
    );
    // Both workers got partitions of the one group and delivered some of them.
    let resource = format!("source:kafka_consumer:{name}");
    let mut both = false;
    for _ in 0..100 {
        absorb(
            &mut seen,
            &mut messages,
            subscriber.collect(500, Duration::from_millis(200)).await,
        );
        if stack.worker_counter(0, &resource, "success").await > 0
            && stack.worker_counter(1, &resource, "success").await > 0
        {
            both = true;
            break;
        }
    }
    assert!(both, "the two workers did not share the partitions");

    // Worker 0 dies mid-stream; its partitions move to worker 1.
    let rest = tokio::spawn(produce(TOTAL / 2..TOTAL));
    stack.kill_worker(0).await;
    rest.await.unwrap_or_else(|e| panic!("producer task: {e}"));
    while seen.len() < TOTAL {
        let received = subscriber.collect(TOTAL, Duration::from_secs(90)).await;
        if received.is_empty() {
            break;
        }
        absorb(&mut seen, &mut messages, received);
    }
    let missing: Vec<usize> = (0..TOTAL)
        .filter(|n| !seen.contains(&(*n as u64)))
        .collect();
    assert!(
        missing.is_empty(),
        "{} records never arrived, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    eprintln!(
        "{TOTAL} records, {messages} messages ({} duplicates)",
        messages - TOTAL
    );
    stack.stop_worker(1).await;
}

/// Records the `n` of each delivered record (`${.}` payload whose `value` is `{"n": ...}`).
fn absorb(seen: &mut HashSet<u64>, messages: &mut usize, received: Vec<(String, bytes::Bytes)>) {
    for (_, payload) in received {
        *messages += 1;
        let record: Value = serde_json::from_slice(&payload).unwrap_or_default();
        let value: Value =
            serde_json::from_str(record["value"].as_str().unwrap_or_default()).unwrap_or_default();
        if let Some(n) = value["n"].as_u64() {
            seen.insert(n);
        }
    }
}
