//! A producer client that had a fatal error is replaced, against the test stack's Apache Kafka.
//!
//! An idempotent producer whose sequence numbers fell out of step with the broker's (after a
//! broker stall longer than `message.timeout.ms`) refuses every record from then on. Before the
//! fix, a `sync` action retried on the dead client for ever: its rule stopped acknowledging and
//! nothing reached Kafka until the worker restarted. librdkafka's test hook raises the same error
//! here. Needs `scripts/test-stack.sh start && source .test-stack/env`.
// Test helpers: a failed setup step should stop the test loudly, so unwrap/expect are fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod source_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use rdkafka::producer::Producer;
use rdkafka::types::RDKafkaRespErr;
use serde_json::{Value, json};
use source_support::*;
use tokio_util::sync::CancellationToken;
use tributary_data_plane::sink::kafka::{KafkaSink, Origin, Outcome, Sent};
use tributary_data_plane::telemetry::ResourceMetrics;
use tributary_protocol::assignment::KafkaProducerAction;

const RECORDS: usize = 20;

/// An action and its counters.
struct TestSink {
    sink: KafkaSink,
    counters: Arc<ResourceMetrics>,
}

fn start_sink(name: &str, topic: &str, mode: &str, stop: &CancellationToken) -> TestSink {
    let (env, metrics, _) = flow_env(name);
    let mut action = kafka_action(name, &kafka(), topic, mode);
    // The health check is the only one to notice a fatal error while nothing is produced.
    action["connector"]["resource_opts"] = json!({"health_check_interval": "1s"});
    let action: KafkaProducerAction = serde_json::from_value(action).unwrap();
    TestSink {
        sink: KafkaSink::start(&action, &env, stop.child_token()).unwrap(),
        counters: metrics.resource(&format!("action:{}", action.action_id)),
    }
}

fn raise_fatal_error(sink: &KafkaSink) {
    let client = sink.producer().current();
    client
        .client()
        .trigger_test_fatal_error(
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
            "raised by the test",
        )
        .unwrap();
    assert!(client.client().fatal_error().is_some());
}

fn has_fatal_error(sink: &KafkaSink) -> bool {
    sink.producer().current().client().fatal_error().is_some()
}

/// Sends one record per key at once and waits, 30 s at most, until each is delivered: a `sync`
/// record's outcome is awaited (a `sync` send on a dead client waits for ever), an `async`
/// record's is read from the action's counters. What went otherwise, if anything.
async fn deliver(sink: &TestSink, keys: &[String]) -> Vec<String> {
    let delivered_before = sink.counters.get("success");
    let sends = keys.iter().map(|key| async move {
        let row: Value = json!({"key": key, "value": "v"});
        let outcome = match sink.sink.send(&row, &Origin::default()).await {
            Sent::Awaited(outcome) => outcome,
            Sent::Counted => return None,
        };
        match tokio::time::timeout(Duration::from_secs(30), outcome).await {
            Ok(Outcome::Delivered) => None,
            Ok(outcome) => Some(format!("{key}: {outcome:?}")),
            Err(_) => Some(format!("{key}: no outcome within 30 s")),
        }
    });
    let mut problems: Vec<String> = join_all(sends).await.into_iter().flatten().collect();
    let expected = delivered_before + keys.len() as u64;
    let counted = eventually(Duration::from_secs(30), || {
        sink.counters.get("success") >= expected
    })
    .await;
    if !counted {
        problems.push(format!(
            "{} of {} records delivered; failed {}, dropped {}",
            sink.counters.get("success") - delivered_before,
            keys.len(),
            sink.counters.get("failed"),
            sink.counters.get("dropped")
        ));
    }
    problems
}

async fn keys_in(topic: &str, expected: usize) -> BTreeSet<String> {
    consume(topic, expected, Duration::from_secs(30))
        .await
        .into_iter()
        .filter_map(|(key, _)| key)
        .collect()
}

/// The first record refused for the fatal error replaces the client, and every record sent
/// after the error reaches Kafka: produced again through the new client in `sync` mode, handed
/// on by the memory buffer's pump in `async` mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_refused_for_a_fatal_error_are_produced_through_a_new_client() {
    for mode in ["sync", "async"] {
        let topic = unique(&format!("fatal-{mode}"));
        create_topic(&topic, 2).await;
        let stop = CancellationToken::new();
        let sink = start_sink(&format!("fatal-{mode}"), &topic, mode, &stop);
        assert_eq!(
            deliver(&sink, &["before".into()]).await,
            Vec::<String>::new()
        );

        raise_fatal_error(&sink.sink);
        let after: Vec<String> = (0..RECORDS).map(|i| format!("after-{i}")).collect();
        assert_eq!(deliver(&sink, &after).await, Vec::<String>::new(), "{mode}");
        assert!(
            !has_fatal_error(&sink.sink),
            "{mode}: the client was replaced"
        );

        let keys = keys_in(&topic, RECORDS + 1).await;
        let expected: BTreeSet<String> = std::iter::once("before".to_owned())
            .chain((0..RECORDS).map(|i| format!("after-{i}")))
            .collect();
        assert_eq!(keys, expected, "{mode}");
        stop.cancel();
    }
}

/// A client that had a fatal error while idle is replaced by its health check, before the next
/// record needs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_check_replaces_an_idle_client_after_a_fatal_error() {
    let topic = unique("fatal-idle");
    create_topic(&topic, 1).await;
    let stop = CancellationToken::new();
    let sink = start_sink("fatal-idle", &topic, "sync", &stop);
    assert_eq!(
        deliver(&sink, &["before".into()]).await,
        Vec::<String>::new()
    );

    raise_fatal_error(&sink.sink);
    let replaced = eventually(Duration::from_secs(10), || !has_fatal_error(&sink.sink)).await;
    assert!(replaced, "the health check replaced the client");
    assert_eq!(
        deliver(&sink, &["after".into()]).await,
        Vec::<String>::new()
    );
    let keys = keys_in(&topic, 2).await;
    assert_eq!(
        keys,
        BTreeSet::from(["before".to_owned(), "after".to_owned()])
    );
    stop.cancel();
}
