//! MQTT -> rule -> Kafka through the real binaries: the product walkthroughs, templates, headers,
//! dynamic and getenv topics, and key dispatch.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tributary_e2e::kafka::{self, Record};
use tributary_e2e::mqtt::{Message, publish_all};
use tributary_e2e::{Stack, unique};

const WAIT: Duration = Duration::from_secs(30);

/// A stack with the `default` MQTT connector and a Kafka producer connector named `kafka`.
async fn stack_with_connectors(worker_env: BTreeMap<String, String>) -> Stack {
    let stack = Stack::start_with_worker_env(1, worker_env).await;
    let api = stack.api();
    api.create_default_mqtt_connector(&stack.env.mqtt).await;
    api.create_kafka_producer_connector("kafka", &stack.env.kafka)
        .await;
    stack
}

/// Creates action `name` with `parameters` and a rule with `sql` sending to it; waits until the
/// worker runs the rule.
async fn rule_to_kafka(stack: &Stack, sql: &str, parameters: Value) -> String {
    let api = stack.api();
    let action = unique("sink");
    api.create_kafka_action(&action, "kafka", parameters).await;
    let rule = unique("rule");
    let id = api
        .create_rule(&rule, sql, json!([format!("kafka_producer:{action}")]))
        .await;
    stack.wait_flow_running(&format!("rule:{id}"), 1).await;
    id
}

