//! Connectors, actions and sources show the status live workers report (EMQX's `status`,
//! `status_reason`, `node_status[]`).

// The helper fails the test loudly when its setup insert fails.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

async fn worker_reports(
    pool: &PgPool,
    name: &str,
    connectors: serde_json::Value,
    lease_seconds: i64,
) {
    sqlx::query(
        "INSERT INTO workers (id, name, epoch, lease_expires_at, connectors)
         VALUES ($1, $1, 1, now() + make_interval(secs => $2), $3)",
    )
    .bind(name)
    .bind(lease_seconds as f64)
    .bind(connectors)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn status_comes_from_live_workers(pool: PgPool) {
    let app = test_app!(pool.clone());
    call!(
        app,
        common::post("/api/v5/connectors", &common::kafka_producer_connector("k"))
    );
    call!(
        app,
        common::post("/api/v5/actions", &common::producer_action("a", "k"))
    );

    // No worker runs it: the control plane's own health check says (nothing listens there).
    let connector = settled!(app, "/api/v5/connectors/kafka_producer:k");
    assert_eq!(connector["status"], "disconnected", "{connector}");
    assert!(connector["status_reason"].is_string());

    worker_reports(
        &pool,
        "w1",
        json!([{"connector_id": "kafka_producer:k", "status": "connected", "reason": ""}]),
        60,
    )
    .await;
    // A worker whose lease lapsed is history, not state.
    worker_reports(
        &pool,
        "w-dead",
        json!([{"connector_id": "kafka_producer:k", "status": "disconnected", "reason": "gone"}]),
        -60,
    )
    .await;

    let (status, connector) = call!(app, common::get("/api/v5/connectors/kafka_producer:k"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(connector["status"], "connected", "{connector}");
    assert_eq!(
        connector["node_status"],
        json!([{"node": "w1", "status": "connected"}])
    );

    let (_, action) = call!(app, common::get("/api/v5/actions/kafka_producer:a"));
    assert_eq!(
        action["status"], "connected",
        "an action shows its connector's status: {action}"
    );
    let (_, list) = call!(app, common::get("/api/v5/actions"));
    assert_eq!(list[0]["status"], "connected");

    worker_reports(&pool, "w2", json!([{"connector_id": "kafka_producer:k", "status": "connecting", "reason": "broker down"}]), 60).await;
    let (_, list) = call!(app, common::get("/api/v5/connectors"));
    assert_eq!(list[0]["status"], "inconsistent", "{list}");
}
