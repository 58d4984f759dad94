//! Configuration changes while traffic flows: a rule edited, then disabled.

use std::time::Duration;

use serde_json::json;
use tributary_e2e::kafka;
use tributary_e2e::mqtt::{Message, publish_all};
use tributary_e2e::{Stack, unique, wait_until};

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
    let seen = |n: usize| kafka::consume(&stack.env.kafka, &topic, n, Duration::from_secs(30));
    let first: Vec<String> = seen(1).await.iter().map(|r| r.value.clone()).collect();
    assert_eq!(first, vec!["v1:a"], "{}", stack.worker_metrics(0).await);

    // Edit: the new SQL applies to later messages.
    api.put(
        &format!("/rules/{id}"),
        json!({"sql": format!("SELECT 'v2' as tag, payload FROM \"{prefix}/#\""), "actions": actions, "enable": true}),
    )
    .await;
    // The worker restarts the flow with the new version; the subscription stays in place.
    tokio::time::sleep(Duration::from_secs(3)).await;
    send("b").await;
    let values: Vec<String> = seen(2).await.iter().map(|r| r.value.clone()).collect();
    assert_eq!(
        values,
        vec!["v1:a", "v2:b"],
        "{}",
        stack.worker_metrics(0).await
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
    send("c").await;
    let values: Vec<String> = kafka::consume(&stack.env.kafka, &topic, 3, Duration::from_secs(15))
        .await
        .iter()
        .map(|r| r.value.clone())
        .collect();
    assert_eq!(
        values,
        vec!["v1:a", "v2:b"],
        "a disabled rule still delivered"
    );
}
