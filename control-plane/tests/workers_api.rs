//! The REST side of the worker plane: `/workers`, `/status`, `/flows`, metrics and resets, and the
//! Prometheus gauges, with workers registered and heartbeating over real gRPC.

mod common;
mod grpc_support;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use grpc_support::{client, heartbeat, register, seed_connectors, start_replica};
use prometheus_client::registry::Registry;
use serde_json::Value;
use sqlx::PgPool;
use tributary_control_plane::grpc::LeaseSettings;
use tributary_control_plane::http::gauges::ControlPlaneGauges;
use tributary_protocol::worker::v1::{FlowStatus, HeartbeatRequest, ResourceMetrics};

fn matched(resource_id: &str, count: u64) -> ResourceMetrics {
    ResourceMetrics {
        resource_id: resource_id.to_owned(),
        counters: [("matched".to_owned(), count), ("success".to_owned(), count)].into(),
        gauges: [("rate".to_owned(), 0.5)].into(),
    }
}

fn node<'a>(topology: &'a Value, id: &str) -> &'a Value {
    topology["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|node| node["id"] == id)
        .unwrap_or_else(|| panic!("no node {id} in {topology}"))
}

fn has_edge(topology: &Value, from: &str, to: &str, kind: &str) -> bool {
    topology["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|edge| edge["from"] == from && edge["to"] == to && edge["kind"] == kind)
}

#[sqlx::test(migrations = "../migrations")]
async fn workers_are_listed_with_their_status_and_flows(pool: PgPool) {
    let lease = LeaseSettings {
        ttl: Duration::from_millis(700),
        heartbeat_interval: Duration::from_millis(200),
    };
    let replica = start_replica(pool.clone(), lease).await;
    let mut grpc = client(replica.addr).await;
    let up = register(&mut grpc, "w-up").await;
    let down = register(&mut grpc, "w-down").await;
    let app = test_app!(pool.clone());

    tokio::time::sleep(Duration::from_millis(900)).await;
    grpc.heartbeat(HeartbeatRequest {
        applied_revision: 3,
        flows: vec![FlowStatus {
            flow_id: "rule:r1".to_owned(),
            version: "abc".to_owned(),
            status: "running".to_owned(),
            reason: String::new(),
        }],
        ..heartbeat(&up)
    })
    .await
    .unwrap();

    let (status, body) = call!(app, common::get("/api/v5/workers"));
    assert_eq!(status, StatusCode::OK, "{body}");
    let workers = body.as_array().unwrap();
    assert_eq!(workers.len(), 2);
    let by_name = |name: &str| workers.iter().find(|w| w["name"] == name).unwrap().clone();
    let w_up = by_name("w-up");
    assert_eq!(w_up["status"], "up");
    assert_eq!(w_up["id"], up.worker_id);
    assert_eq!(w_up["epoch"], 1);
    assert_eq!(w_up["applied_revision"], 3);
    assert_eq!(w_up["version"], "0.1.0-test");
    assert_eq!(w_up["flows"][0]["flow_id"], "rule:r1");
    assert_eq!(w_up["flows"][0]["status"], "running");
    let w_down = by_name("w-down");
    assert_eq!(w_down["status"], "down");
    assert_eq!(w_down["id"], down.worker_id);

    // Without credentials the list is refused.
    let (status, _) = call!(app, TestRequest::get().uri("/api/v5/workers"));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrations = "../migrations")]
async fn status_is_public_and_counts_live_workers(pool: PgPool) {
    let replica = start_replica(pool.clone(), LeaseSettings::default()).await;
    let mut grpc = client(replica.addr).await;
    register(&mut grpc, "w1").await;
    register(&mut grpc, "w2").await;
    let revision: i64 = sqlx::query_scalar("SELECT revision FROM config_revision")
        .fetch_one(&pool)
        .await
        .unwrap();
    let app = test_app!(pool);

    let (status, body) = call!(app, TestRequest::get().uri("/api/v5/status"));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["control_plane"], "up");
    assert_eq!(body["database"], "reachable");
    assert_eq!(body["live_workers"], 2);
    assert_eq!(body["config_revision"], revision);
}

