//! The `async` memory buffer of the `kafka_producer` action against the test stack's Apache Kafka:
//! `KafkaSink` driven directly, its bootstrap address behind a gate that keeps Kafka unreachable
//! until the test opens it. Needs `scripts/test-stack.sh start && source .test-stack/env`.
// Test helpers: a failed setup step should stop the test loudly, so unwrap/expect are fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod source_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use source_support::*;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tributary_data_plane::sink::kafka::{KafkaSink, Origin, Sent};
use tributary_data_plane::telemetry::{ResourceMetrics, RuleCounters};
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

/// An async sink for `topic` whose Kafka is behind a closed gate.
struct Fixture {
    gate: Gate,
    sink: KafkaSink,
    /// The action's counters.
    counters: Arc<ResourceMetrics>,
    /// The counters of the rule the records come from.
    rule: Arc<ResourceMetrics>,
    origin: Origin,
    stop: CancellationToken,
}

async fn sink_behind_closed_gate(topic: &str) -> Fixture {
    let gate = Gate::closed().await;
    let (env, metrics, _status) = flow_env("buffer-test");
    let stop = CancellationToken::new();
    let action = action(&gate.address, topic);
    let sink = KafkaSink::start(&action, &env, stop.clone()).unwrap();
    let counters = metrics.resource(&format!("action:{}", action.action_id));
    let rule = metrics.resource("rule:buffered");
    let origin = Origin {
        rule: Some(Arc::new(RuleCounters::new(Arc::clone(&rule)))),
        received_at_ms: None,
    };
    Fixture {
        gate,
        sink,
        counters,
        rule,
        origin,
        stop,
    }
}

/// Sends `RECORDS` numbered records; in async mode none of the sends waits for Kafka, and
/// nothing is left to await: the action counts the outcomes.
async fn send_all(fixture: &Fixture) {
    let sending = async {
        for n in 0..RECORDS {
            let row: Value = json!({"value": value(n)});
            let sent = fixture.sink.send(&row, &fixture.origin).await;
            assert!(matches!(sent, Sent::Counted), "record {n}: {sent:?}");
        }
    };
    // Each send asks for the topic's metadata (100 ms at most while Kafka is unreachable).
    tokio::time::timeout(Duration::from_secs(20), sending)
        .await
        .expect("async sends do not wait for Kafka");
}

/// Waits until the action counted `records` outcomes (delivered or dropped).
async fn outcomes_counted(counters: &ResourceMetrics, records: u64, within: Duration) {
    let counted = || counters.get("success") + counters.get("dropped") + counters.get("failed");
    tokio::time::timeout(within, async {
        while counted() < records {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} of {records} outcomes counted", counted()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_unreachable_drops_the_oldest_buffered_records_and_delivers_the_newest() {
    let topic = unique("buffer-limit");
    create_topic(&topic, 1).await;
    let fixture = sink_behind_closed_gate(&topic).await;
    let counters = &fixture.counters;

    send_all(&fixture).await;
    let dropped = counters.get("dropped.queue_full") as usize;
    assert!(dropped > 0, "a buffer of ten records overflows");
    assert!(
        dropped <= RECORDS - BUFFERED,
        "the newest ten stay buffered"
    );
    assert_eq!(counters.get("dropped") as usize, dropped);

    fixture.gate.open();
    // Every record is delivered or dropped once Kafka is back.
    outcomes_counted(counters, RECORDS as u64, Duration::from_secs(60)).await;
    let delivered = counters.get("success") as usize;
    assert_eq!(delivered + dropped, RECORDS);
    assert_eq!(counters.get("failed"), 0);
    // The rule the records came from counts them too.
    assert_eq!(fixture.rule.get("actions.success") as usize, delivered);
    assert_eq!(fixture.rule.get("actions.failed") as usize, dropped);

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

    fixture.sink.flush(Duration::from_secs(5)).await;
    fixture.stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_still_buffered_at_flush_are_dropped_and_counted() {
    let topic = unique("buffer-flush");
    let fixture = sink_behind_closed_gate(&topic).await;
    let counters = &fixture.counters;

    send_all(&fixture).await;
    let queue_full = counters.get("dropped.queue_full");
    fixture.sink.flush(Duration::from_millis(300)).await;
    let stopped = counters.get("dropped.resource_stopped");
    assert_eq!(
        stopped as usize, BUFFERED,
        "the buffered records are dropped at flush"
    );
    assert_eq!(counters.get("dropped"), stopped + queue_full);
    // Their rule counts them as failed at once; the records librdkafka holds are still waiting
    // for Kafka.
    assert_eq!(fixture.rule.get("actions.failed"), stopped + queue_full);
    assert_eq!(fixture.rule.get("actions.success"), 0);
    fixture.stop.cancel();
}
