//! `tributary-control apply` and `export` as a user runs them: the real binary against the real
//! REST API (served in-process on a free port) over a fresh database.

// The helpers below fail the test loudly, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use sqlx::PgPool;
use tributary_control_plane::app;

const FLOWS: &str = r#"
format_version: 1
connectors:
  - type: kafka_producer
    name: k
    bootstrap_hosts: 127.0.0.1:9092
    authentication:
      mechanism: plain
      username: alice
      password: kafka-secret
actions:
  - type: kafka_producer
    name: a
    connector: k
    parameters:
      topic: telemetry
      message: {key: "${clientid}", value: "${payload}"}
rules:
  - id: r1
    sql: SELECT * FROM "t/#"
    actions: [kafka_producer:a]
"#;

/// Serves the real application on a free loopback port; returns its base URL.
async fn serve(pool: PgPool) -> String {
    let state = common::state(pool).await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let spec = app::openapi_json();
    let server = actix_web::HttpServer::new(move || app::build(state.clone(), spec.clone()))
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
    tokio::spawn(server);
    format!("http://{address}")
}

async fn cli(api: &str, secret: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tributary-control"))
        .args(args)
        .env("TRIBUTARY_API", api)
        .env("TRIBUTARY_API_KEY", common::API_KEY)
        .env("TRIBUTARY_API_SECRET", secret)
        .output()
        .await
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn scratch_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tributary-{}-{name}", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).unwrap();
    path
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

async fn connector_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM connectors")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn apply_export_and_apply_again(pool: PgPool) {
    let api = serve(pool.clone()).await;
    let flows = scratch_file("flows.yaml", FLOWS);

    let dry = stdout(
        &cli(
            &api,
            common::API_SECRET,
            &["apply", "-f", text(&flows), "--dry-run"],
        )
        .await,
    );
    assert!(
        dry.contains("create    connector kafka_producer:k"),
        "{dry}"
    );
    assert!(dry.contains("3 would be created"), "{dry}");
    assert!(dry.contains("dry run: nothing was changed"), "{dry}");
    assert_eq!(connector_count(&pool).await, 0, "a dry run changes nothing");

    let applied = stdout(&cli(&api, common::API_SECRET, &["apply", "-f", text(&flows)]).await);
    assert!(
        applied.contains("3 created, 0 updated, 0 deleted, 0 unchanged"),
        "{applied}"
    );
    let again = stdout(&cli(&api, common::API_SECRET, &["apply", "-f", text(&flows)]).await);
    assert_eq!(again, "0 created, 0 updated, 0 deleted, 3 unchanged\n");

    let exported =
        std::env::temp_dir().join(format!("tributary-{}-export.yaml", uuid::Uuid::new_v4()));
    stdout(
        &cli(
            &api,
            common::API_SECRET,
            &["export", "--output", text(&exported)],
        )
        .await,
    );
    let yaml = std::fs::read_to_string(&exported).unwrap();
    assert!(
        !yaml.contains("kafka-secret"),
        "secrets stay out by default:\n{yaml}"
    );
    let document: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(document["actions"][0]["parameters"]["topic"], "telemetry");
    // The exported file, masked secrets and all, is the same configuration.
    let unchanged = stdout(&cli(&api, common::API_SECRET, &["apply", "-f", text(&exported)]).await);
    assert_eq!(unchanged, "0 created, 0 updated, 0 deleted, 3 unchanged\n");

    // A change in the file is shown field by field; --prune removes what the file leaves out.
    let edited_text = FLOWS.replace("topic: telemetry", "topic: telemetry-v2");
    let without_rules = edited_text.split("rules:").next().unwrap();
    let edited = scratch_file("edited.yaml", without_rules);
    let diff = stdout(
        &cli(
            &api,
            common::API_SECRET,
            &["apply", "-f", text(&edited), "--prune", "--dry-run"],
        )
        .await,
    );
    assert!(
        diff.contains("update    action    kafka_producer:a  (parameters.topic)"),
        "{diff}"
    );
    assert!(diff.contains("delete    rule      r1"), "{diff}");

    let refused = cli(&api, "wrong-secret", &["export"]).await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("401"), "{stderr}");

    for path in [flows, exported, edited] {
        let _ = std::fs::remove_file(path);
    }
}
