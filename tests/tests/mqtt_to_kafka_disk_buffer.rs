//! Buffer mode `disk` in `async` mode: what EMQX lost (emqx/emqx#17916: Kafka unreachable, 50,000
//! messages, the node restarted, 48,669 of them gone), Tributary keeps.
//!
//! Kafka is stopped, 50,000 messages are published, and the worker is killed with SIGKILL while
//! they arrive: part of them are in its disk buffer (acknowledged to MQTT), the rest still at the
//! broker. It is started again with the same data directory, then Kafka comes back. Every message
//! must reach Kafka; duplicates (a message synced to disk whose acknowledgement the kill cut off,
//! redelivered by the broker) are allowed and reported.
//!
//! The second test fills the buffer (`TRIBUTARY_BUFFER_MAX_BYTES`, the same path as a full
//! disk): intake stops, the worker says why, and nothing is lost once Kafka takes the backlog.

use std::time::Duration;

use serde_json::json;
use tributary_e2e::disk_buffer::{
    DataDir, action_total, assert_intake_paused, only_action, phase, publish_in_background,
    wait_buffered, warm_up,
};
use tributary_e2e::mqtt::publish_all;
use tributary_e2e::numbered::{NumberedFlow, consume_numbers};
use tributary_e2e::private_kafka::PrivateKafka;
use tributary_e2e::{Stack, unique, wait_until};

