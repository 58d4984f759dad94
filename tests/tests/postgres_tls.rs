//! The control plane keeps its state in a PostgreSQL that accepts TLS connections only, checking
//! the server's certificate (`sslmode=verify-full`), as managed databases ask. A private
//! PostgreSQL serves a certificate of a CA generated here; the test stack's Mosquitto and Kafka.

use std::collections::BTreeMap;

use serde_json::json;
use sqlx::Connection;
use tributary_e2e::postgres::PrivatePostgres;
use tributary_e2e::tls::TestPki;
use tributary_e2e::{Stack, TestEnv};

fn url(port: u16, options: &str) -> String {
    format!("postgres://tributary@localhost:{port}/postgres?{options}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_plane_stores_its_state_over_verified_tls() {
    let pki = TestPki::generate();
    let postgres = PrivatePostgres::start_tls_only(&pki.server_cert, &pki.server_key);
    let port = postgres.port;

    // What works below works over TLS: a plain connection is refused.
    let plain = sqlx::PgConnection::connect(&url(port, "sslmode=disable")).await;
    let refused = plain.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("no encryption"), "plain: {refused}");
    // And the certificate is checked: one whose CA the URL does not trust is refused.
    let untrusted = url(
        port,
        &format!("sslmode=verify-full&sslrootcert={}", pki.other_ca.display()),
    );
    let wrong_ca = sqlx::PgConnection::connect(&untrusted).await;
    let refused = wrong_ca.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("certificate"), "untrusted CA: {refused}");

    let verified = url(
        port,
        &format!("sslmode=verify-full&sslrootcert={}", pki.ca.display()),
    );
    let env = TestEnv {
        database_url: verified,
        ..TestEnv::from_env()
    };
    let stack = Stack::start_on(env, 0, BTreeMap::new()).await;
    let api = stack.api();
    api.create_kafka_producer_connector("over-tls", &stack.env.kafka)
        .await;
    let listed = api.get("/connectors").await;
    let names: Vec<&str> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["over-tls"], "{listed}");
    // Read back through the same pool after a write: the schema was migrated over TLS too.
    let connector = api.get("/connectors/kafka_producer:over-tls").await;
    assert_eq!(connector["name"], json!("over-tls"), "{connector}");
}
