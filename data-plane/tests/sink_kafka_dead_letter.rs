//! Records that fail for good go to the action's dead-letter topic, against the test stack's
//! Apache Kafka. The broker refuses them (the topic's `max.message.bytes` is smaller than the
//! record), so the failure arrives in the delivery report: awaited by the message in `sync`
//! mode, counted where the report lands in `async` mode, which rebuilds the record from what
//! librdkafka reported. Needs `scripts/test-stack.sh start && source .test-stack/env`.
// Test helpers: a failed setup step should stop the test loudly, so unwrap/expect are fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod source_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use serde_json::{Value, json};
use source_support::*;
use tokio_util::sync::CancellationToken;
use tributary_data_plane::sink::kafka::delivery::FailureReason;
use tributary_data_plane::sink::kafka::{KafkaSink, Origin, Outcome, Sent};
use tributary_data_plane::telemetry::RuleCounters;
use tributary_protocol::assignment::KafkaProducerAction;

/// The most a record of the refusing topic may have; the failing record has four times that.
const TOPIC_MAX_BYTES: usize = 1024;

async fn create_small_topic(name: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .create()
        .unwrap();
    let max = TOPIC_MAX_BYTES.to_string();
    let topic = NewTopic::new(name, 1, TopicReplication::Fixed(1)).set("max.message.bytes", &max);
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics([&topic], &options).await.unwrap() {
        result.unwrap();
    }
}

/// A dead-letter record: key, value and headers.
#[derive(Debug)]
struct Letter {
    key: Option<String>,
    value: String,
    headers: HashMap<String, String>,
}

async fn first_letter(topic: &str) -> Letter {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .set("group.id", unique("dead-letter-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(Ok(message)) => {
                let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
                let headers = message
                    .headers()
                    .map(|headers| {
                        headers
                            .iter()
                            .map(|h| (h.key.to_owned(), h.value.map(text).unwrap_or_default()))
                            .collect()
                    })
                    .unwrap_or_default();
                return Letter {
                    key: message.key().map(text),
                    value: message.payload().map(text).unwrap_or_default(),
                    headers,
                };
            }
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => panic!("no record on the dead-letter topic {topic} within 30 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_broker_refuses_goes_to_the_dead_letter_topic_in_both_modes() {
    for mode in ["sync", "async"] {
        let topic = unique(&format!("small-{mode}"));
        let dead_letters = unique(&format!("dead-letters-{mode}"));
        create_small_topic(&topic).await;
        create_topic(&dead_letters, 1).await;
        let (env, metrics, _) = flow_env(&format!("dead-letter-{mode}"));
        let mut action = kafka_action(&format!("dead-letter-{mode}"), &kafka(), &topic, mode);
        action["parameters"]["dead_letter_topic"] = json!(dead_letters);
        let action: KafkaProducerAction = serde_json::from_value(action).unwrap();
        let stop = CancellationToken::new();
        let sink = KafkaSink::start(&action, &env, stop.child_token()).unwrap();
        let counters = metrics.resource(&format!("action:{}", action.action_id));
        let rule = metrics.resource(&format!("rule:dead-letter-{mode}"));
        let origin = Origin {
            rule: Some(Arc::new(RuleCounters::new(Arc::clone(&rule)))),
            received_at_ms: None,
        };

        let key = format!("too-large-{mode}");
        let row: Value = json!({"key": key, "value": "x".repeat(4 * TOPIC_MAX_BYTES)});
        match sink.send(&row, &origin).await {
            Sent::Awaited(outcome) => {
                assert_eq!(mode, "sync");
                let outcome = tokio::time::timeout(Duration::from_secs(30), outcome)
                    .await
                    .expect("an outcome within 30 s");
                assert_eq!(outcome, Outcome::Failed(FailureReason::TooLarge));
            }
            Sent::Counted => assert_eq!(mode, "async", "only async outcomes are counted"),
        }
        let lettered = eventually(Duration::from_secs(30), || {
            counters.get("dead_lettered") == 1
        })
        .await;
        assert!(
            lettered,
            "{mode}: failed {}, dropped {}, success {}",
            counters.get("failed"),
            counters.get("dropped"),
            counters.get("success")
        );
        assert_eq!(counters.get("failed"), 1, "{mode}");
        assert_eq!(counters.get("dropped.too_large"), 1, "{mode}");
        assert_eq!(counters.get("success"), 0, "{mode}");
        // The rule counts what nobody awaited; a `sync` record's message counts it itself.
        let rule_failed = if mode == "async" { 1 } else { 0 };
        assert_eq!(rule.get("actions.failed"), rule_failed, "{mode}");

        let letter = first_letter(&dead_letters).await;
        assert_eq!(letter.key.as_deref(), Some(key.as_str()), "{mode}");
        assert_eq!(letter.value, "", "{mode}: too large stays too large");
        assert_eq!(
            letter.headers.get("tributary-error").map(String::as_str),
            Some("message_too_large"),
            "{mode}: {letter:?}"
        );
        assert_eq!(
            letter.headers.get("tributary-original-topic"),
            Some(&topic),
            "{mode}"
        );
        stop.cancel();
    }
}