/// Records worker 0 found in its disk buffers when it started (`buffer.recovered`, every action).
async fn recovered_from_disk(stack: &Stack) -> u64 {
    action_total(stack, "tributary_action_buffer_recovered_total").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_unreachable_50000_messages_and_a_killed_worker_lose_nothing() {
    const WARM_UP: usize = 100;
    const OUTAGE: usize = 50_000;
    let total = WARM_UP + OUTAGE;
    let started = std::time::Instant::now();
    let mut private = PrivateKafka::start().await;
    phase(started, "kafka started");
    let data = DataDir::new();
    let mut stack = Stack::start_with_worker_env(1, data.env(&[])).await;
    let flow = NumberedFlow::create(
        &stack,
        &private.bootstrap,
        "disk",
        2,
        json!({"query_mode": "async", "buffer": {"mode": "disk", "segment_bytes": "256KB"}}),
        1,
    )
    .await;
    let rule = flow.resource();

    warm_up(&stack, &private.bootstrap, &flow, WARM_UP, 4).await;

    phase(started, "warm-up through");
    // Kafka goes away; 50,000 messages come in.
    private.stop().await;
    phase(started, "kafka stopped");
    let publisher = publish_in_background(&stack, &flow, WARM_UP..total, 4);
    // Midway: the worker has put a third of them on disk (the rule counts a record synced to the
    // buffer as its action's success).
    wait_buffered(&stack, &rule, (WARM_UP + OUTAGE / 3) as u64).await;
    let buffered_before_kill = stack.worker_counter(0, &rule, "actions.success").await;
    phase(started, "midway: killing the worker");
    stack.kill_worker(0).await;
    stack.restart_worker(0).await;
    publisher.await.unwrap_or_else(|e| panic!("publisher: {e}"));
    phase(started, "all published");

    // The restarted worker takes the rest from the broker while Kafka is still away: what it
    // found on disk and what it buffered itself cover the outage. (Counting from
    // `buffered_before_kill` instead would race: the worker goes on buffering, and the broker
    // forgets what it acknowledged, between that read and the kill.)
    let restarted_took_the_rest = wait_until(Duration::from_secs(60), || async {
        let own = stack.worker_counter(0, &rule, "actions.success").await;
        own + recovered_from_disk(&stack).await >= OUTAGE as u64
    })
    .await;
    assert!(
        restarted_took_the_rest,
        "the restarted worker did not buffer the rest; counters:{}",
        stack.counters_report().await
    );
    phase(started, "the rest buffered");
    private.restart().await;
    phase(started, "kafka restarted");

    let numbers = consume_numbers(
        &private.bootstrap,
        &flow.topic,
        total,
        Duration::from_secs(90),
    )
    .await;
    phase(started, "consumed");
    let missing = numbers.missing(total);
    assert!(
        missing.is_empty(),
        "lost {} of {total} messages (first 20: {:?}); counters:{}",
        missing.len(),
        &missing[..missing.len().min(20)],
        stack.counters_report().await
    );
    eprintln!(
        "disk buffer: {total} messages, {buffered_before_kill} buffered before the kill, all \
         {total} in Kafka, {} duplicates",
        numbers.duplicates
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_stops_intake_says_so_and_loses_nothing() {
    const COUNT: usize = 6_000;
    let started = std::time::Instant::now();
    let private = PrivateKafka::start().await;
    phase(started, "kafka started");
    let data = DataDir::new();
    // Room for about 2,000 of these records: the rest must wait at the broker.
    let mut stack =
        Stack::start_with_worker_env(1, data.env(&[("TRIBUTARY_BUFFER_MAX_BYTES", "40000")])).await;
    let flow = NumberedFlow::create(
        &stack,
        &private.bootstrap,
        "full",
        1,
        json!({"query_mode": "async", "buffer": {"mode": "disk", "segment_bytes": "4KB"}}),
        1,
    )
    .await;
    let rule = flow.resource();
    warm_up(&stack, &private.bootstrap, &flow, 10, 1).await;
    let action = only_action(&stack).await;

    phase(started, "warm-up through");
    // Kafka hangs (SIGSTOP): nothing is acknowledged, and resuming it takes no broker restart.
    private.pause();
    publish_all(&stack.env.mqtt, &unique("pub"), flow.messages(10..COUNT, 1)).await;
    phase(started, "published");
    // The flow's status says why (the worker reports it with its next heartbeat).
    assert_intake_paused(
        &stack,
        (&rule, &action),
        COUNT as u64,
        "buffer",
        &["cannot take more records"],
    )
    .await;
    phase(started, "full, said so");
    private.resume();
    let numbers = consume_numbers(
        &private.bootstrap,
        &flow.topic,
        COUNT,
        Duration::from_secs(60),
    )
    .await;
    phase(started, "consumed");
    let missing = numbers.missing(COUNT);
    assert!(
        missing.is_empty(),
        "lost {} messages (first 20: {:?}); counters:{}",
        missing.len(),
        &missing[..missing.len().min(20)],
        stack.counters_report().await
    );
    // The disk buffer's pump timed Kafka's acknowledgements (no end-to-end latency: a disk
    // action's messages are acknowledged once written down).
    let text = stack.worker_metrics(0).await;
    let timed: f64 = tributary_e2e::worker_metrics::samples(&text)
        .iter()
        .filter(|s| s.name == "tributary_action_delivery_latency_seconds_count")
        .map(|s| s.value)
        .sum();
    assert!(timed >= 1.0, "no delivery latency observed:\n{text}");
    assert!(!text.contains("tributary_action_latency_seconds"), "{text}");
    let _ = stack.stop_worker(0).await;
}

#[tokio::test]
async fn disk_and_hybrid_buffers_refuse_a_templated_topic_as_emqx_does() {
    let stack = Stack::start(0).await;
    let api = stack.api();
    api.create_kafka_producer_connector("kafka", &stack.env.kafka)
        .await;
    for mode in ["disk", "hybrid"] {
        let (status, body) = api
            .call(
                reqwest::Method::POST,
                "/actions",
                Some(json!({
                    "type": "kafka_producer", "name": unique("sink"), "connector": "kafka",
                    "parameters": {"topic": "t-${clientid}", "buffer": {"mode": mode}}
                })),
            )
            .await;
        assert_eq!(status.as_u16(), 400, "{mode}: {body}");
        assert_eq!(body["field"], "parameters.topic", "{mode}: {body}");
        let message = body.to_string();
        assert!(
            message.contains("static topic") && message.contains(mode),
            "{mode}: the reason does not say what to do: {body}"
        );
    }
    // A static topic is fine, and so is a template in memory mode.
    api.create_kafka_action(
        &unique("sink"),
        "kafka",
        json!({"topic": "t", "buffer": {"mode": "disk"}}),
    )
    .await;
    api.create_kafka_action(
        &unique("sink"),
        "kafka",
        json!({"topic": "t-${clientid}", "buffer": {"mode": "memory"}}),
    )
    .await;
}
