//! Many `kafka_producer` actions on one connector share one Kafka client, against the test
//! stack's Apache Kafka: the worker's threads and open files do not grow with the number of
//! actions, every action still delivers its own records with its own counters, and the client
//! closes with the last action. Needs `scripts/test-stack.sh start && source .test-stack/env`.
// Test helpers: a failed setup step should stop the test loudly, so unwrap/expect are fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod source_support;

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};
use source_support::*;
use tokio_util::sync::CancellationToken;
use tributary_data_plane::sink::kafka::{KafkaSink, Origin, Outcome, Sent};
use tributary_protocol::assignment::KafkaProducerAction;

const ACTIONS: usize = 100;

/// A `sync` record's outcome.
async fn send(sink: &KafkaSink, row: &Value) -> Outcome {
    match sink.send(row, &Origin::default()).await {
        Sent::Awaited(outcome) => outcome.await,
        Sent::Counted => panic!("a sync record's outcome is awaited"),
    }
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_actions_on_one_connector_cost_one_client() {
    let topic = unique("shared");
    create_topic(&topic, 2).await;
    let (env, metrics, status) = flow_env("sharing-test");
    let stop = CancellationToken::new();
    let (threads_before, files_before) = (threads(), open_files());

    let actions: Vec<KafkaProducerAction> = (0..ACTIONS)
        .map(|i| {
            let action = kafka_action(&format!("shared-{i}"), &kafka(), &topic, "sync");
            serde_json::from_value(action).unwrap()
        })
        .collect();
    let sinks: Vec<KafkaSink> = actions
        .iter()
        .map(|action| KafkaSink::start(action, &env, stop.child_token()).unwrap())
        .collect();
    assert_eq!(env.kafka_producers.open(), 1);

    // Every action delivers its own record and counts it as its own. The first one alone: it
    // fills the client's topic cache, which every other action then reads.
    let row: Value = json!({"key": "warm-up", "value": "warm-up"});
    assert_eq!(send(&sinks[0], &row).await, Outcome::Delivered);
    let pending = join_all(sinks.iter().enumerate().map(|(i, sink)| async move {
        let row: Value = json!({"key": format!("k{i}"), "value": format!("{i}")});
        send(sink, &row).await
    }))
    .await;
    assert!(
        pending.iter().all(|o| *o == Outcome::Delivered),
        "{pending:?}"
    );
    for action in &actions {
        let counters = metrics.resource(&format!("action:{}", action.action_id));
        let own = if action.action_id.ends_with("shared-0") {
            2
        } else {
            1
        };
        assert_eq!(counters.get("success"), own, "{}", action.action_id);
    }
    let records = consume(&topic, ACTIONS + 1, Duration::from_secs(30)).await;
    assert_eq!(records.len(), ACTIONS + 1);

    // One librdkafka client is a handful of threads and a connection per broker; a hundred
    // would be hundreds of each.
    let (threads_during, files_during) = (threads(), open_files());
    assert!(
        threads_during <= threads_before + 12,
        "{threads_before} threads before, {threads_during} with {ACTIONS} actions"
    );
    assert!(
        files_during <= files_before + 12,
        "{files_before} open files before, {files_during} with {ACTIONS} actions"
    );
    let connector = "kafka_producer:test_kafka_out";
    let reported = tokio::time::timeout(Duration::from_secs(10), async {
        while !status.snapshot().contains_key(connector) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        reported.is_ok(),
        "the shared client's health check reports the connector"
    );

    // The client closes with the last action, and the connector's status goes with it.
    stop.cancel();
    for sink in &sinks {
        sink.flush(Duration::from_secs(1)).await;
    }
    drop(sinks);
    // The actions' own tasks (gauges, buffer pump) see the stop and let go of the client.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while env.kafka_producers.open() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "the client outlived its last action");
    let cleared = tokio::time::timeout(Duration::from_secs(10), async {
        while status.snapshot().contains_key(connector) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        cleared.is_ok(),
        "the status of a connector no action uses is removed"
    );
    let released = tokio::time::timeout(Duration::from_secs(15), async {
        while threads() > threads_before + 2 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        released.is_ok(),
        "the client's threads end with it: {threads_before} before, {} now",
        threads()
    );
}
