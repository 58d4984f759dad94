//! MQTT -> Kafka with two workers: shared subscriptions split the load, and a worker killed with
//! SIGKILL in `sync` mode loses nothing (its unacknowledged messages are redelivered).

use std::time::Duration;

use serde_json::json;
use tributary_e2e::mqtt::{publish_all, publish_paced};
use tributary_e2e::numbered::{NumberedFlow, consume_numbers};
use tributary_e2e::{Stack, unique, wait_until};

/// Reading stops once every number arrived; this is only the limit.
const READ_TIMEOUT: Duration = Duration::from_secs(90);

/// Two workers running one rule into a fresh topic.
async fn two_workers(query_mode: &str, partitions: i32) -> (Stack, NumberedFlow) {
    let stack = Stack::start(2).await;
    let flow = NumberedFlow::create(
        &stack,
        &stack.env.kafka,
        "scale",
        partitions,
        json!({"query_mode": query_mode}),
        2,
    )
    .await;
    (stack, flow)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_ten_thousand_messages_and_deliver_every_one() {
    let (stack, flow) = two_workers("async", 4).await;
    let count = 10_000;
    publish_all(&stack.env.mqtt, &unique("pub"), flow.messages(0..count, 10)).await;
    let numbers = consume_numbers(&stack.env.kafka, &flow.topic, count, READ_TIMEOUT).await;
    let (distinct, duplicates) = (numbers.distinct, numbers.duplicates);
    assert_eq!(
        distinct.len(),
        count,
        "missing {} messages; counters:{}",
        count - distinct.len(),
        stack.counters_report().await
    );
    assert_eq!(duplicates, 0, "no worker died, so no duplicates");

    let resource = flow.resource();
    let first = stack.worker_counter(0, &resource, "actions.success").await;
    let second = stack.worker_counter(1, &resource, "actions.success").await;
    assert!(
        first > 0 && second > 0,
        "both workers did work: {first} + {second}"
    );
    assert_eq!(first + second, count as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_stream_in_sync_mode_loses_nothing() {
    let (mut stack, flow) = two_workers("sync", 2).await;
    let count = 4_000;
    let mqtt = stack.env.mqtt.clone();
    // Paced, so the stream is still flowing when the worker dies and while it is away: the
    // broker then queues the dead worker's share in its persistent session, which the restarted
    // worker must process (a backlog that arrives before its rule is running).
    let publisher = tokio::spawn({
        let messages = flow.messages(0..count, 10);
        async move {
            publish_paced(&mqtt, &unique("pub"), messages, Duration::from_millis(1)).await;
        }
    });
    // Kill one worker once it has taken part of the stream.
    let resource = flow.resource();
    let started = wait_until(Duration::from_secs(30), || async {
        stack.worker_counter(0, &resource, "matched").await > 200
    })
    .await;
    assert!(started, "worker 0 never took messages");
    assert!(
        !publisher.is_finished(),
        "the stream must still flow when the worker dies"
    );
    stack.kill_worker(0).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.restart_worker(0).await;
    publisher.await.unwrap_or_else(|e| panic!("publisher: {e}"));

    let numbers = consume_numbers(&stack.env.kafka, &flow.topic, count, READ_TIMEOUT).await;
    let missing: Vec<usize> = numbers.missing(count).into_iter().take(20).collect();
    assert!(missing.is_empty(), "lost messages (first 20): {missing:?}");
    eprintln!(
        "kill -9 in sync mode: {count} delivered, {} duplicates",
        numbers.duplicates
    );
}
