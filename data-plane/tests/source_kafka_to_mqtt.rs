//! The Kafka -> MQTT source against the test stack's Apache Kafka and Mosquitto: `source::run` with
//! hand-built specs. Needs `scripts/test-stack.sh start && source .test-stack/env`.

mod source_support;

use std::time::Duration;

use serde_json::{Value, json};
use source_support::*;
use tokio_util::sync::CancellationToken;
use tributary_data_plane::flow::FlowPhase;
use tributary_data_plane::source;
use tributary_data_plane::telemetry::{ConnectorState, ResourceMetrics};

const DELIVERY: Duration = Duration::from_secs(30);

/// Runs a source in the background; `stop` cancels it and waits for it to finish.
struct RunningSource {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSource {
    fn start(
        spec: tributary_protocol::assignment::SourceFlowSpec,
        env: tributary_data_plane::flow::FlowEnv,
    ) -> Self {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(source::run(spec, env, shutdown.clone()));
        Self { shutdown, task }
    }

    #[allow(clippy::unwrap_used, clippy::expect_used)] // a helper of tests: fail loudly
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the source did not stop within 30 s")
            .unwrap();
    }

    /// Waits until the source counted `total` records a success, stops it, and checks that all
    /// `total` offsets of the topic's `partitions` were committed.
    async fn stop_once_all_committed(
        self,
        m: &ResourceMetrics,
        group: &str,
        topic: &str,
        partitions: i32,
        total: u32,
    ) {
        assert!(
            eventually(Duration::from_secs(10), || m.get("success")
                >= u64::from(total))
            .await
        );
        self.stop().await;
        assert_eq!(
            committed(group, topic, partitions).values().sum::<i64>(),
            i64::from(total)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_record_arrives_as_the_documented_json_and_is_committed() {
    let topic = unique("testtopic-out");
    let name = unique("src");
    let mqtt_topic = format!("t/{}/1", unique("m"));
    create_topic(&topic, 1).await;
    let mut subscriber = Subscriber::start(&mqtt(), &mqtt_topic).await;
    let (env, metrics, status) = flow_env("w1");
    let spec = spec(
        &name,
        json!({
            "topic_mapping": [{"kafka_topic": topic, "mqtt_topic": mqtt_topic, "qos": 1}],
            "offset_reset_policy": "earliest",
            "group_id": unique("g")
        }),
        json!([]),
        &mqtt(),
        false,
    );
    let group = spec.parameters.group_id.clone().unwrap();
    let running = RunningSource::start(spec, env);

    produce(
        &producer(),
        &topic,
        &[Produce {
            partition: 0,
            key: Some("key"),
            value: br#"{"msg": "Hello EMQX"}"#,
            headers: &[("header_key", "header_value")],
        }],
    )
    .await;

    let (received_topic, payload) = subscriber
        .next(DELIVERY)
        .await
        .expect("nothing arrived on MQTT");
    assert_eq!(received_topic, mqtt_topic);
    let record: Value = serde_json::from_slice(&payload).unwrap();
    assert!(
        record["ts"].as_i64().unwrap() > 1_600_000_000_000,
        "{record}"
    );
    assert_eq!(
        record,
        json!({
            "value": "{\"msg\": \"Hello EMQX\"}",
            "ts_type": "create",
            "ts": record["ts"],
            "topic": topic,
            "offset": 0,
            "key": "key",
            "headers": {"header_key": "header_value"}
        })
    );
    let source_metrics = metrics.resource(&format!("source:kafka_consumer:{name}"));
    assert!(
        eventually(Duration::from_secs(5), || source_metrics.get("success")
            == 1)
        .await
    );
    assert_eq!(source_metrics.get("received"), 1);
    assert_eq!(source_metrics.get("failed"), 0);
    let connected =
        |id: &str| status.snapshot().get(id).map(|s| s.state) == Some(ConnectorState::Connected);
    assert!(connected("mqtt:default"));
    assert!(
        eventually(Duration::from_secs(12), || connected(
            "kafka_consumer:test_kafka"
        ))
        .await,
        "{:?}",
        status.snapshot()
    );

    running.stop().await;
    assert_eq!(committed(&group, &topic, 1).get(&0), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base64_encodings_and_payload_templates_over_mqtt_3_1_1() {
    let topic = unique("b64");
    let name = unique("src");
    let prefix = unique("m");
    create_topic(&topic, 1).await;
    let mut subscriber = Subscriber::start(&mqtt(), &format!("{prefix}/#")).await;
    let (env, _, _) = flow_env("w1");
    let spec = spec(
        &name,
        json!({
            "topic_mapping": [{
                "kafka_topic": topic,
                "mqtt_topic": format!("{prefix}/${{.headers.device}}"),
                "qos": 1,
                "payload_template": "${.key}|${.value}|${.headers.device}|${.nothing}"
            }],
            "key_encoding_mode": "base64",
            "value_encoding_mode": "base64",
            "offset_reset_policy": "earliest",
            "group_id": unique("g")
        }),
        json!([]),
        &mqtt(),
        true,
    );
    let running = RunningSource::start(spec, env);
    produce(
        &producer(),
        &topic,
        &[Produce {
            partition: 0,
            key: Some("k\u{e9}"),
            value: &[0xff, 0x00, b'a'],
            headers: &[("device", "d7")],
        }],
    )
    .await;
    let (received_topic, payload) = subscriber.next(DELIVERY).await.expect("nothing arrived");
    assert_eq!(received_topic, format!("{prefix}/d7"));
    assert_eq!(std::str::from_utf8(&payload).unwrap(), "a8Op|/wBh|d7|");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_cannot_be_published_are_counted_and_do_not_stall_the_partition() {
    let topic = unique("bad");
    let name = unique("src");
    let prefix = unique("m");
    create_topic(&topic, 1).await;
    let mut subscriber = Subscriber::start(&mqtt(), &format!("{prefix}/#")).await;
    let (env, metrics, _) = flow_env("w1");
    let spec = spec(
        &name,
        json!({
            "topic_mapping": [{"kafka_topic": topic, "mqtt_topic": format!("{prefix}/${{.key}}"), "qos": 1}],
            "offset_reset_policy": "earliest",
            "group_id": unique("g")
        }),
        json!([]),
        &mqtt(),
        false,
    );
    let group = spec.parameters.group_id.clone().unwrap();
    let running = RunningSource::start(spec, env);
    let records: Vec<Produce> = ["ok1", "+", "a/#", "ok2"]
        .iter()
        .map(|key| Produce {
            partition: 0,
            key: Some(key),
            value: b"{}",
            headers: &[],
        })
        .collect();
    produce(&producer(), &topic, &records).await;

    let got = subscriber
        .collect_until(DELIVERY, |all| all.len() >= 2)
        .await;
    let topics: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        topics,
        vec![format!("{prefix}/ok1"), format!("{prefix}/ok2")]
    );
    let m = metrics.resource(&format!("source:kafka_consumer:{name}"));
    assert!(eventually(Duration::from_secs(5), || m.get("success") == 2).await);
    assert_eq!(m.get("failed"), 2);
    assert_eq!(m.get("failed.invalid_topic"), 2);
    running.stop().await;
    assert_eq!(
        committed(&group, &topic, 1).get(&0),
        Some(&4),
        "bad records advance the offset"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_committed_while_mqtt_is_unreachable_and_reading_stops_at_max_inflight() {
    let topic = unique("down");
    let name = unique("src");
    let mqtt_topic = format!("t/{}", unique("m"));
    let group = unique("g");
    create_topic(&topic, 2).await;
    produce_numbered(&topic, 2, 0..50).await;
    let parameters = json!({
        "topic_mapping": [{"kafka_topic": topic, "mqtt_topic": mqtt_topic, "qos": 1}],
        "offset_reset_policy": "earliest",
        "group_id": group,
        "max_inflight": 10
    });

    // Nothing listens on this port.
    let unreachable = nothing_listens();
    let (env, metrics, status) = flow_env("w1");
    let running = RunningSource::start(
        spec(&name, parameters.clone(), json!([]), &unreachable, false),
        env,
    );
    let m = metrics.resource(&format!("source:kafka_consumer:{name}"));
    assert!(
        eventually(DELIVERY, || m.get("received") == 10).await,
        "received {}",
        m.get("received")
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(m.get("received"), 10, "reading must stop at max_inflight");
    assert_eq!(m.get("success"), 0);
    let mqtt_state = status.snapshot().get("mqtt:default").map(|s| s.state);
    assert_eq!(mqtt_state, Some(ConnectorState::Connecting));
    running.stop().await;
    assert!(
        committed(&group, &topic, 2).is_empty(),
        "nothing may be committed before MQTT acknowledged it"
    );

    // Same group, broker reachable now: every record arrives, then everything is committed.
    let mut subscriber = Subscriber::start(&mqtt(), &mqtt_topic).await;
    let (env, _, _) = flow_env("w1");
    let running = RunningSource::start(spec(&name, parameters, json!([]), &mqtt(), false), env);
    let mut tally = Tally::default();
    tally.read_until(&mut subscriber, 50, DELIVERY).await;
    assert_eq!(tally.missing(50), Vec::<u64>::new());
    running.stop().await;
    let committed = committed(&group, &topic, 2);
    assert_eq!(committed.values().sum::<i64>(), 50, "{committed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtt_broker_restart_mid_stream_loses_nothing() {
    const TOTAL: u32 = 3000;
    let topic = unique("restart");
    let name = unique("src");
    let mqtt_topic = format!("t/{}", unique("m"));
    let group = unique("g");
    create_topic(&topic, 3).await;
    produce_numbered(&topic, 3, 0..300).await;
    let mut broker = PrivateMosquitto::start();
    let mut subscriber = Subscriber::start(&broker.server(), &mqtt_topic).await;
    let (env, metrics, _) = flow_env("w1");
    let running = RunningSource::start(
        spec(
            &name,
            json!({
                "topic_mapping": [{"kafka_topic": topic, "mqtt_topic": mqtt_topic, "qos": 1}],
                "offset_reset_policy": "earliest",
                "group_id": group,
                "max_inflight": 200
            }),
            json!([]),
            &broker.server(),
            false,
        ),
        env,
    );
    let mut tally = Tally::default();
    tally.read_until(&mut subscriber, 300, DELIVERY).await;
    assert!(
        tally.distinct() >= 300,
        "only {} arrived before the restart",
        tally.distinct()
    );
    // The rest keeps coming while the broker restarts, so records are in flight when it goes.
    let producing = tokio::spawn({
        let topic = topic.clone();
        async move {
            for start in (300..TOTAL).step_by(100) {
                produce_numbered(&topic, 3, start..start + 100).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let broker = tokio::task::spawn_blocking(move || {
        broker.restart(Duration::from_secs(1));
        broker
    })
    .await
    .unwrap();
    producing.await.unwrap();
    tally
        .read_until(&mut subscriber, TOTAL as usize, Duration::from_secs(60))
        .await;
    let m = metrics.resource(&format!("source:kafka_consumer:{name}"));
    assert_eq!(
        subscriber.sessions_lost(),
        0,
        "the broker lost the subscriber's session across the restart: what it had queued is gone"
    );
    assert_eq!(
        tally.missing(u64::from(TOTAL)),
        Vec::<u64>::new(),
        "gaps after the restart (received {}, success {}, failed {}, {:?})",
        m.get("received"),
        m.get("success"),
        m.get("failed"),
        metrics.snapshot()
    );
    eprintln!("broker restart: {} duplicates", tally.duplicates());
    running
        .stop_once_all_committed(&m, &group, &topic, 3, TOTAL)
        .await;
    drop(broker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_share_partitions_and_a_leaving_member_loses_nothing() {
    let topic = unique("group");
    let name = unique("src");
    let mqtt_topic = format!("t/{}", unique("m"));
    let group = unique("g");
    create_topic(&topic, 4).await;
    produce_numbered(&topic, 4, 0..2000).await;
    let mut subscriber = Subscriber::start(&mqtt(), &mqtt_topic).await;
    let parameters = json!({
        "topic_mapping": [{"kafka_topic": topic, "mqtt_topic": mqtt_topic, "qos": 1}],
        "offset_reset_policy": "earliest",
        "group_id": group,
        "max_inflight": 100
    });
    let id = format!("source:kafka_consumer:{name}");
    let (env_a, metrics_a, _) = flow_env("wa");
    let (env_b, metrics_b, _) = flow_env("wb");
    let (ma, mb) = (metrics_a.resource(&id), metrics_b.resource(&id));
    let a = RunningSource::start(
        spec(&name, parameters.clone(), json!([]), &mqtt(), false),
        env_a,
    );
    let mut tally = Tally::default();
    tally.read_until(&mut subscriber, 500, DELIVERY).await;

    // A second member joins. Records trickle in until it has partitions (the first member alone
    // would otherwise read a batch long before the group rebalanced); from then on new records
    // are split between both.
    let b = RunningSource::start(spec(&name, parameters, json!([]), &mqtt(), false), env_b);
    let mut produced: u32 = 2000;
    let join_deadline = std::time::Instant::now() + Duration::from_secs(40);
    while mb.get("success") == 0 && std::time::Instant::now() < join_deadline {
        produce_numbered(&topic, 4, produced..produced + 40).await;
        produced += 40;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        mb.get("success") > 0,
        "the second member never got partitions"
    );
    produce_numbered(&topic, 4, produced..produced + 1000).await;
    produced += 1000;
    tally
        .read_until(&mut subscriber, produced as usize, DELIVERY)
        .await;
    assert_eq!(tally.missing(produced.into()), Vec::<u64>::new());
    // The subscriber can see a message before its publisher has the PUBACK: count once both
    // members have nothing in flight.
    let idle = |metrics: &tributary_data_plane::telemetry::MetricsHub| {
        gauge(metrics, &id, "inflight") == Some(0.0)
    };
    assert!(
        eventually(Duration::from_secs(10), || idle(&metrics_a)
            && idle(&metrics_b)
            && ma.get("success") + mb.get("success") >= u64::from(produced))
        .await,
        "a {} b {}, {produced} produced",
        ma.get("success"),
        mb.get("success")
    );
    let a_before = ma.get("success");
    produce_numbered(&topic, 4, produced..produced + 400).await;
    produced += 400;
    assert!(
        eventually(Duration::from_secs(10), || ma.get("success") > a_before).await,
        "the first member got no share of new records"
    );

    // The first member leaves mid-stream: its partitions move to the second, nothing is lost.
    let total = produced + 1600;
    let producing = tokio::spawn(produce_numbered(topic.clone(), 4, produced..total));
    a.stop().await;
    producing.await.unwrap();
    tally
        .read_until(&mut subscriber, total as usize, Duration::from_secs(60))
        .await;
    assert_eq!(
        tally.missing(total.into()),
        Vec::<u64>::new(),
        "gaps after the rebalance"
    );
    eprintln!(
        "group: {total} records, a delivered {}, b delivered {}, {} duplicates",
        ma.get("success"),
        mb.get("success"),
        tally.duplicates()
    );
    b.stop().await;
    assert_eq!(
        committed(&group, &topic, 4).values().sum::<i64>(),
        i64::from(total)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_reading_the_source_filters_on_a_header_and_republishes() {
    let topic = unique("rule");
    let name = unique("src");
    let prefix = unique("r");
    create_topic(&topic, 1).await;
    let mut subscriber = Subscriber::start(&mqtt(), &format!("{prefix}/#")).await;
    let (env, metrics, _) = flow_env("w1");
    let rules = json!([{
        "rule_id": "r1",
        "sql": format!("SELECT value, headers.h1 as h1 FROM \"$bridges/kafka_consumer:{name}\" WHERE headers.h1 = 'yes'"),
        "mqtt": {"name": "default", "config": {"server": mqtt()}},
        "actions": [{"type": "republish", "topic": format!("{prefix}/${{h1}}"), "qos": "1", "payload": "${value}"}]
    }]);
    let spec = spec(
        &name,
        json!({"topic": topic, "offset_reset_policy": "earliest", "group_id": unique("g")}),
        rules,
        &mqtt(),
        false,
    );
    let running = RunningSource::start(spec, env);
    let records: Vec<Produce> = [("no", "skip me"), ("yes", "take me")]
        .iter()
        .map(|(h1, value)| Produce {
            partition: 0,
            key: None,
            value: value.as_bytes(),
            headers: if *h1 == "yes" {
                &[("h1", "yes")]
            } else {
                &[("h1", "no")]
            },
        })
        .collect();
    produce(&producer(), &topic, &records).await;
    let (received_topic, payload) = subscriber
        .next(DELIVERY)
        .await
        .expect("nothing republished");
    assert_eq!(received_topic, format!("{prefix}/yes"));
    assert_eq!(&payload[..], b"take me");
    let rule = metrics.resource("rule:r1");
    assert!(eventually(Duration::from_secs(5), || rule.get("actions.success") == 1).await);
    assert_eq!(rule.get("matched"), 2);
    assert_eq!(rule.get("passed"), 1);
    assert_eq!(rule.get("failed.no_result"), 1);
    assert!(subscriber.next(Duration::from_millis(500)).await.is_none());
    running.stop().await;
}

/// A rule reading the source with a `kafka_producer` and a `republish` action.
fn producing_rule(source: &str, kafka_action: Value, republish_topic: &str) -> Value {
    json!([{
        "rule_id": unique("r"),
        "sql": format!("SELECT key, value FROM \"$bridges/kafka_consumer:{source}\""),
        "mqtt": {"name": "default", "config": {"server": mqtt()}},
        // QoS and retain left at their defaults (`${qos}`, `${flags.retain}`), which a Kafka
        // record lacks: they fall back to 0 and false.
        "actions": [kafka_action, {"type": "republish", "topic": republish_topic, "payload": "${value}"}]
    }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_reading_the_source_produces_to_kafka_and_republishes_before_the_commit() {
    let topic = unique("in");
    let out = unique("out");
    let name = unique("src");
    let prefix = unique("r");
    create_topic(&topic, 2).await;
    create_topic(&out, 1).await;
    let mut subscriber = Subscriber::start(&mqtt(), &format!("{prefix}/#")).await;
    let (env, metrics, status) = flow_env("w1");
    let rules = producing_rule(
        &name,
        kafka_action("sink", &kafka(), &out, "sync"),
        &format!("{prefix}/${{key}}"),
    );
    let rule_id = rules[0]["rule_id"].as_str().unwrap().to_owned();
    let group = unique("g");
    let spec = spec(
        &name,
        json!({"topic": topic, "offset_reset_policy": "earliest", "group_id": group}),
        rules,
        &mqtt(),
        false,
    );
    let running = RunningSource::start(spec, env);
    let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    let values: Vec<String> = (0..10).map(|i| format!("v{i}")).collect();
    let records: Vec<Produce> = (0..10)
        .map(|i| Produce {
            partition: i % 2,
            key: Some(&keys[i as usize]),
            value: values[i as usize].as_bytes(),
            headers: &[],
        })
        .collect();
    produce(&producer(), &topic, &records).await;

    let mut produced = consume(&out, 10, DELIVERY).await;
    produced.sort();
    let expected: Vec<(Option<String>, String)> = (0..10)
        .map(|i| (Some(format!("k{i}")), format!("v{i}")))
        .collect();
    assert_eq!(produced, expected);
    let mut republished: Vec<(String, String)> = subscriber
        .collect_until(DELIVERY, |all| all.len() >= 10)
        .await
        .into_iter()
        .map(|(t, p)| (t, String::from_utf8_lossy(&p).into_owned()))
        .collect();
    republished.sort();
    let expected: Vec<(String, String)> = (0..10)
        .map(|i| (format!("{prefix}/k{i}"), format!("v{i}")))
        .collect();
    assert_eq!(republished, expected);

    let rule = metrics.resource(&format!("rule:{rule_id}"));
    let source = metrics.resource(&format!("source:kafka_consumer:{name}"));
    assert!(
        eventually(Duration::from_secs(10), || source.get("success") == 10).await,
        "source success {}",
        source.get("success")
    );
    assert_eq!(rule.get("actions.total"), 20);
    assert_eq!(rule.get("actions.success"), 20);
    assert_eq!(rule.get("actions.failed"), 0);
    assert_eq!(
        metrics
            .resource("action:kafka_producer:sink")
            .get("success"),
        10
    );
    assert_eq!(
        status
            .snapshot()
            .get("kafka_producer:test_kafka_out")
            .map(|s| s.state),
        Some(ConnectorState::Connected)
    );
    running.stop().await;
    assert_eq!(committed(&group, &topic, 2).values().sum::<i64>(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_kafka_action_holds_offsets_until_kafka_acknowledged() {
    let topic = unique("in");
    let out = unique("out");
    let name = unique("src");
    let prefix = unique("r");
    let group = unique("g");
    create_topic(&topic, 1).await;
    create_topic(&out, 1).await;
    produce_numbered(&topic, 1, 0..20).await;
    let parameters = json!({
        "topic": topic,
        "offset_reset_policy": "earliest",
        "group_id": group,
        "max_inflight": 5
    });

    // Nothing listens on this port: no produce is ever acknowledged.
    let unreachable = nothing_listens();
    let (env, metrics, _) = flow_env("w1");
    let rules = producing_rule(
        &name,
        kafka_action("sink", &unreachable, &out, "sync"),
        &format!("{prefix}/x"),
    );
    let running = RunningSource::start(spec(&name, parameters.clone(), rules, &mqtt(), false), env);
    let m = metrics.resource(&format!("source:kafka_consumer:{name}"));
    assert!(
        eventually(DELIVERY, || m.get("received") == 5).await,
        "received {}",
        m.get("received")
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(m.get("received"), 5, "reading must stop at max_inflight");
    assert_eq!(m.get("success") + m.get("failed"), 0);
    running.stop().await;
    assert!(
        committed(&group, &topic, 1).is_empty(),
        "nothing may be committed before Kafka acknowledged it"
    );

    // Same group, reachable Kafka: every record is produced, then everything is committed.
    let (env, metrics, _) = flow_env("w1");
    let rules = producing_rule(
        &name,
        kafka_action("sink", &kafka(), &out, "sync"),
        &format!("{prefix}/x"),
    );
    let running = RunningSource::start(spec(&name, parameters, rules, &mqtt(), false), env);
    let produced = consume(&out, 20, DELIVERY).await;
    let numbers: std::collections::BTreeSet<u64> = produced
        .iter()
        .map(|(_, value)| {
            serde_json::from_str::<Value>(value).unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(numbers, (0..20).collect());
    let m = metrics.resource(&format!("source:kafka_consumer:{name}"));
    assert!(eventually(Duration::from_secs(10), || m.get("success") == 20).await);
    running.stop().await;
    assert_eq!(committed(&group, &topic, 1).get(&0), Some(&20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_produce_that_can_never_succeed_is_counted_and_the_offset_advances() {
    let topic = unique("in");
    let name = unique("src");
    let prefix = unique("r");
    let group = unique("g");
    create_topic(&topic, 1).await;
    let (env, metrics, _) = flow_env("w1");
    // The action's topic does not exist (and is never auto-created).
    let rules = producing_rule(
        &name,
        kafka_action("missing", &kafka(), &unique("absent"), "sync"),
        &format!("{prefix}/x"),
    );
    let rule_id = rules[0]["rule_id"].as_str().unwrap().to_owned();
    let running = RunningSource::start(
        spec(
            &name,
            json!({"topic": topic, "offset_reset_policy": "earliest", "group_id": group}),
            rules,
            &mqtt(),
            false,
        ),
        env,
    );
    produce_numbered(&topic, 1, 0..3).await;
    let m = metrics.resource(&format!("source:kafka_consumer:{name}"));
    assert!(
        eventually(DELIVERY, || m.get("failed") == 3).await,
        "failed {}",
        m.get("failed")
    );
    assert_eq!(m.get("failed.kafka_produce"), 3);
    assert_eq!(m.get("success"), 0);
    let rule = metrics.resource(&format!("rule:{rule_id}"));
    assert_eq!(rule.get("actions.failed"), 3);
    assert_eq!(
        rule.get("actions.success"),
        3,
        "the republish actions still succeed"
    );
    running.stop().await;
    assert_eq!(committed(&group, &topic, 1).get(&0), Some(&3));
}

/// A new assignment (a rule added, say) restarts a source while its first consumer-group join is
/// still under way: the LeaveGroup it sends then must not leave the group unassignable, and the
/// next member must get the partitions and deliver everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_restarted_before_its_group_join_finished_still_delivers() {
    let topic = unique("rejoin");
    let name = unique("src");
    let mqtt_topic = format!("t/{}", unique("m"));
    create_topic(&topic, 2).await;
    produce_numbered(&topic, 2, 0..10).await;
    let mut subscriber = Subscriber::start(&mqtt(), &mqtt_topic).await;
    let parameters = json!({
        "topic_mapping": [{"kafka_topic": topic, "mqtt_topic": mqtt_topic, "qos": 1}],
        "offset_reset_policy": "earliest",
        "group_id": unique("g")
    });
    // A new assignment (e.g. a rule added) restarts the source while it is still joining.
    let (env, _, _) = flow_env("w1");
    let first = RunningSource::start(
        spec(&name, parameters.clone(), json!([]), &mqtt(), false),
        env,
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    first.stop().await;
    eprintln!("stopped in {:?}", started.elapsed());
    let (env, _, _) = flow_env("w1");
    let second = RunningSource::start(spec(&name, parameters, json!([]), &mqtt(), false), env);
    let mut tally = Tally::default();
    tally
        .read_until(&mut subscriber, 10, Duration::from_secs(40))
        .await;
    eprintln!("delivered after {:?}", started.elapsed());
    assert_eq!(tally.missing(10), Vec::<u64>::new());
    second.stop().await;
}

/// A gauge of a resource as the heartbeat snapshot reports it.
fn gauge(
    metrics: &tributary_data_plane::telemetry::MetricsHub,
    resource_id: &str,
    name: &str,
) -> Option<f64> {
    metrics
        .snapshot()
        .into_iter()
        .find(|resource| resource.resource_id == resource_id)?
        .gauges
        .get(name)
        .copied()
}

/// `lag.<topic>.0` of the source as the heartbeat snapshot reports it.
fn reported_lag(
    metrics: &tributary_data_plane::telemetry::MetricsHub,
    source: &str,
    topic: &str,
) -> Option<f64> {
    gauge(
        metrics,
        &format!("source:kafka_consumer:{source}"),
        &format!("lag.{topic}.0"),
    )
}

/// Runs source `name` with `parameters` against an MQTT broker nobody listens on (nothing is
/// delivered, so nothing is stored or committed) until its lag gauge on `topic` satisfies
/// `expected`; fails the test if it never does.
async fn lag_with_mqtt_down(
    name: &str,
    topic: &str,
    parameters: Value,
    expected: impl Fn(f64) -> bool,
) {
    let (env, metrics, _) = flow_env("w1");
    let running = RunningSource::start(
        spec(name, parameters, json!([]), &nothing_listens(), false),
        env,
    );
    let backlog = eventually(DELIVERY, || {
        reported_lag(&metrics, name, topic).is_some_and(&expected)
    })
    .await;
    assert!(backlog, "lag {:?}", reported_lag(&metrics, name, topic));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lag_gauge_shows_the_backlog_while_mqtt_is_unreachable() {
    let topic = unique("lag");
    let name = unique("src");
    let mqtt_topic = format!("t/{}", unique("m"));
    let group = unique("g");
    create_topic(&topic, 1).await;
    let parameters = json!({
        "topic_mapping": [{"kafka_topic": topic, "mqtt_topic": mqtt_topic, "qos": 1}],
        "offset_reset_policy": "earliest",
        "group_id": group,
        "max_inflight": 10
    });

    // First a committed position: 10 records delivered.
    produce_numbered(&topic, 1, 0..10).await;
    let (env, metrics, _) = flow_env("w1");
    let running = RunningSource::start(
        spec(&name, parameters.clone(), json!([]), &mqtt(), false),
        env,
    );
    let m = metrics.resource(&format!("source:kafka_consumer:{name}"));
    assert!(eventually(DELIVERY, || m.get("success") == 10).await);
    running.stop().await;
    assert_eq!(committed(&group, &topic, 1).get(&0), Some(&10));

    // MQTT unreachable: the source stops at max_inflight while 200 more records pile up.
    produce_numbered(&topic, 1, 10..210).await;
    lag_with_mqtt_down(&name, &topic, parameters.clone(), |lag| lag >= 200.0).await;

    // Reachable again: the backlog drains and the gauge falls to zero.
    let mut subscriber = Subscriber::start(&mqtt(), &mqtt_topic).await;
    let (env, metrics, _) = flow_env("w1");
    let running = RunningSource::start(spec(&name, parameters, json!([]), &mqtt(), false), env);
    let mut tally = Tally::default();
    tally.read_until(&mut subscriber, 200, DELIVERY).await;
    let drained = eventually(Duration::from_secs(15), || {
        reported_lag(&metrics, &name, &topic) == Some(0.0)
    })
    .await;
    assert!(drained, "lag {:?}", reported_lag(&metrics, &name, &topic));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lag_gauge_counts_the_backlog_of_a_group_that_never_committed() {
    let topic = unique("lag0");
    let name = unique("src");
    create_topic(&topic, 1).await;
    produce_numbered(&topic, 1, 0..200).await;
    // A new group and MQTT unreachable: nothing is ever stored or committed.
    let parameters = json!({
        "topic_mapping": [{"kafka_topic": topic, "mqtt_topic": "t/x", "qos": 1}],
        "offset_reset_policy": "earliest",
        "group_id": unique("g"),
        "max_inflight": 10
    });
    lag_with_mqtt_down(&name, &topic, parameters, |lag| lag == 200.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_cannot_start_reports_failed_with_the_reason() {
    let name = unique("src");
    let (env, _, status) = flow_env("w1");
    let flows = tributary_data_plane::flow::FlowStatuses::default();
    let flow_id = format!("source:kafka_consumer:{name}");
    let reporter = tributary_data_plane::flow::FlowReporter::new(flows.clone(), &flow_id, "v1");
    reporter.running();
    // Neither a topic nor a mapping: nothing to read.
    let spec = spec(&name, json!({}), json!([]), &mqtt(), false);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(source::run_reported(spec, env, reporter, shutdown.clone()));

    let failed = eventually(Duration::from_secs(5), || {
        flows.snapshot().get(&flow_id).map(|flow| flow.status) == Some(FlowPhase::Failed)
    })
    .await;
    let flow = flows.snapshot().get(&flow_id).cloned();
    assert!(failed, "{flow:?}");
    let reason = flow.map(|flow| flow.reason).unwrap_or_default();
    assert!(reason.contains("parameters.topic"), "{reason}");
    let connector = status.snapshot().get("kafka_consumer:test_kafka").cloned();
    assert_eq!(
        connector.as_ref().map(|c| c.state),
        Some(ConnectorState::Disconnected)
    );
    assert!(
        connector.is_some_and(|c| c.reason.contains("parameters.topic")),
        "{:?}",
        status.snapshot()
    );
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_kafka_shows_as_disconnected_with_librdkafkas_reason() {
    let name = unique("src");
    let (env, _, status) = flow_env("w1");
    let mut spec = spec(
        &name,
        json!({"topic": unique("t"), "group_id": unique("g")}),
        json!([]),
        &mqtt(),
        false,
    );
    // Nothing listens on this port.
    spec.kafka.bootstrap_hosts = nothing_listens();
    let running = RunningSource::start(spec, env);
    let kafka_status = || status.snapshot().get("kafka_consumer:test_kafka").cloned();
    let reported = eventually(Duration::from_secs(15), || {
        kafka_status().is_some_and(|s| {
            s.state == ConnectorState::Disconnected && s.reason.contains("Connection refused")
        })
    })
    .await;
    assert!(reported, "{:?}", kafka_status());
    running.stop().await;
}

/// A backlog is read at the pace MQTT acknowledges it, not in bursts of `max_inflight` per
/// refetch: reaching the bound only stops taking records from librdkafka's prefetch queues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_streams_through_without_stalling_at_max_inflight() {
    const TOTAL: u32 = 20_000;
    let topic = unique("backlog");
    let name = unique("src");
    let mqtt_topic = format!("t/{}", unique("m"));
    let group = unique("g");
    create_topic(&topic, 4).await;
    produce_numbered(&topic, 4, 0..TOTAL).await;
    let mut subscriber = Subscriber::start(&mqtt(), &mqtt_topic).await;
    let (env, metrics, _) = flow_env("w1");
    let running = RunningSource::start(
        spec(
            &name,
            json!({
                "topic_mapping": [{"kafka_topic": topic, "mqtt_topic": mqtt_topic, "qos": 1}],
                "offset_reset_policy": "earliest",
                "group_id": group,
                "max_inflight": 500
            }),
            json!([]),
            &mqtt(),
            false,
        ),
        env,
    );
    let mut tally = Tally::default();
    // Time from the first record on: the group join is not what this measures.
    tally.read_until(&mut subscriber, 1, DELIVERY).await;
    let started = std::time::Instant::now();
    tally
        .read_until(&mut subscriber, TOTAL as usize, Duration::from_secs(60))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(tally.missing(u64::from(TOTAL)), Vec::<u64>::new());
    let rate = f64::from(TOTAL) / elapsed.as_secs_f64();
    eprintln!("backlog: {TOTAL} records in {elapsed:?} ({rate:.0}/s)");
    // Pausing at the bound capped this at about max_inflight per second (500/s here).
    assert!(rate > 2_500.0, "{rate:.0} records/s");
    let m = metrics.resource(&format!("source:kafka_consumer:{name}"));
    running
        .stop_once_all_committed(&m, &group, &topic, 4, TOTAL)
        .await;
}
