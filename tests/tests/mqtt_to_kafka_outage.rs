//! Kafka goes away in `sync` mode and nothing is lost.
//!
//! The outage is a hung broker: a private Apache Kafka is frozen with SIGSTOP for ~10 s and thawed
//! with SIGCONT (restarts, clean and crashed, are `kafka_restart.rs`). A hung broker is the harder
//! case for the worker: its connections stay open and requests go unanswered, so records time
//! out (`sync_query_timeout`) and must be produced again.
//!
//! "Nothing acknowledged to MQTT before Kafka acknowledged it" is proven rather than assumed:
//! while Kafka is still frozen the worker is killed with SIGKILL (no drain, no goodbye) and
//! started again under the same name. Every message published during the outage must still
//! arrive after it, which is only possible if the broker kept them unacknowledged for the
//! worker's persistent session.

use std::time::Duration;

use serde_json::json;
use tributary_e2e::mqtt::publish_all;
use tributary_e2e::numbered::{NumberedFlow, consume_numbers};
use tributary_e2e::private_kafka::PrivateKafka;
use tributary_e2e::{Stack, unique, wait_until};

const OUTAGE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_hung_for_ten_seconds_in_sync_mode_loses_nothing() {
    let private = PrivateKafka::start().await;
    let mut stack = Stack::start(1).await;
    let flow = NumberedFlow::create(
        &stack,
        &private.bootstrap,
        "outage",
        2,
        json!({"query_mode": "sync", "sync_query_timeout": "3s"}),
        1,
    )
    .await;
    let resource = flow.resource();

    // Before: the path works.
    let (before, during, after) = (0..100, 100..400, 400..500);
    publish_all(&stack.env.mqtt, &unique("pub"), flow.messages(before, 4)).await;
    let delivered = wait_until(Duration::from_secs(30), || async {
        stack.worker_counter(0, &resource, "actions.success").await >= 100
    })
    .await;
    assert!(delivered, "the first 100 never reached Kafka");

    // During: Kafka hangs; MQTT keeps accepting messages, the worker must keep them unacknowledged.
    private.pause();
    let paused_at = std::time::Instant::now();
    publish_all(&stack.env.mqtt, &unique("pub"), flow.messages(during, 4)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let success_during = stack.worker_counter(0, &resource, "actions.success").await;
    assert_eq!(
        success_during, 100,
        "nothing can be delivered to a frozen broker"
    );
    stack.kill_worker(0).await;
    stack.restart_worker(0).await;
    tokio::time::sleep(OUTAGE.saturating_sub(paused_at.elapsed())).await;
    private.resume();

    // After: new traffic, and everything from during the outage, arrives.
    publish_all(&stack.env.mqtt, &unique("pub"), flow.messages(after, 4)).await;
    let total = 500;
    let numbers = consume_numbers(
        &private.bootstrap,
        &flow.topic,
        total,
        Duration::from_secs(60),
    )
    .await;
    let missing = numbers.missing(total);
    assert!(
        missing.is_empty(),
        "lost {} messages (first 20: {:?}); counters:{}",
        missing.len(),
        &missing[..missing.len().min(20)],
        stack.counters_report().await
    );
    eprintln!(
        "Kafka hung {OUTAGE:?} in sync mode, worker killed meanwhile: {total} delivered, {} duplicates",
        numbers.duplicates
    );
}
