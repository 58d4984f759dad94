//! The control plane health-checks enabled connectors no worker runs, as EMQX starts and checks
//! a connector on creation: against the real Kafka and Mosquitto of the test stack, a connector
//! with no rule reports `connected`, one pointing where nothing listens `disconnected` with the
//! reason, a disabled one `stopped`; an action shows its connector's status; a replica checks
//! connectors another one created.
//!
//! Needs `TRIBUTARY_TEST_KAFKA` and `TRIBUTARY_TEST_MQTT` (`source .test-stack/env`).

#![allow(clippy::expect_used)]

mod common;

use actix_web::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tributary_control_plane::{app, health_check};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test-stack.sh start and source .test-stack/env")
    })
}

fn assert_disconnected_because(body: &Value, words: &[&str]) {
    assert_eq!(body["status"], "disconnected", "{body}");
    let reason = body["status_reason"].as_str().expect("a status_reason");
    for word in words {
        assert!(reason.contains(word), "expected `{word}` in: {reason}");
    }
    assert_eq!(body["node_status"], json!([]), "no worker runs it: {body}");
}

#[sqlx::test(migrations = "../migrations")]
async fn kafka_connectors_are_checked_on_creation(pool: PgPool) {
    let app = test_app!(pool);
    let up = json!({"type": "kafka_producer", "name": "up", "bootstrap_hosts": env("TRIBUTARY_TEST_KAFKA")});
    let (status, created) = call!(app, common::post("/api/v5/connectors", &up));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(
        ["connecting", "connected"].contains(&created["status"].as_str().unwrap_or_default()),
        "{created}"
    );
    let down = json!({"type": "kafka_consumer", "name": "down", "bootstrap_hosts": "127.0.0.1:1", "connect_timeout": "2s"});
    let (status, created) = call!(app, common::post("/api/v5/connectors", &down));
    assert_eq!(status, StatusCode::CREATED, "{created}");

    let up = settled!(app, "/api/v5/connectors/kafka_producer:up");
    assert_eq!(up["status"], "connected", "{up}");
    assert!(up.get("status_reason").is_none(), "{up}");
    let down = settled!(app, "/api/v5/connectors/kafka_consumer:down");
    assert_disconnected_because(&down, &["cannot reach", "127.0.0.1:1", "refused"]);

    // An action on it, with no rule using it, shows its connector's status.
    let (status, created) = call!(
        app,
        common::post("/api/v5/actions", &common::producer_action("a", "up"))
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, action) = call!(app, common::get("/api/v5/actions/kafka_producer:a"));
    assert_eq!(action["status"], "connected", "{action}");

    // Pointed elsewhere, it is checked again at once.
    let moved = json!({"bootstrap_hosts": "127.0.0.1:1", "connect_timeout": "2s"});
    let (status, updated) = call!(
        app,
        common::put("/api/v5/connectors/kafka_producer:up", &moved)
    );
    assert_eq!(status, StatusCode::OK, "{updated}");
    let moved = settled!(app, "/api/v5/connectors/kafka_producer:up");
    assert_disconnected_because(&moved, &["cannot reach", "127.0.0.1:1"]);
    let (_, action) = call!(app, common::get("/api/v5/actions/kafka_producer:a"));
    assert_eq!(action["status"], "disconnected", "{action}");
    assert_eq!(action["status_reason"], moved["status_reason"], "{action}");
}

#[sqlx::test(migrations = "../migrations")]
async fn mqtt_connectors_are_checked_on_creation(pool: PgPool) {
    let app = test_app!(pool);
    let up = json!({"type": "mqtt", "name": "up", "server": env("TRIBUTARY_TEST_MQTT")});
    let (status, created) = call!(app, common::post("/api/v5/connectors", &up));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let down =
        json!({"type": "mqtt", "name": "down", "server": "127.0.0.1:1", "connect_timeout": "2s"});
    let (status, created) = call!(app, common::post("/api/v5/connectors", &down));
    assert_eq!(status, StatusCode::CREATED, "{created}");

    let up = settled!(app, "/api/v5/connectors/mqtt:up");
    assert_eq!(up["status"], "connected", "{up}");
    let down = settled!(app, "/api/v5/connectors/mqtt:down");
    assert_disconnected_because(&down, &["cannot reach", "127.0.0.1:1", "refused"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn disabled_connectors_are_stopped_and_checked_again_when_enabled(pool: PgPool) {
    let app = test_app!(pool);
    let off = json!({"type": "mqtt", "name": "off", "enable": false, "server": env("TRIBUTARY_TEST_MQTT")});
    let (status, created) = call!(app, common::post("/api/v5/connectors", &off));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "stopped", "{created}");
    let (_, read) = call!(app, common::get("/api/v5/connectors/mqtt:off"));
    assert_eq!(read["status"], "stopped", "{read}");

    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/connectors/mqtt:off/enable/true")
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    let on = settled!(app, "/api/v5/connectors/mqtt:off");
    assert_eq!(on["status"], "connected", "{on}");

    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/connectors/mqtt:off/enable/false")
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, read) = call!(app, common::get("/api/v5/connectors/mqtt:off"));
    assert_eq!(read["status"], "stopped", "{read}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_replica_checks_connectors_created_on_another(pool: PgPool) {
    let replica_a = test_app!(pool.clone());
    let state_b = common::state(pool.clone()).await;
    let stop = CancellationToken::new();
    tokio::spawn(health_check::run(
        state_b.health.clone(),
        pool.clone(),
        stop.clone(),
    ));
    let replica_b = actix_web::test::init_service(app::build(state_b, app::openapi_json())).await;

    let up = json!({"type": "kafka_producer", "name": "up", "bootstrap_hosts": env("TRIBUTARY_TEST_KAFKA")});
    let (status, created) = call!(replica_a, common::post("/api/v5/connectors", &up));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // Replica B learns of it from the database only: its periodic sweep checks it.
    let seen = settled!(replica_b, "/api/v5/connectors/kafka_producer:up");
    assert_eq!(seen["status"], "connected", "{seen}");
    stop.cancel();
}

/// EMQX's `start` of a connector it left stopped (`start_after_created: false`): against the
/// real Kafka it connects and `start` answers 204; a second `start` finds it connected and
/// restarts nothing, as EMQX leaves a connected resource alone.
#[sqlx::test(migrations = "../migrations")]
async fn start_connects_a_connector_left_stopped(pool: PgPool) {
    let app = test_app!(pool.clone());
    let body = json!({"type": "kafka_producer", "name": "lazy",
                      "bootstrap_hosts": env("TRIBUTARY_TEST_KAFKA"),
                      "resource_opts": {"start_after_created": false, "start_timeout": "10s"}});
    let (status, created) = call!(app, common::post("/api/v5/connectors", &body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "stopped", "{created}");
    let starts = || async {
        sqlx::query_scalar::<_, i64>("SELECT starts FROM connectors WHERE name = 'lazy'")
            .fetch_one(&pool)
            .await
            .expect("the connector's starts")
    };
    for expected_starts in [1, 1] {
        let (status, body) = call!(
            app,
            common::post("/api/v5/connectors/kafka_producer:lazy/start", &json!({}))
        );
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert_eq!(starts().await, expected_starts);
        let (_, read) = call!(app, common::get("/api/v5/connectors/kafka_producer:lazy"));
        assert_eq!(read["status"], "connected", "{read}");
    }
}