fn json_value(record: &Record) -> Value {
    serde_json::from_str(&record.value)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", record.value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkthrough_hello_kafka() {
    let stack = stack_with_connectors(BTreeMap::new()).await;
    let topic = unique("testtopic-in");
    kafka::create_topic(&stack.env.kafka, &topic, 1).await;
    let prefix = unique("t");
    rule_to_kafka(
        &stack,
        &format!("SELECT * FROM \"{prefix}/#\""),
        json!({"topic": topic}),
    )
    .await;

    publish_all(
        &stack.env.mqtt,
        &unique("pub"),
        vec![Message::new(
            &format!("{prefix}/1"),
            r#"{ "msg": "Hello Kafka" }"#,
        )],
    )
    .await;
    let records = kafka::consume(&stack.env.kafka, &topic, 1, WAIT).await;
    assert_eq!(records.len(), 1, "the message reached Kafka");
    let value = json_value(&records[0]);
    assert_eq!(value["payload"], r#"{ "msg": "Hello Kafka" }"#, "{value}");
    assert_eq!(value["topic"], format!("{prefix}/1"));
    assert_eq!(value["qos"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temperature_and_humidity_with_key_and_value_templates() {
    let stack = stack_with_connectors(BTreeMap::new()).await;
    let topic = unique("temp-hum");
    kafka::create_topic(&stack.env.kafka, &topic, 1).await;
    let mqtt_topic = format!("{}/emqx", unique("temp_hum"));
    let sql = format!(
        "SELECT timestamp, clientid, payload.temp as temp, payload.hum as hum FROM \"{mqtt_topic}\""
    );
    let parameters = json!({
        "topic": topic,
        "message": {"key": "${clientid}", "value": "{\"temp\": ${temp}, \"hum\": ${hum}}"},
    });
    rule_to_kafka(&stack, &sql, parameters).await;

    publish_all(
        &stack.env.mqtt,
        &unique("pub"),
        vec![
            Message::new(&mqtt_topic, r#"{"temp": 23.5, "hum": 41}"#)
                .property("clientid", "sensor-9"),
        ],
    )
    .await;
    let records = kafka::consume(&stack.env.kafka, &topic, 1, WAIT).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].key.as_deref(), Some("sensor-9"));
    assert_eq!(json_value(&records[0]), json!({"temp": 23.5, "hum": 41}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_topic_and_a_message_missing_its_key_is_counted_failed() {
    let stack = stack_with_connectors(BTreeMap::new()).await;
    let device = unique("dev");
    let topic = format!("device-{device}");
    kafka::create_topic(&stack.env.kafka, &topic, 1).await;
    let prefix = unique("dyn");
    let rule = rule_to_kafka(
        &stack,
        &format!("SELECT payload FROM \"{prefix}/#\""),
        json!({"topic": "device-${payload.device}", "message": {"value": "${payload.n}"}}),
    )
    .await;

    publish_all(
        &stack.env.mqtt,
        &unique("pub"),
        vec![
            Message::new(
                &format!("{prefix}/a"),
                json!({"device": device, "n": 1}).to_string(),
            ),
            Message::new(&format!("{prefix}/a"), json!({"n": 2}).to_string()),
            Message::new(
                &format!("{prefix}/a"),
                json!({"device": device, "n": 3}).to_string(),
            ),
        ],
    )
    .await;
    let records = kafka::consume(&stack.env.kafka, &topic, 2, WAIT).await;
    let values: Vec<&str> = records.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(values, vec!["1", "3"]);
    let rule_resource = format!("rule:{rule}");
    let failed = tributary_e2e::wait_until(WAIT, || async {
        stack
            .worker_counter(0, &rule_resource, "actions.failed")
            .await
            == 1
    })
    .await;
    assert!(failed, "{}", stack.worker_metrics(0).await);
    assert_eq!(
        stack
            .worker_counter(0, &rule_resource, "actions.success")
            .await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getenv_topic_reads_the_prefixed_variable() {
    let topic = unique("from-env");
    let worker_env = BTreeMap::from([("TRIBUTARY_VAR_KAFKA_TOPIC".to_owned(), topic.clone())]);
    let stack = stack_with_connectors(worker_env).await;
    kafka::create_topic(&stack.env.kafka, &topic, 1).await;
    let prefix = unique("env");
    rule_to_kafka(
        &stack,
        &format!("SELECT getenv('KAFKA_TOPIC') as kafka_topic, payload FROM \"{prefix}/#\""),
        json!({"topic": "${kafka_topic}", "message": {"value": "${payload}"}}),
    )
    .await;
    publish_all(
        &stack.env.mqtt,
        &unique("pub"),
        vec![Message::new(&format!("{prefix}/x"), "hi")],
    )
    .await;
    let records = kafka::consume(&stack.env.kafka, &topic, 1, WAIT).await;
    assert_eq!(
        records.len(),
        1,
        "delivered to the topic named by TRIBUTARY_VAR_KAFKA_TOPIC"
    );
    assert_eq!(records[0].value, "hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt5_user_properties_become_kafka_headers() {
    let stack = stack_with_connectors(BTreeMap::new()).await;
    let topic = unique("headers");
    kafka::create_topic(&stack.env.kafka, &topic, 1).await;
    let prefix = unique("hdr");
    rule_to_kafka(
        &stack,
        &format!("SELECT * FROM \"{prefix}/#\""),
        json!({
            "topic": topic,
            "kafka_headers": "${pub_props}",
            "kafka_ext_headers": [{"kafka_ext_header_key": "mqtt_topic", "kafka_ext_header_value": "${topic}"}],
        }),
    )
    .await;
    publish_all(
        &stack.env.mqtt,
        &unique("pub"),
        vec![
            Message::new(&format!("{prefix}/1"), "x")
                .property("site", "plant-3")
                .property("line", "7"),
        ],
    )
    .await;
    let records = kafka::consume(&stack.env.kafka, &topic, 1, WAIT).await;
    assert_eq!(records.len(), 1);
    let headers = &records[0].headers;
    assert!(
        headers.contains(&("site".into(), "plant-3".into())),
        "{headers:?}"
    );
    assert!(
        headers.contains(&("line".into(), "7".into())),
        "{headers:?}"
    );
    assert!(
        headers.contains(&("mqtt_topic".into(), format!("{prefix}/1"))),
        "{headers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_dispatch_keeps_each_clients_messages_in_order_on_one_partition() {
    let stack = stack_with_connectors(BTreeMap::new()).await;
    let topic = unique("keyed");
    kafka::create_topic(&stack.env.kafka, &topic, 4).await;
    let prefix = unique("kd");
    rule_to_kafka(
        &stack,
        &format!("SELECT clientid, payload.n as n FROM \"{prefix}/#\""),
        json!({
            "topic": topic,
            "partition_strategy": "key_dispatch",
            "query_mode": "sync",
            "message": {"key": "${clientid}", "value": "${n}"},
        }),
    )
    .await;
    let clients = ["car-1", "car-2", "car-3", "car-4", "car-5", "car-6"];
    let per_client = 30;
    let mut messages = Vec::new();
    for n in 0..per_client {
        for client in clients {
            messages.push(
                Message::new(&format!("{prefix}/{client}"), json!({"n": n}).to_string())
                    .property("clientid", client),
            );
        }
    }
    publish_all(&stack.env.mqtt, &unique("pub"), messages).await;
    let records = kafka::consume(&stack.env.kafka, &topic, clients.len() * per_client, WAIT).await;
    assert_eq!(records.len(), clients.len() * per_client);
    let mut partitions_used = std::collections::BTreeSet::new();
    for client in clients {
        let mine: Vec<&Record> = records
            .iter()
            .filter(|r| r.key.as_deref() == Some(client))
            .collect();
        let partitions: std::collections::BTreeSet<i32> =
            mine.iter().map(|r| r.partition).collect();
        assert_eq!(partitions.len(), 1, "{client} spread over {partitions:?}");
        partitions_used.extend(partitions);
        let order: Vec<i64> = mine.iter().map(|r| r.value.parse().unwrap_or(-1)).collect();
        assert_eq!(
            order,
            (0..per_client as i64).collect::<Vec<_>>(),
            "{client} out of order"
        );
    }
    assert!(
        partitions_used.len() > 1,
        "six keys all hashed to one of four partitions"
    );
}

/// A rule's `matched` as the API sums it over the workers.
async fn matched(stack: &Stack, id: &str) -> u64 {
    stack.api().rule_metrics(id).await["metrics"]["matched"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_first_metrics_reset_holds_on_the_worker() {
    let stack = stack_with_connectors(BTreeMap::new()).await;
    let topic = unique("reset");
    kafka::create_topic(&stack.env.kafka, &topic, 1).await;
    let prefix = unique("t");
    let id = rule_to_kafka(
        &stack,
        &format!("SELECT * FROM \"{prefix}/#\""),
        json!({"topic": topic}),
    )
    .await;
    let topic_1 = format!("{prefix}/1");
    publish_n(&stack, &topic_1, 2).await;
    let counted =
        tributary_e2e::wait_until(WAIT, || async { matched(&stack, &id).await == 2 }).await;
    assert!(counted, "{}", stack.api().rule_metrics(&id).await);

    // The rule's first reset: generation 1, which the worker has never seen for this resource.
    let before = stack.applied_revision().await;
    stack
        .api()
        .call(
            reqwest::Method::PUT,
            &format!("/rules/{id}/metrics/reset"),
            None,
        )
        .await;
    stack.wait_applied_after(before).await;
    // Once the worker applied the reset, its heartbeats carry its own zeroed counters: the old
    // totals must not come back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        matched(&stack, &id).await,
        0,
        "{}",
        stack.api().rule_metrics(&id).await
    );
    publish_n(&stack, &topic_1, 1).await;
    let counted =
        tributary_e2e::wait_until(WAIT, || async { matched(&stack, &id).await == 1 }).await;
    assert!(counted, "{}", stack.api().rule_metrics(&id).await);
}

/// A rule counter as the API sums it over the workers (`u64::MAX` while absent).
async fn rule_counter(stack: &Stack, id: &str, name: &str) -> u64 {
    stack.api().rule_metrics(id).await["metrics"][name]
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// EMQX saves a rule naming an action that does not exist yet and discards that action for each
/// output row (`actions.discarded`) while the others run; once the action is created, the rule
/// sends to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_created_after_its_rule_is_discarded_until_then() {
    let stack = stack_with_connectors(BTreeMap::new()).await;
    let api = stack.api();
    let topic = unique("later");
    kafka::create_topic(&stack.env.kafka, &topic, 1).await;
    let existing = unique("sink");
    api.create_kafka_action(&existing, "kafka", json!({"topic": topic}))
        .await;
    let later = unique("later");
    let prefix = unique("t");
    let id = api
        .create_rule(
            &unique("rule"),
            &format!("SELECT * FROM \"{prefix}/#\""),
            json!([
                format!("kafka_producer:{later}"),
                format!("kafka_producer:{existing}")
            ]),
        )
        .await;
    stack.wait_flow_running(&format!("rule:{id}"), 1).await;
    let topic_1 = format!("{prefix}/1");
    publish_n(&stack, &topic_1, 2).await;
    let counted = tributary_e2e::wait_until(WAIT, || async {
        rule_counter(&stack, &id, "actions.success").await == 2
            && rule_counter(&stack, &id, "actions.discarded").await == 2
    })
    .await;
    assert!(counted, "{}", stack.api().rule_metrics(&id).await);
    assert_eq!(rule_counter(&stack, &id, "actions.total").await, 4);

    let before = stack.applied_revision().await;
    api.create_kafka_action(&later, "kafka", json!({"topic": topic}))
        .await;
    stack.wait_applied_after(before).await;
    stack.wait_flow_running(&format!("rule:{id}"), 1).await;
    publish_n(&stack, &topic_1, 1).await;
    let counted = tributary_e2e::wait_until(WAIT, || async {
        rule_counter(&stack, &id, "actions.success").await == 4
    })
    .await;
    assert!(counted, "{}", stack.api().rule_metrics(&id).await);
    assert_eq!(rule_counter(&stack, &id, "actions.discarded").await, 2);
    let records = kafka::consume(&stack.env.kafka, &topic, 4, WAIT).await;
    assert_eq!(records.len(), 4);
}

/// EMQX's `console` action beside a Kafka action: each output row is logged by the worker and
/// counted a success, and the Kafka action still gets every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_action_counts_each_row_a_success_beside_kafka() {
    let stack = stack_with_connectors(BTreeMap::new()).await;
    let api = stack.api();
    let topic = unique("console");
    kafka::create_topic(&stack.env.kafka, &topic, 1).await;
    let sink = unique("sink");
    api.create_kafka_action(&sink, "kafka", json!({"topic": topic}))
        .await;
    let prefix = unique("t");
    let id = api
        .create_rule(
            &unique("rule"),
            &format!("SELECT payload FROM \"{prefix}/#\""),
            json!([{"function": "console"}, format!("kafka_producer:{sink}")]),
        )
        .await;
    stack.wait_flow_running(&format!("rule:{id}"), 1).await;
    publish_n(&stack, &format!("{prefix}/1"), 3).await;
    let counted = tributary_e2e::wait_until(WAIT, || async {
        rule_counter(&stack, &id, "actions.success").await == 6
    })
    .await;
    assert!(counted, "{}", stack.api().rule_metrics(&id).await);
    assert_eq!(rule_counter(&stack, &id, "actions.total").await, 6);
    assert_eq!(rule_counter(&stack, &id, "actions.failed").await, 0);
    let records = kafka::consume(&stack.env.kafka, &topic, 3, WAIT).await;
    assert_eq!(records.len(), 3);
}

/// Publishes `m0`..`m{n-1}` to `topic` (QoS 1) and waits until the broker acknowledged them.
async fn publish_n(stack: &Stack, topic: &str, n: usize) {
    let messages = (0..n)
        .map(|i| Message::new(topic, format!("m{i}")))
        .collect();
    publish_all(&stack.env.mqtt, &unique("pub"), messages).await;
}
