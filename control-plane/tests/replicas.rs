//! Several control-plane replicas on one database agree because the decisions live in
//! PostgreSQL: unique names by constraint, references by row locks.

mod common;

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use tributary_control_plane::store::bridges::{self, BridgeTable, NewBridge};
use tributary_control_plane::validation::references;
use tributary_protocol::resources::ConnectorType;

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_creates_of_one_name_on_two_replicas_make_one_connector(pool: PgPool) {
    let first = test_app!(pool.clone());
    let second = test_app!(pool.clone());
    let body = common::mqtt_connector("shared");
    let (a, b) = futures::join!(
        async { call!(first, common::post("/api/v5/connectors", &body)) },
        async { call!(second, common::post("/api/v5/connectors", &body)) },
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::BAD_REQUEST],
        "{} / {}",
        a.1,
        b.1
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM connectors")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_delete_waits_for_a_concurrent_save_that_references_the_connector(pool: PgPool) {
    let app = test_app!(pool.clone());
    let (status, _) = call!(
        app,
        common::post("/api/v5/connectors", &common::kafka_producer_connector("k"))
    );
    assert_eq!(status, StatusCode::CREATED);

    // Another replica is saving an action on `k`: it has checked (and locked) the connector.
    let mut other_replica = pool.begin().await.unwrap();
    references::connector(
        &mut other_replica,
        "connector",
        ConnectorType::KafkaProducer,
        "k",
    )
    .await
    .unwrap();

    let parameters = json!({"topic": "t"});
    let resource_opts = json!({});
    let tags = json!([]);
    let save = async {
        // Give the delete time to reach the lock and wait on it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let new = NewBridge {
            kind: "kafka_producer",
            name: "late",
            connector: "k",
            enable: true,
            description: "",
            parameters: &parameters,
            resource_opts: &resource_opts,
            tags: &tags,
        };
        bridges::insert(&mut other_replica, BridgeTable::Actions, &new)
            .await
            .unwrap();
        other_replica.commit().await.unwrap();
    };
    let ((status, body), ()) = futures::join!(
        async { call!(app, common::delete("/api/v5/connectors/kafka_producer:k")) },
        save,
    );
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the delete must see the action saved meanwhile: {body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("kafka_producer:late"),
        "{body}"
    );
    let (status, _) = call!(app, common::get("/api/v5/connectors/kafka_producer:k"));
    assert_eq!(status, StatusCode::OK);
}
