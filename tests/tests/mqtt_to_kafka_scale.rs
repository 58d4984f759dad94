//! MQTT -> Kafka with two workers: shared subscriptions split the load, and a worker killed with
//! SIGKILL in `sync` mode loses nothing (its unacknowledged messages are redelivered).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use tributary_e2e::kafka::{self, Record};
use tributary_e2e::mqtt::{Message, publish_all, publish_paced};
use tributary_e2e::{Stack, unique, wait_until};

/// Two workers running one rule into a fresh topic; returns (stack, rule id, kafka topic, mqtt prefix).
async fn two_workers(query_mode: &str, partitions: i32) -> (Stack, String, String, String) {
    let stack = Stack::start(2).await;
    let api = stack.api();
    api.create_default_mqtt_connector(&stack.env.mqtt).await;
    api.create_kafka_producer_connector("kafka", &stack.env.kafka)
        .await;
    let topic = unique("scale");
    kafka::create_topic(&stack.env.kafka, &topic, partitions).await;
    let action = unique("sink");
    api.create_kafka_action(
        &action,
        "kafka",
        json!({"topic": topic, "query_mode": query_mode, "max_linger_time": "5ms", "message": {"value": "${payload.n}"}}),
    )
    .await;
    let prefix = unique("load");
    let rule = api
        .create_rule(
            &unique("rule"),
            &format!("SELECT payload FROM \"{prefix}/#\""),
            json!([format!("kafka_producer:{action}")]),
        )
        .await;
    stack.wait_flow_running(&format!("rule:{rule}"), 2).await;
    (stack, rule, topic, prefix)
}

fn messages(prefix: &str, count: usize) -> Vec<Message> {
    (0..count)
        .map(|n| Message::new(&format!("{prefix}/{}", n % 10), json!({"n": n}).to_string()))
        .collect()
}

fn numbers(records: &[Record]) -> (BTreeSet<usize>, usize) {
    let distinct: BTreeSet<usize> = records
        .iter()
        .filter_map(|r| r.value.parse().ok())
        .collect();
    let duplicates = records.len() - distinct.len();
    (distinct, duplicates)
}

/// Reads the topic until every number below `count` was seen (duplicates allowed) or the time is
/// up; returns the distinct numbers and how many duplicates came with them.
async fn consume_all_numbers(
    bootstrap: &str,
    topic: &str,
    count: usize,
) -> (BTreeSet<usize>, usize) {
    let mut distinct = BTreeSet::new();
    let records = kafka::consume_until(bootstrap, topic, Duration::from_secs(90), |record| {
        if let Ok(n) = record.value.parse::<usize>() {
            distinct.insert(n);
        }
        distinct.len() >= count
    })
    .await;
    numbers(&records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_ten_thousand_messages_and_deliver_every_one() {
    let (stack, rule, topic, prefix) = two_workers("async", 4).await;
    let count = 10_000;
    publish_all(&stack.env.mqtt, &unique("pub"), messages(&prefix, count)).await;
    let (distinct, duplicates) = consume_all_numbers(&stack.env.kafka, &topic, count).await;
    assert_eq!(
        distinct.len(),
        count,
        "missing {} messages; counters:{}",
        count - distinct.len(),
        stack.counters_report().await
    );
    assert_eq!(duplicates, 0, "no worker died, so no duplicates");

    let resource = format!("rule:{rule}");
    let first = stack.worker_counter(0, &resource, "actions.success").await;
    let second = stack.worker_counter(1, &resource, "actions.success").await;
    assert!(
        first > 0 && second > 0,
        "both workers did work: {first} + {second}"
    );
    assert_eq!(first + second, count as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_stream_in_sync_mode_loses_nothing() {
    let (mut stack, rule, topic, prefix) = two_workers("sync", 2).await;
    let count = 4_000;
    let mqtt = stack.env.mqtt.clone();
    // Paced, so the stream is still flowing when the worker dies and while it is away: the
    // broker then queues the dead worker's share in its persistent session, which the restarted
    // worker must process (a backlog that arrives before its rule is running).
    let publisher = tokio::spawn({
        let messages = messages(&prefix, count);
        async move {
            publish_paced(&mqtt, &unique("pub"), messages, Duration::from_millis(1)).await;
        }
    });
    // Kill one worker once it has taken part of the stream.
    let resource = format!("rule:{rule}");
    let started = wait_until(Duration::from_secs(30), || async {
        stack.worker_counter(0, &resource, "matched").await > 200
    })
    .await;
    assert!(started, "worker 0 never took messages");
    assert!(
        !publisher.is_finished(),
        "the stream must still flow when the worker dies"
    );
    stack.kill_worker(0).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.restart_worker(0).await;
    publisher.await.unwrap_or_else(|e| panic!("publisher: {e}"));

    let (distinct, duplicates) = consume_all_numbers(&stack.env.kafka, &topic, count).await;
    let missing: Vec<usize> = (0..count)
        .filter(|n| !distinct.contains(n))
        .take(20)
        .collect();
    assert!(missing.is_empty(), "lost messages (first 20): {missing:?}");
    eprintln!("kill -9 in sync mode: {count} delivered, {duplicates} duplicates");
}
