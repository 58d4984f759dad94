//! The MQTT broker restarted while a source delivers, with the real binaries: unacknowledged
//! publishes are sent again after the reconnect and no offset is committed past them, so every
//! record arrives (duplicates allowed, no gaps). The test's own Mosquitto is the `default` MQTT
//! connector. Needs `scripts/test-stack.sh start && source .test-stack/env` and
//! `cargo build --workspace --bins`.

mod kafka_to_mqtt_support;

use std::time::Duration;

use kafka_to_mqtt_support::*;
use serde_json::json;
use tributary_e2e::broker::{PrivateMosquitto, SessionSubscriber};
use tributary_e2e::{Stack, kafka, unique, wait_until};

const TOTAL: u32 = 3_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_stream_leaves_no_gap() {
    let mut stack = Stack::start(1).await;
    let mut broker = PrivateMosquitto::start();
    let topic = unique("restart");
    let mqtt_topic = format!("t/{}", unique("e2e-restart"));
    kafka::create_topic(&stack.env.kafka, &topic, 3).await;
    produce_numbered(&producer(&stack.env.kafka), &topic, 3, 0..TOTAL, &[]).await;
    let mut subscriber = SessionSubscriber::start(&broker.server(), &mqtt_topic).await;

    create_connectors(&stack, &broker.server()).await;
    let source = unique("src");
    create_source(
        &stack,
        &source,
        json!({
            "topic_mapping": [{
                "kafka_topic": topic,
                "mqtt_topic": mqtt_topic,
                "qos": 1,
                "payload_template": "${.value}"
            }],
            "offset_reset_policy": "earliest",
            "max_inflight": 200
        }),
    )
    .await;

    let mut tally = Tally::default();
    read_into(&mut subscriber, &mut tally, 300, Duration::from_secs(60)).await;
    assert!(
        tally.distinct() >= 300,
        "only {} records arrived before the restart",
        tally.distinct()
    );
    let before = tally.distinct();
    let broker = tokio::task::spawn_blocking(move || {
        broker.restart(Duration::from_secs(2));
        broker
    })
    .await
    .unwrap_or_else(|e| panic!("restart: {e}"));
    read_into(
        &mut subscriber,
        &mut tally,
        TOTAL as usize,
        Duration::from_secs(90),
    )
    .await;
    assert_eq!(
        tally.missing(0..u64::from(TOTAL)),
        Vec::<u64>::new(),
        "gaps after the restart ({before} had arrived before it)"
    );
    assert!(
        before < TOTAL as usize,
        "everything arrived before the restart: it proved nothing"
    );
    eprintln!(
        "broker restart after {before} records: {} duplicates",
        tally.duplicates()
    );
    // The worker counts a record once the broker's PUBACK is read, which can be a moment after
    // the subscriber got the message.
    let resource = format!("source:kafka_consumer:{source}");
    let counted = wait_until(Duration::from_secs(10), || async {
        stack.worker_counter(0, &resource, "success").await >= u64::from(TOTAL)
    })
    .await;
    assert!(
        counted,
        "the worker counted {} records as delivered, of {TOTAL}",
        stack.worker_counter(0, &resource, "success").await
    );
    stack.stop_worker(0).await;
    drop(broker);
}
