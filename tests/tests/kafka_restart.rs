//! Apache Kafka restarted while both directions flow, with real durability: the broker's data
//! directory survives, so "nothing lost" is checked against what the broker really kept.
//!
//! - MQTT → Kafka in `sync` mode: a message is acknowledged to MQTT only after Kafka acknowledged
//!   its record, so every number published before, during and after the restart must be in the
//!   topic afterwards.
//! - Kafka → MQTT: the source commits an offset only after MQTT acknowledged the publish, so after
//!   the restart it resumes from its committed offsets and every record arrives (duplicates
//!   allowed, no gaps).
//!
//! Once with SIGTERM (a clean shutdown, as in a rolling restart) and once with SIGKILL (a crash:
//! the broker recovers its log at the next start). The broker is a private one (the shared test
//! stack's is never touched). Needs `scripts/test-stack.sh start && source .test-stack/env` and
//! `cargo build --workspace --bins`.

mod kafka_to_mqtt_support;

use std::time::Duration;

use kafka_to_mqtt_support::*;
use serde_json::json;
use tributary_e2e::broker::SessionSubscriber;
use tributary_e2e::mqtt::publish_all;
use tributary_e2e::numbered::{NumberedFlow, consume_numbers};
use tributary_e2e::private_kafka::PrivateKafka;
use tributary_e2e::{Stack, kafka, unique, wait_until};

/// Each direction's messages: a third before the restart, a third while the broker is down or
/// starting (MQTT side) and a third after it.
const TOTAL: usize = 1_500;
const DOWN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
enum Restart {
    Graceful,
    Crash,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_stopped_with_sigterm_mid_stream_loses_nothing_either_way() {
    restart_mid_stream(Restart::Graceful).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_killed_with_sigkill_mid_stream_loses_nothing_either_way() {
    restart_mid_stream(Restart::Crash).await;
}

async fn restart_mid_stream(how: Restart) {
    let mut broker = PrivateKafka::start().await;
    let stack = Stack::start(1).await;
    let third = TOTAL / 3;

    // MQTT → Kafka.
    let sink = NumberedFlow::create(
        &stack,
        &broker.bootstrap,
        "krestart",
        2,
        json!({"query_mode": "sync", "sync_query_timeout": "5s"}),
        1,
    )
    .await;
    // Kafka → MQTT.
    let source_topic = unique("krestart-src");
    let mqtt_topic = format!("t/{}", unique("krestart"));
    kafka::create_topic(&broker.bootstrap, &source_topic, 2).await;
    let mut subscriber = SessionSubscriber::start(&stack.env.mqtt, &mqtt_topic).await;
    create_consumer_connector(&stack, &broker.bootstrap).await;
    let source = unique("src");
    create_source(
        &stack,
        &source,
        json!({
            "topic_mapping": [{
                "kafka_topic": source_topic,
                "mqtt_topic": mqtt_topic,
                "qos": 1,
                "payload_template": "${.value}"
            }],
            "offset_reset_policy": "earliest",
            "offset_commit_interval_seconds": 1
        }),
    )
    .await;

    // Before: both directions carry their first third.
    let numbers = |range: std::ops::Range<usize>| range.start as u32..range.end as u32;
    produce_numbered(
        &producer(&broker.bootstrap),
        &source_topic,
        2,
        numbers(0..third),
        &[],
    )
    .await;
    publish_all(&stack.env.mqtt, &unique("pub"), sink.messages(0..third, 4)).await;
    let mut tally = Tally::default();
    read_into(&mut subscriber, &mut tally, third, Duration::from_secs(60)).await;
    assert_eq!(
        tally.missing(0..third as u64),
        Vec::<u64>::new(),
        "Kafka → MQTT did not work before the restart"
    );
    let resource = sink.resource();
    let flowing = wait_until(Duration::from_secs(30), || async {
        stack.worker_counter(0, &resource, "actions.success").await >= third as u64
    })
    .await;
    assert!(flowing, "MQTT → Kafka did not work before the restart");

    // The source commits what MQTT acknowledged every second: let it, so that a resumption from
    // the committed offsets can be told apart from a re-read of the whole topic.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The restart, with MQTT messages arriving while Kafka is away.
    match how {
        Restart::Graceful => broker.stop().await,
        Restart::Crash => broker.kill().await,
    }
    publish_all(
        &stack.env.mqtt,
        &unique("pub"),
        sink.messages(third..2 * third, 4),
    )
    .await;
    tokio::time::sleep(DOWN).await;
    broker.restart().await;

    // After: the rest of both directions.
    publish_all(
        &stack.env.mqtt,
        &unique("pub"),
        sink.messages(2 * third..TOTAL, 4),
    )
    .await;
    produce_numbered(
        &producer(&broker.bootstrap),
        &source_topic,
        2,
        numbers(third..TOTAL),
        &[],
    )
    .await;

    let delivered = consume_numbers(
        &broker.bootstrap,
        &sink.topic,
        TOTAL,
        Duration::from_secs(120),
    )
    .await;
    let lost = delivered.missing(TOTAL);
    assert!(
        lost.is_empty(),
        "{how:?}: MQTT → Kafka lost {} messages (first 20: {:?}); counters:{}",
        lost.len(),
        &lost[..lost.len().min(20)],
        stack.counters_report().await
    );
    read_into(&mut subscriber, &mut tally, TOTAL, Duration::from_secs(120)).await;
    let gaps = tally.missing(0..TOTAL as u64);
    assert!(
        gaps.is_empty(),
        "{how:?}: Kafka → MQTT has {} gaps (first 20: {:?}); counters:{}",
        gaps.len(),
        &gaps[..gaps.len().min(20)],
        stack.counters_report().await
    );
    assert!(
        tally.duplicates() < third,
        "{how:?}: {} records reached MQTT twice: the source re-read the topic instead of resuming \
         from its committed offsets",
        tally.duplicates()
    );
    eprintln!(
        "Kafka restarted ({how:?}) mid-stream: {TOTAL} each way, duplicates {} to Kafka and {} to MQTT",
        delivered.duplicates,
        tally.duplicates()
    );
}
