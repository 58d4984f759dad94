//! The `async` memory buffer of the `kafka_producer` action against the test stack's Apache Kafka:
//! `KafkaSink` driven directly, its bootstrap address behind a gate that keeps Kafka unreachable
//! until the test opens it. Needs `scripts/test-stack.sh start && source .test-stack/env`.
// Test helpers: a failed setup step should stop the test loudly, so unwrap/expect are fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod source_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};
use source_support::*;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tributary_data_plane::sink::kafka::{KafkaSink, Outcome, PendingOutcome};
use tributary_data_plane::telemetry::ResourceMetrics;
use tributary_protocol::assignment::KafkaProducerAction;

/// Bytes of each record's value (no key, no headers): what it counts against the limit.
const RECORD_BYTES: usize = 100;
/// Ten records per partition.
const BUFFERED: usize = 10;
const RECORDS: usize = 40;

/// A TCP port in front of Kafka that drops every connection until opened: Kafka unreachable,
/// then back. Only the bootstrap goes through it (the broker then advertises its own address).
struct Gate {
    address: String,
    open: Arc<AtomicBool>,
}

impl Gate {
    async fn closed() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let open = Arc::new(AtomicBool::new(false));
        let is_open = Arc::clone(&open);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !is_open.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                tokio::spawn(async move {
                    let Ok(mut upstream) = TcpStream::connect(kafka()).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        Self { address, open }
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

fn action(bootstrap: &str, topic: &str) -> KafkaProducerAction {
    let mut action = kafka_action(&unique("buffered"), bootstrap, topic, "async");
    action["connector"]["metadata_request_timeout"] = json!("100ms");
    action["parameters"]["buffer"] =
        json!({"per_partition_limit": format!("{}B", BUFFERED * RECORD_BYTES)});
    // librdkafka gets room for about ten records; the rest wait in the memory buffer.
    action["parameters"]["max_batch_bytes"] = json!("1KB");
    action["parameters"]["max_inflight"] = json!(1);
    serde_json::from_value(action).unwrap()
}

/// `000123-xxxx…`, `RECORD_BYTES` long.
fn value(n: usize) -> String {
    let prefix = format!("{n:06}-");
    format!("{prefix}{}", "x".repeat(RECORD_BYTES - prefix.len()))
}

fn number(value: &str) -> usize {
    value[..6].parse().unwrap()
}

/// An async sink for `topic` whose Kafka is behind a closed gate, with its action's counters and
/// the token that stops it.
async fn sink_behind_closed_gate(
    topic: &str,
) -> (Gate, KafkaSink, Arc<ResourceMetrics>, CancellationToken) {
    let gate = Gate::closed().await;
    let (env, metrics, _status) = flow_env("buffer-test");
    let stop = CancellationToken::new();
    let action = action(&gate.address, topic);
    let sink = KafkaSink::start(&action, &env, stop.clone()).unwrap();
    let counters = metrics.resource(&format!("action:{}", action.action_id));
    (gate, sink, counters, stop)
}

/// Sends `RECORDS` numbered records; in async mode none of the sends waits for Kafka.
async fn send_all(sink: &KafkaSink) -> Vec<PendingOutcome> {
    let sending = async {
        let mut pending = Vec::with_capacity(RECORDS);
        for n in 0..RECORDS {
            let row: Value = json!({"value": value(n)});
            pending.push(sink.send(&row).await);
        }
        pending
    };
    // Each send asks for the topic's metadata (100 ms at most while Kafka is unreachable).
    tokio::time::timeout(Duration::from_secs(20), sending)
        .await
        .expect("async sends do not wait for Kafka")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_unreachable_drops_the_oldest_buffered_records_and_delivers_the_newest() {
    let topic = unique("buffer-limit");
    create_topic(&topic, 1).await;
    let (gate, sink, counters, stop) = sink_behind_closed_gate(&topic).await;

    let pending = send_all(&sink).await;
    let dropped = counters.get("dropped.queue_full") as usize;
    assert!(dropped > 0, "a buffer of ten records overflows");
    assert!(
        dropped <= RECORDS - BUFFERED,
        "the newest ten stay buffered"
    );
    assert_eq!(counters.get("dropped") as usize, dropped);

    gate.open();
    let outcomes = tokio::time::timeout(Duration::from_secs(60), join_all(pending))
        .await
        .expect("every record is delivered or dropped once Kafka is back");
    let delivered = outcomes
        .iter()
        .filter(|o| **o == Outcome::Delivered)
        .count();
    assert_eq!(delivered + dropped, RECORDS, "outcomes: {outcomes:?}");
    assert_eq!(counters.get("success") as usize, delivered);

    let values: Vec<usize> = consume(&topic, delivered, Duration::from_secs(30))
        .await
        .iter()
        .map(|(_, value)| number(value))
        .collect();
    assert_eq!(values.len(), delivered);
    assert!(
        values.windows(2).all(|w| w[0] < w[1]),
        "the partition keeps the order of the sends: {values:?}"
    );
    let newest: Vec<usize> = (RECORDS - BUFFERED..RECORDS).collect();
    assert!(
        values.ends_with(&newest),
        "the newest ten records survive: {values:?}"
    );
    // The dropped ones are one run: after those librdkafka took first, before the newest.
    let runs = values.windows(2).filter(|w| w[1] != w[0] + 1).count();
    assert_eq!(runs, 1, "one run of records was dropped: {values:?}");

    sink.flush(Duration::from_secs(5)).await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_still_buffered_at_flush_are_dropped_and_counted() {
    let topic = unique("buffer-flush");
    let (_gate, sink, counters, stop) = sink_behind_closed_gate(&topic).await;

    let pending = send_all(&sink).await;
    let queue_full = counters.get("dropped.queue_full");
    sink.flush(Duration::from_millis(300)).await;
    let stopped = counters.get("dropped.resource_stopped");
    assert_eq!(
        stopped as usize, BUFFERED,
        "the buffered records are dropped at flush"
    );
    assert_eq!(counters.get("dropped"), stopped + queue_full);
    // Their outcomes say so at once; the records librdkafka holds are still waiting for Kafka.
    let resolved = pending.into_iter().map(|p| async {
        tokio::time::timeout(Duration::from_millis(200), p)
            .await
            .ok()
    });
    let dropped_outcomes = join_all(resolved)
        .await
        .into_iter()
        .filter(|o| matches!(o, Some(Outcome::Expired(_))))
        .count();
    assert_eq!(dropped_outcomes as u64, stopped + queue_full);
    stop.cancel();
}
