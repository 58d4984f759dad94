//! Graceful shutdown in `sync` mode: SIGTERM mid-stream stops intake, lets in-flight messages
//! finish (Kafka acknowledgement, then PUBACK), and exits; the restarted worker picks up what the
//! broker kept for its persistent session. Nothing is lost.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;
use tributary_e2e::kafka;
use tributary_e2e::mqtt::{Message, publish_all};
use tributary_e2e::{Stack, unique, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_in_sync_mode_drains_and_loses_nothing() {
    let mut stack = Stack::start(1).await;
    let api = stack.api();
    api.create_default_mqtt_connector(&stack.env.mqtt).await;
    api.create_kafka_producer_connector("kafka", &stack.env.kafka)
        .await;
    let topic = unique("drain");
    kafka::create_topic(&stack.env.kafka, &topic, 2).await;
    let action = unique("sink");
    api.create_kafka_action(
        &action,
        "kafka",
        json!({"topic": topic, "query_mode": "sync", "max_linger_time": "5ms",
               "message": {"value": "${payload.n}"}}),
    )
    .await;
    let prefix = unique("drain");
    let rule = api
        .create_rule(
            &unique("rule"),
            &format!("SELECT payload FROM \"{prefix}/#\""),
            json!([format!("kafka_producer:{action}")]),
        )
        .await;
    let resource = format!("rule:{rule}");
    stack.wait_flow_running(&resource, 1).await;

    let count = 3_000;
    let publisher = tokio::spawn({
        let mqtt = stack.env.mqtt.clone();
        let messages: Vec<Message> = (0..count)
            .map(|n| Message::new(&format!("{prefix}/{}", n % 4), json!({"n": n}).to_string()))
            .collect();
        async move { publish_all(&mqtt, &unique("pub"), messages).await }
    });
    let started = wait_until(Duration::from_secs(30), || async {
        stack.worker_counter(0, &resource, "matched").await > 300
    })
    .await;
    assert!(started, "the worker never took messages");

    let asked = Instant::now();
    let status = stack.stop_worker(0).await;
    let took = asked.elapsed();
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM must end in a clean exit: {status:?}"
    );
    // Draining is bounded: flows get 10 s for their in-flight messages, producers 5 s to flush.
    assert!(took < Duration::from_secs(20), "shutdown took {took:?}");
    stack.restart_worker(0).await;
    publisher.await.unwrap_or_else(|e| panic!("publisher: {e}"));

    let mut distinct = BTreeSet::new();
    let records = kafka::consume_until(
        &stack.env.kafka,
        &topic,
        Duration::from_secs(60),
        |record| {
            if let Ok(n) = record.value.parse::<usize>() {
                distinct.insert(n);
            }
            distinct.len() >= count
        },
    )
    .await;
    let missing: Vec<usize> = (0..count).filter(|n| !distinct.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "lost {} messages (first 20: {:?})",
        missing.len(),
        &missing[..missing.len().min(20)]
    );
    let duplicates = records.len() - distinct.len();
    eprintln!(
        "SIGTERM in sync mode: stopped in {took:?}, {count} delivered, {duplicates} duplicates"
    );
    // A clean drain acknowledges every message it finished before disconnecting, and copies that
    // arrive meanwhile wait instead of forcing a reconnect; duplicates then only come from a
    // record still unacknowledged by Kafka when the drain time ran out (the worker before that
    // fix left 700-2000 here).
    assert!(
        duplicates <= count / 100,
        "{duplicates} duplicates after a clean shutdown"
    );
}
