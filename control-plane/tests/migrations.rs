//! Migrations that move stored data: what was stored in the old shape reads back the same after.

mod common;

use std::borrow::Cow;

use actix_web::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use sqlx::migrate::Migrator;

/// The migration that moved the tags of actions and sources out of `resource_opts`.
const BRIDGE_TAGS: i64 = 20261203000014;

#[sqlx::test(migrations = false)]
async fn tags_kept_in_resource_opts_move_to_their_own_column(pool: PgPool) {
    let all: Migrator = sqlx::migrate!("../migrations");
    let before = Migrator {
        migrations: Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| m.version < BRIDGE_TAGS)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate!("../migrations")
    };
    before.run(&pool).await.unwrap();
    // As the API stored them before: tags beside the options.
    sqlx::query(
        "INSERT INTO connectors (type, name, config) VALUES \
         ('kafka_producer', 'k', '{\"bootstrap_hosts\": \"127.0.0.1:9092\"}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO actions (type, name, connector, parameters, resource_opts) VALUES \
         ('kafka_producer', 'a', 'k', '{\"topic\": \"t\"}', \
          '{\"health_check_interval\": \"20s\", \"tags\": [\"prod\", \"eu\"]}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    all.run(&pool).await.unwrap();

    let (resource_opts, tags): (serde_json::Value, serde_json::Value) =
        sqlx::query_as("SELECT resource_opts, tags FROM actions WHERE name = 'a'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(tags, json!(["prod", "eu"]));
    assert_eq!(resource_opts, json!({"health_check_interval": "20s"}));
    let app = test_app!(pool);
    let (status, read) = call!(app, common::get("/api/v5/actions/kafka_producer:a"));
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["tags"], json!(["prod", "eu"]), "{read}");
    assert_eq!(
        read["resource_opts"]["health_check_interval"], "20s",
        "{read}"
    );
}
