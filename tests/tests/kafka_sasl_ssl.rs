//! Both directions over SASL_SSL with SCRAM-SHA-512 and the broker's certificate verified, with
//! the real binaries and the test stack's Apache Kafka; and what a user sees when the credentials
//! are revoked. Needs `scripts/test-stack.sh start && source .test-stack/env` and
//! `cargo build --workspace --bins`.

mod kafka_to_mqtt_support;

use std::time::Duration;

use kafka_to_mqtt_support::*;
use serde_json::{Value, json};
use tributary_e2e::broker::SessionSubscriber;
use tributary_e2e::mqtt::{Message, publish_all};
use tributary_e2e::numbered::consume_numbers;
use tributary_e2e::secure_kafka::SecureKafka;
use tributary_e2e::{Stack, kafka, unique, wait_until};

const TOTAL: usize = 500;

/// A `kafka_producer` action into `topic` and a rule from `<prefix>/#` through it; returns the
/// rule's metrics resource once the worker runs it.
async fn sink_flow(stack: &Stack, connector: &str, topic: &str, prefix: &str) -> String {
    let api = stack.api();
    let action = unique("secure-sink");
    api.create_kafka_action(
        &action,
        connector,
        json!({"topic": topic, "query_mode": "sync", "message": {"value": "${payload.n}"}}),
    )
    .await;
    let rule = api
        .create_rule(
            &unique("rule"),
            &format!("SELECT payload FROM \"{prefix}/#\""),
            json!([format!("kafka_producer:{action}")]),
        )
        .await;
    let resource = format!("rule:{rule}");
    stack.wait_flow_running(&resource, 1).await;
    resource
}

async fn connector(stack: &Stack, id: &str) -> Value {
    stack.api().get(&format!("/connectors/{id}")).await
}

/// `status: status_reason`, for assertions (the whole connector would bury it under the CA).
fn status_line(connector: &Value) -> String {
    format!("{}: {}", connector["status"], connector["status_reason"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_directions_run_over_sasl_ssl_with_scram_sha_512() {
    let kafka = SecureKafka::from_env();
    let stack = Stack::start(1).await;
    let api = stack.api();
    api.create_default_mqtt_connector(&stack.env.mqtt).await;
    let (user, password) = (&kafka.scram512_user, &kafka.scram512_password);

    // MQTT → Kafka.
    api.post(
        "/connectors",
        kafka.connector("kafka_producer", "secure", user, password),
    )
    .await;
    let out_topic = unique("secure-out");
    kafka::create_topic(&kafka.plaintext, &out_topic, 2).await;
    let prefix = unique("secure");
    sink_flow(&stack, "secure", &out_topic, &prefix).await;

    // Kafka → MQTT.
    let in_topic = unique("secure-in");
    kafka::create_topic(&kafka.plaintext, &in_topic, 2).await;
    let mqtt_topic = format!("t/{}", unique("secure"));
    let mut subscriber = SessionSubscriber::start(&stack.env.mqtt, &mqtt_topic).await;
    api.post(
        "/connectors",
        kafka.connector("kafka_consumer", "kc", user, password),
    )
    .await;
    create_source(
        &stack,
        &unique("src"),
        json!({
            "topic_mapping": [{
                "kafka_topic": in_topic,
                "mqtt_topic": mqtt_topic,
                "qos": 1,
                "payload_template": "${.value}"
            }],
            "offset_reset_policy": "earliest"
        }),
    )
    .await;

    let messages = (0..TOTAL)
        .map(|n| Message::new(&format!("{prefix}/{}", n % 4), json!({"n": n}).to_string()))
        .collect();
    publish_all(&stack.env.mqtt, &unique("pub"), messages).await;
    let delivered =
        consume_numbers(&kafka.plaintext, &out_topic, TOTAL, Duration::from_secs(60)).await;
    assert_eq!(
        delivered.missing(TOTAL),
        Vec::<usize>::new(),
        "MQTT → Kafka over SASL_SSL; counters:{}",
        stack.counters_report().await
    );

    produce_numbered(
        &producer(&kafka.plaintext),
        &in_topic,
        2,
        0..TOTAL as u32,
        &[],
    )
    .await;
    let mut tally = Tally::default();
    read_into(&mut subscriber, &mut tally, TOTAL, Duration::from_secs(60)).await;
    assert_eq!(
        tally.missing(0..TOTAL as u64),
        Vec::<u64>::new(),
        "Kafka → MQTT over SASL_SSL; counters:{}",
        stack.counters_report().await
    );

    for id in ["kafka_producer:secure", "kafka_consumer:kc"] {
        // Reported with the worker's next heartbeat.
        let connected = wait_until(Duration::from_secs(15), || async {
            connector(&stack, id).await["status"] == "connected"
        })
        .await;
        let connector = connector(&stack, id).await;
        assert!(connected, "{id}: {}", status_line(&connector));
        assert_eq!(
            connector["authentication"]["password"], "******",
            "the password is never returned"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_credentials_show_the_connector_disconnected_with_the_reason() {
    let kafka = SecureKafka::from_env();
    let user = unique("revoked");
    let password = "revoked-user-secret";
    kafka.set_scram_user(&user, password);
    let stack = Stack::start(1).await;
    let api = stack.api();
    api.create_default_mqtt_connector(&stack.env.mqtt).await;
    api.post(
        "/connectors",
        kafka.connector("kafka_producer", "revoked", &user, password),
    )
    .await;
    let topic = unique("revoked");
    kafka::create_topic(&kafka.plaintext, &topic, 1).await;
    sink_flow(&stack, "revoked", &topic, &unique("revoked")).await;
    let id = "kafka_producer:revoked";
    let connected = wait_until(Duration::from_secs(30), || async {
        connector(&stack, id).await["status"] == "connected"
    })
    .await;
    assert!(connected, "{}", status_line(&connector(&stack, id).await));

    kafka.revoke_scram_user(&user);
    // The broker makes clients authenticate again every few seconds (the test stack's
    // connections.max.reauth.ms), so a revoked user is noticed without a restart.
    let disconnected = wait_until(Duration::from_secs(60), || async {
        connector(&stack, id).await["status"] == "disconnected"
    })
    .await;
    let revoked = connector(&stack, id).await;
    assert!(disconnected, "{}", status_line(&revoked));
    let reason = revoked["status_reason"].as_str().unwrap_or_default();
    assert!(
        reason.to_ascii_lowercase().contains("authentication"),
        "the reason names the failed authentication: {reason}"
    );
    assert!(!reason.contains(password), "{reason}");
}
