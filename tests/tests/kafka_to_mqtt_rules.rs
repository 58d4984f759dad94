//! A rule reading a source (`FROM "$bridges/kafka_consumer:<name>"`) with the real binaries: a
//! WHERE on a Kafka header picks the records, its `republish` action publishes them to MQTT with
//! the default QoS and retain, and its `kafka_producer` action writes them to another topic.
//! Needs `scripts/test-stack.sh start && source .test-stack/env` and
//! `cargo build --workspace --bins`.

mod kafka_to_mqtt_support;

use std::collections::BTreeSet;
use std::time::Duration;

use kafka_to_mqtt_support::*;
use serde_json::json;
use tributary_e2e::mqtt::Subscriber;
use tributary_e2e::{Stack, kafka, unique, wait_until};

/// Numbers of the probe records, apart from the counted ones.
const PROBE_BASE: u32 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_where_on_a_header_selects_the_records_republished_and_produced() {
    let mut stack = Stack::start(1).await;
    let topic = unique("rule-in");
    let out = unique("rule-out");
    let prefix = unique("e2e-rule");
    let source = unique("src");
    kafka::create_topic(&stack.env.kafka, &topic, 2).await;
    kafka::create_topic(&stack.env.kafka, &out, 1).await;
    let mut subscriber = Subscriber::start(&stack.env.mqtt, &format!("{prefix}/#")).await;

    create_connectors(&stack, &stack.env.mqtt).await;
    // No topic mapping: the source only feeds the rule.
    create_source(
        &stack,
        &source,
        json!({"topic": topic, "offset_reset_policy": "earliest"}),
    )
    .await;
    // Adding the rule restarts the source, maybe in the middle of its first group join; the
    // next member must still get the partitions.
    let producer = producer(&stack.env.kafka);
    let api = stack.api();
    api.create_kafka_producer_connector("kp", &stack.env.kafka)
        .await;
    api.create_kafka_action(
        "copy",
        "kp",
        json!({
            "topic": out,
            "message": {"key": "${h1}", "value": "${value}"},
            "query_mode": "sync"
        }),
    )
    .await;
    let rule_id = api
        .create_rule(
            &unique("rule"),
            &format!(
                "SELECT value, headers.h1 as h1 FROM \"$bridges/kafka_consumer:{source}\" \
                 WHERE headers.h1 = 'yes'"
            ),
            json!([
                "kafka_producer:copy",
                // QoS and retain stay at their defaults, which a Kafka record cannot fill.
                {"function": "republish", "args": {"topic": format!("{prefix}/${{h1}}"), "payload": "${value}"}}
            ]),
        )
        .await;

    // The source restarts with the rule; what its previous run read meanwhile nobody took.
    // Probe until the rule answers, then count from there.
    let mut probe = PROBE_BASE;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the rule never republished a probe"
        );
        produce_numbered(&producer, &topic, 1, probe..probe + 1, &[("h1", "yes")]).await;
        probe += 1;
        let got = subscriber.collect(1, Duration::from_secs(1)).await;
        if got
            .iter()
            .any(|(_, p)| number(p).is_some_and(|n| n >= u64::from(PROBE_BASE)))
        {
            break;
        }
    }
    let rule = format!("rule:{rule_id}");
    let counter = |metric: &'static str| {
        let (stack, rule) = (&stack, &rule);
        async move { stack.worker_counter(0, rule, metric).await }
    };
    let settled = wait_until(Duration::from_secs(10), || async {
        counter("actions.success").await == 2 * counter("passed").await
    })
    .await;
    assert!(settled, "{}", stack.worker_metrics(0).await);
    let (matched, passed, succeeded) = (
        counter("matched").await,
        counter("passed").await,
        counter("actions.success").await,
    );

    produce_numbered(&producer, &topic, 2, 0..10, &[("h1", "yes")]).await;
    produce_numbered(&producer, &topic, 2, 10..20, &[("h1", "no")]).await;
    produce_numbered(&producer, &topic, 2, 20..30, &[("h1", "yes")]).await;
    let selected: BTreeSet<u64> = (0..10).chain(20..30).collect();

    // Late probes may still come; read until every selected record arrived (or time is up).
    let mut republished = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut numbers: BTreeSet<u64> = BTreeSet::new();
    while numbers != selected && std::time::Instant::now() < deadline {
        let got = subscriber.collect(1, Duration::from_secs(1)).await;
        numbers.extend(
            got.iter()
                .filter_map(|(_, p)| number(p))
                .filter(|n| *n < u64::from(PROBE_BASE)),
        );
        republished.extend(got);
    }
    assert!(
        republished
            .iter()
            .all(|(t, _)| *t == format!("{prefix}/yes")),
        "{republished:?}"
    );
    assert_eq!(numbers, selected, "republished");
    assert!(
        subscriber
            .collect(1, Duration::from_secs(2))
            .await
            .is_empty(),
        "a record the WHERE rejects was republished"
    );

    let probes = (probe - PROBE_BASE) as usize;
    let produced = kafka::consume(
        &stack.env.kafka,
        &out,
        20 + probes + 1,
        Duration::from_secs(20),
    )
    .await;
    assert!(produced.iter().all(|r| r.key.as_deref() == Some("yes")));
    let numbers: Vec<u64> = produced
        .iter()
        .filter_map(|r| number(r.value.as_bytes()))
        .filter(|n| *n < u64::from(PROBE_BASE))
        .collect();
    assert_eq!(
        numbers.len(),
        20,
        "each selected record produced once: {numbers:?}"
    );
    assert_eq!(
        numbers.into_iter().collect::<BTreeSet<_>>(),
        selected,
        "produced to Kafka"
    );

    let counted = wait_until(Duration::from_secs(10), || async {
        counter("actions.success").await == succeeded + 40
    })
    .await;
    assert!(counted, "{}", stack.worker_metrics(0).await);
    assert_eq!(counter("matched").await - matched, 30);
    assert_eq!(counter("passed").await - passed, 20);
    assert_eq!(counter("actions.failed").await, 0);
    stack.stop_worker(0).await;
}
