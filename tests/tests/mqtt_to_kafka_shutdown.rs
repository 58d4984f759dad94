//! Graceful shutdown in `sync` mode: SIGTERM mid-stream stops intake, lets in-flight messages
//! finish (Kafka acknowledgement, then PUBACK), and exits; the restarted worker picks up what the
//! broker kept for its persistent session. Nothing is lost.

use std::time::{Duration, Instant};

use serde_json::json;
use tributary_e2e::mqtt::publish_all;
use tributary_e2e::numbered::{NumberedFlow, consume_numbers};
use tributary_e2e::{Stack, unique, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_in_sync_mode_drains_and_loses_nothing() {
    let mut stack = Stack::start(1).await;
    let flow = NumberedFlow::create(
        &stack,
        &stack.env.kafka,
        "drain",
        2,
        json!({"query_mode": "sync"}),
        1,
    )
    .await;
    let resource = flow.resource();

    let count = 3_000;
    let publisher = tokio::spawn({
        let mqtt = stack.env.mqtt.clone();
        let messages = flow.messages(0..count, 4);
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

    let numbers = consume_numbers(
        &stack.env.kafka,
        &flow.topic,
        count,
        Duration::from_secs(60),
    )
    .await;
    let missing = numbers.missing(count);
    assert!(
        missing.is_empty(),
        "lost {} messages (first 20: {:?})",
        missing.len(),
        &missing[..missing.len().min(20)]
    );
    let duplicates = numbers.duplicates;
    eprintln!(
        "SIGTERM in sync mode: stopped in {took:?}, {count} delivered, {duplicates} duplicates"
    );
    // A clean drain acknowledges every message it finished before disconnecting, and copies that
    // arrive meanwhile wait instead of forcing a reconnect; duplicates then only come from a
    // record still unacknowledged by Kafka when the drain time ran out (the worker before that
    // fix left 700-2000 here), or from PUBACKs the broker never read: closing a socket with
    // unread PUBLISHes resets it, so the worker waits for the broker to close it first (CI once
    // saw 81 here before that).
    assert!(
        duplicates <= count / 100,
        "{duplicates} duplicates after a clean shutdown"
    );
}