#[sqlx::test(migrations = "../migrations")]
async fn rule_metrics_are_summed_and_reset_through_the_api(pool: PgPool) {
    seed_connectors(&pool).await;
    sqlx::query("INSERT INTO rules (id, sql) VALUES ('r1', 'SELECT * FROM \"t/#\"')")
        .execute(&pool)
        .await
        .unwrap();
    let replica = start_replica(pool.clone(), LeaseSettings::default()).await;
    let mut grpc = client(replica.addr).await;
    let w1 = register(&mut grpc, "w1").await;
    let w2 = register(&mut grpc, "w2").await;
    let revision: i64 = sqlx::query_scalar("SELECT revision FROM config_revision")
        .fetch_one(&pool)
        .await
        .unwrap();
    let applied_revision = u64::try_from(revision).unwrap();
    for (worker, count) in [(&w1, 2), (&w2, 5)] {
        grpc.heartbeat(HeartbeatRequest {
            applied_revision,
            metrics: vec![
                matched("rule:r1", count),
                matched("action:kafka_producer:sink", count * 10),
            ],
            ..heartbeat(worker)
        })
        .await
        .unwrap();
    }
    let app = test_app!(pool.clone());

    let (status, body) = call!(app, common::get("/api/v5/rules/r1/metrics"));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["metrics"]["matched"], 7);
    assert_eq!(body["metrics"]["matched.rate"], 1.0);
    assert_eq!(body["metrics"]["actions.total"], 0);
    assert_eq!(body["node_metrics"].as_array().unwrap().len(), 2);

    let (status, body) = call!(
        app,
        common::get("/api/v5/actions/kafka_producer:sink/metrics")
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["metrics"]["matched"], 70);
    assert_eq!(body["metrics"]["dropped.queue_full"], 0);
    assert_eq!(body["metrics"]["rate"], 1.0);

    let (status, _) = call!(app, common::put_empty("/api/v5/rules/r1/metrics/reset"));
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = call!(app, common::get("/api/v5/rules/r1/metrics"));
    assert_eq!(body["metrics"]["matched"], 0);
    // Only the reset resource is zeroed.
    let (_, body) = call!(
        app,
        common::get("/api/v5/actions/kafka_producer:sink/metrics")
    );
    assert_eq!(body["metrics"]["matched"], 70);
    let generation: i64 =
        sqlx::query_scalar("SELECT generation FROM metric_resets WHERE resource_id = 'rule:r1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(generation, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn metrics_of_unknown_resources_are_not_found(pool: PgPool) {
    let app = test_app!(pool);
    for path in [
        "/api/v5/rules/nope/metrics",
        "/api/v5/actions/kafka_producer:nope/metrics",
        "/api/v5/sources/kafka_consumer:nope/metrics",
    ] {
        let (status, body) = call!(app, common::get(path));
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, body) = call!(app, common::put_empty("/api/v5/rules/nope/metrics/reset"));
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = call!(app, common::get("/api/v5/actions/no-colon/metrics"));
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["field"], "id", "{body}");
}

#[sqlx::test(migrations = "../migrations")]
async fn flows_show_the_topology_with_problems(pool: PgPool) {
    seed_connectors(&pool).await;
    sqlx::query(
        "INSERT INTO connectors (type, name, config) VALUES \
         ('kafka_consumer', 'cc', '{\"bootstrap_hosts\": \"127.0.0.1:9092\"}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO sources (type, name, connector, parameters) VALUES ('kafka_consumer', 'orders', 'cc', \
         '{\"topic\": \"orders\", \"topic_mapping\": [{\"kafka_topic\": \"cmds\", \"mqtt_topic\": \"cmd/${.key}\"}]}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO rules (id, sql, actions, mqtt_connector) VALUES \
         ('r1', 'SELECT * FROM \"t/#\"', '[\"kafka_producer:sink\"]', NULL), \
         ('r2', 'SELECT value FROM \"$bridges/kafka_consumer:orders\"', \
          '[{\"function\": \"republish\", \"args\": {\"topic\": \"out/1\"}}]', NULL), \
         ('r3', 'SELECT * FROM \"x/#\"', '[]', 'missing')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let app = test_app!(pool);

    let (status, topology) = call!(app, common::get("/api/v5/flows"));
    assert_eq!(status, StatusCode::OK, "{topology}");
    assert_eq!(node(&topology, "rule:r1")["kind"], "rule");
    assert!(has_edge(
        &topology,
        "mqtt_topic_filter:t/#",
        "rule:r1",
        "data"
    ));
    assert!(has_edge(
        &topology,
        "rule:r1",
        "action:kafka_producer:sink",
        "data"
    ));
    assert!(has_edge(
        &topology,
        "action:kafka_producer:sink",
        "kafka_topic:out",
        "data"
    ));
    assert!(has_edge(
        &topology,
        "action:kafka_producer:sink",
        "connector:kafka_producer:pc",
        "uses"
    ));
    assert!(has_edge(
        &topology,
        "kafka_topic:orders",
        "source:kafka_consumer:orders",
        "data"
    ));
    assert!(has_edge(
        &topology,
        "source:kafka_consumer:orders",
        "mqtt_topic:cmd/${.key}",
        "data"
    ));
    assert!(has_edge(
        &topology,
        "source:kafka_consumer:orders",
        "rule:r2",
        "data"
    ));
    assert!(has_edge(&topology, "rule:r2", "republish:r2:0", "data"));
    assert!(has_edge(
        &topology,
        "republish:r2:0",
        "mqtt_topic:out/1",
        "data"
    ));
    assert!(node(&topology, "rule:r1").get("problems").is_none());
    let problems = node(&topology, "rule:r3")["problems"].to_string();
    assert!(problems.contains("mqtt:missing"), "{problems}");
}

#[sqlx::test(migrations = "../migrations")]
async fn prometheus_gauges_follow_workers_and_the_revision(pool: PgPool) {
    let mut registry = Registry::default();
    let gauges = ControlPlaneGauges::register(&mut registry);
    let replica = start_replica(pool.clone(), LeaseSettings::default()).await;
    let mut grpc = client(replica.addr).await;
    register(&mut grpc, "w1").await;
    seed_connectors(&pool).await;
    let revision: i64 = sqlx::query_scalar("SELECT revision FROM config_revision")
        .fetch_one(&pool)
        .await
        .unwrap();

    gauges.refresh(&pool).await.unwrap();
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(text.contains("tributary_live_workers 1"), "{text}");
    assert!(
        text.contains(&format!("tributary_config_revision {revision}")),
        "{text}"
    );
}
