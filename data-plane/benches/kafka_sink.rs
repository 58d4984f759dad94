//! One `kafka_producer` action from `send` to the record's outcome, through librdkafka against
//! its in-process mock cluster (no broker process, no MQTT): `async` records are counted where
//! their delivery reports land (`sink/kafka/outcomes.rs`), `sync` ones are awaited as a rule
//! flow awaits them. Each iteration sends a batch and ends when every outcome is in, so the time
//! per record is that of the busiest thread at saturation (the runtime's, librdkafka's, or the
//! mock broker's, all in this process): compare the two modes, and builds, in the same run.
//!
//! `cargo bench -p tributary-data-plane --bench kafka_sink -- --warm-up-time 1 --measurement-time 5`

// A benchmark whose setup fails should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::mocking::MockCluster;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tributary_data_plane::flow::FlowEnv;
use tributary_data_plane::sink::kafka::{KafkaSink, Origin, Outcome, Sent};
use tributary_data_plane::telemetry::{MetricsHub, ResourceMetrics, RuleCounters, StatusBoard};
use tributary_protocol::assignment::KafkaProducerAction;

const TOPIC: &str = "bench-sink";
/// Records per iteration: enough to keep librdkafka's batches full.
const BATCH: usize = 1000;

/// A row as the benchmark harness's rule makes it (bench/src/flows.rs).
fn row(seq: usize) -> Value {
    json!({"temp": 23.5, "clientid": "sensor-0001", "seq": seq, "sent_at_us": 1_764_800_000_000_000_i64})
}

fn action(bootstrap: &str, mode: &str) -> KafkaProducerAction {
    serde_json::from_value(json!({
        "action_id": format!("kafka_producer:bench-{mode}"),
        "connector_name": "bench",
        "connector": {"bootstrap_hosts": bootstrap},
        "parameters": {"topic": TOPIC, "query_mode": mode},
    }))
    .unwrap()
}

/// Sends the rows and waits for every outcome: the awaited ones, then the action's counters for
/// the rest.
async fn send_batch(sink: &KafkaSink, counters: &ResourceMetrics, origin: &Origin, rows: &[Value]) {
    let delivered = counters.get("success") + rows.len() as u64;
    let mut awaited = FuturesUnordered::new();
    for row in rows {
        if let Sent::Awaited(outcome) = sink.send(row, origin).await {
            awaited.push(outcome);
        }
    }
    while let Some(outcome) = awaited.next().await {
        assert_eq!(outcome, Outcome::Delivered);
    }
    // Returns as soon as the action has nothing in librdkafka: the counted reports are in.
    sink.flush(Duration::from_secs(30)).await;
    assert_eq!(
        counters.get("success"),
        delivered,
        "every record delivered; failed {}, dropped {}",
        counters.get("failed"),
        counters.get("dropped")
    );
}

fn bench_kafka_sink(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(TOPIC, 1, 1).unwrap();
    let metrics = MetricsHub::new();
    let env = FlowEnv::new("bench", metrics.clone(), StatusBoard::default());
    let origin = Origin {
        rule: Some(Arc::new(RuleCounters::new(metrics.resource("rule:bench")))),
        received_at_ms: None,
    };
    let rows: Vec<Value> = (0..BATCH).map(row).collect();
    let stop = CancellationToken::new();
    let mut group = c.benchmark_group("kafka_sink");
    group.throughput(Throughput::Elements(BATCH as u64));
    for mode in ["async", "sync"] {
        let action = action(&cluster.bootstrap_servers(), mode);
        let sink = runtime
            .block_on(async { KafkaSink::start(&action, &env, stop.child_token()) })
            .unwrap();
        let counters = metrics.resource(&format!("action:{}", action.action_id));
        group.bench_function(format!("{mode}_send_to_outcome"), |b| {
            b.iter(|| runtime.block_on(send_batch(&sink, &counters, &origin, &rows)));
        });
    }
    group.finish();
    stop.cancel();
}

criterion_group!(benches, bench_kafka_sink);
criterion_main!(benches);
