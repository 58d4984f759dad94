//! Configuration changes while traffic flows: a rule edited, then disabled (and its metrics
//! gone from the worker).

use std::time::Duration;

use serde_json::json;
use tributary_e2e::kafka;
use tributary_e2e::mqtt::{Message, publish_all, publish_paced};
use tributary_e2e::{Stack, unique, wait_until};

const WAIT: Duration = Duration::from_secs(30);
/// A topic is read to its end when no record arrived for this long.
const QUIET: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_edited_and_disabled_while_traffic_flows() {
    let stack = Stack::start(1).await;
    let api = stack.api();
    api.create_default_mqtt_connector(&stack.env.mqtt).await;
    api.create_kafka_producer_connector("kafka", &stack.env.kafka)
        .await;
    let topic = unique("edits");
    kafka::create_topic(&stack.env.kafka, &topic, 1).await;
    let action = unique("sink");
    api.create_kafka_action(
        &action,
        "kafka",
        json!({"topic": topic, "message": {"value": "${tag}:${payload}"}}),
    )
    .await;
    let prefix = unique("edit");
    let rule = unique("rule");
    let actions = json!([format!("kafka_producer:{action}")]);
    let id = api
        .create_rule(
            &rule,
            &format!("SELECT 'v1' as tag, payload FROM \"{prefix}/#\""),
            actions.clone(),
        )
        .await;
    stack.wait_flow_running(&format!("rule:{id}"), 1).await;
    let publisher = unique("pub");
    let send = |payload: &'static str| {
        let mqtt = stack.env.mqtt.clone();
        let publisher = publisher.clone();
        let topic = format!("{prefix}/x");
        async move { publish_all(&mqtt, &publisher, vec![Message::new(&topic, payload)]).await }
    };

    send("a").await;
    let seen = |n: usize| kafka::consume(&stack.env.kafka, &topic, n, WAIT);
    let first: Vec<String> = seen(1).await.iter().map(|r| r.value.clone()).collect();
    assert_eq!(first, vec!["v1:a"], "{}", stack.worker_metrics(0).await);

    // Edit while a paced stream flows: every message arrives, tagged by the version that
    // processed it, and once the new version took over the old one produces nothing more.
    let before_edit = stack.applied_revision().await;
    let streamed = 200;
    let stream = tokio::spawn({
        let mqtt = stack.env.mqtt.clone();
        let topic = format!("{prefix}/x");
        let messages = (0..streamed)
            .map(|n| Message::new(&topic, format!("m{n}")))
            .collect();
        async move {
            publish_paced(&mqtt, &unique("pub"), messages, Duration::from_millis(20)).await;
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    api.put(
        &format!("/rules/{id}"),
        json!({"sql": format!("SELECT 'v2' as tag, payload FROM \"{prefix}/#\""), "actions": actions, "enable": true}),
    )
    .await;
    // The worker restarts the flow with the new version; the subscription stays in place.
    stack.wait_applied_after(before_edit).await;
    stack.wait_flow_running(&format!("rule:{id}"), 1).await;
    stream.await.unwrap_or_else(|e| panic!("publisher: {e}"));
    send("b").await;
    let values = values_through(&stack.env.kafka, &topic, "v2:b").await;
    let after_a = values.get(1..).unwrap_or_default();
    let missing: Vec<usize> = (0..streamed)
        .filter(|n| !after_a.iter().any(|v| v.ends_with(&format!(":m{n}"))))
        .collect();
    assert!(missing.is_empty(), "lost across the edit: {missing:?}");
    // Copies that arrive while the rule restarts wait for its new flow: no reconnect, so the
    // broker redelivers nothing and every message is produced once.
    let repeated: Vec<usize> = (0..streamed)
        .filter(|n| {
            after_a
                .iter()
                .filter(|v| v.ends_with(&format!(":m{n}")))
                .count()
                > 1
        })
        .collect();
    assert!(
        repeated.is_empty(),
        "duplicated across the edit: {repeated:?}"
    );
    let first_v2 = after_a.iter().position(|v| v.starts_with("v2:"));
    let last_v1 = after_a.iter().rposition(|v| v.starts_with("v1:"));
    assert!(
        first_v2.is_some() && last_v1.is_some(),
        "the edit landed mid-stream: {values:?}"
    );
    assert!(
        last_v1 < first_v2,
        "the old version produced after the new one: {values:?}"
    );
    assert_eq!(values.last().map(String::as_str), Some("v2:b"));

    let rule_series = format!("rule=\"{id}\"");
    let action_series = format!("action=\"kafka_producer:{action}\"");
    let exported = stack.worker_metrics(0).await;
    assert!(
        exported.contains(&rule_series) && exported.contains(&action_series),
        "{exported}"
    );

    // Disable: messages stop reaching Kafka.
    api.put(&format!("/rules/{id}"), json!({"enable": false}))
        .await;
    let stopped = wait_until(Duration::from_secs(30), || async {
        let (_, body) = api.call(reqwest::Method::GET, "/workers", None).await;
        !body.to_string().contains(&format!("rule:{id}"))
    })
    .await;
    assert!(stopped, "the disabled rule is still assigned");
    // Nothing runs the rule or its action any more: the worker forgets their series, so a
    // long-lived worker's metrics follow what it runs, not everything it ever ran.
    let exported = stack.worker_metrics(0).await;
    assert!(
        !exported.contains(&rule_series) && !exported.contains(&action_series),
        "{exported}"
    );
    send("c").await;
    // Whatever the worker still produces has landed by now; read everything the topic holds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let values: Vec<String> = kafka::consume_quiet(&stack.env.kafka, &topic, QUIET, WAIT)
        .await
        .iter()
        .map(|r| r.value.clone())
        .collect();
    assert!(
        !values.iter().any(|v| v.ends_with(":c")),
        "a disabled rule still delivered: {values:?}"
    );
}

/// The topic's values, read again until `needle` is among them (at most [`WAIT`]).
async fn values_through(bootstrap: &str, topic: &str, needle: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let values: Vec<String> = kafka::consume_quiet(bootstrap, topic, QUIET, WAIT)
            .await
            .into_iter()
            .map(|r| r.value)
            .collect();
        if values.iter().any(|v| v == needle) {
            return values;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{needle} never arrived: {values:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
