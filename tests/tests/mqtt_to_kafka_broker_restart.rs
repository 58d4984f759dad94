//! The MQTT broker restarted under a running rule: Mosquitto (persistence on) restores the
//! worker's persistent session but not its shared subscriptions, so the worker must subscribe
//! again although the broker says the session is present. Before that fix the rule stayed deaf
//! until the worker restarted and the chaos soak lost every message published meanwhile.
//!
//! Messages published after the broker is back but before the worker subscribed again match no
//! subscription and Mosquitto discards them; so the test first waits until a probe gets through,
//! then requires every one of a numbered batch to reach Kafka. Needs
//! `scripts/test-stack.sh start && source .test-stack/env` and `cargo build --workspace --bins`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use tributary_e2e::broker::PrivateMosquitto;
use tributary_e2e::mqtt::{Message, publish_all};
use tributary_e2e::numbered::{NumberedFlow, consume_numbers};
use tributary_e2e::{Stack, TestEnv, kafka, unique};

const COUNT: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_hears_again_after_the_broker_restarts() {
    let mut broker = PrivateMosquitto::start();
    let env = TestEnv {
        mqtt: broker.server(),
        ..TestEnv::from_env()
    };
    let stack = Stack::start_on(env, 1, BTreeMap::new()).await;
    let flow = NumberedFlow::create(
        &stack,
        &stack.env.kafka,
        "brestart",
        2,
        json!({"query_mode": "sync"}),
        1,
    )
    .await;

    let broker = tokio::task::spawn_blocking(move || {
        broker.restart(Duration::from_secs(1));
        broker
    })
    .await
    .unwrap_or_else(|e| panic!("restart: {e}"));

    // Probes (their value is no number, so the batch's count ignores them) until one reaches Kafka.
    let probe_topic = format!("{}/probe", flow.prefix);
    let deadline = Instant::now() + Duration::from_secs(60);
    let heard = loop {
        publish_all(
            &broker.server(),
            &unique("probe"),
            vec![Message::new(
                &probe_topic,
                json!({"n": "probe"}).to_string(),
            )],
        )
        .await;
        let records = kafka::consume_quiet(
            &stack.env.kafka,
            &flow.topic,
            Duration::from_millis(500),
            Duration::from_secs(5),
        )
        .await;
        if !records.is_empty() {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
    };
    assert!(
        heard,
        "no message published after the broker restart reached Kafka within 60 s: the worker \
         did not subscribe again; counters:{}",
        stack.counters_report().await
    );

    publish_all(&broker.server(), &unique("pub"), flow.messages(0..COUNT, 4)).await;
    let numbers = consume_numbers(
        &stack.env.kafka,
        &flow.topic,
        COUNT,
        Duration::from_secs(60),
    )
    .await;
    let missing = numbers.missing(COUNT);
    assert!(
        missing.is_empty(),
        "lost {} of {COUNT} after the restart (first 20: {:?})",
        missing.len(),
        &missing[..missing.len().min(20)]
    );
    drop(broker);
}
