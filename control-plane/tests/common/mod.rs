//! Shared by the control plane's integration tests: the real application in-process on a fresh
//! database (`#[sqlx::test]`), an authorized API key, and request helpers.
//!
//! Needs `DATABASE_URL` (`source .test-stack/env` after `scripts/test-stack.sh start`).
// Each test binary uses a different part of these helpers.
#![allow(dead_code)]
// A failed setup step should fail the test loudly, like in the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use base64::Engine;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use sqlx::PgPool;
use tributary_control_plane::app;
use tributary_control_plane::auth::api_keys;
use tributary_control_plane::state::AppState;

pub const API_KEY: &str = "test-key";
pub const API_SECRET: &str = "test-secret-0123456789";

/// Creates the test API key and returns the application state.
pub async fn state(pool: PgPool) -> AppState {
    api_keys::ensure_bootstrap_key(&pool, API_KEY, API_SECRET)
        .await
        .expect("creating the test API key");
    AppState::new(pool, Registry::default())
}

/// `Authorization` header value for the given credentials.
pub fn basic(key: &str, secret: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"));
    format!("Basic {encoded}")
}

pub fn get(path: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .insert_header(("Authorization", basic(API_KEY, API_SECRET)))
}

pub fn delete(path: &str) -> TestRequest {
    TestRequest::delete()
        .uri(path)
        .insert_header(("Authorization", basic(API_KEY, API_SECRET)))
}

pub fn post(path: &str, body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", basic(API_KEY, API_SECRET)))
        .set_json(body)
}

pub fn put(path: &str, body: &Value) -> TestRequest {
    TestRequest::put()
        .uri(path)
        .insert_header(("Authorization", basic(API_KEY, API_SECRET)))
        .set_json(body)
}

pub fn put_empty(path: &str) -> TestRequest {
    TestRequest::put()
        .uri(path)
        .insert_header(("Authorization", basic(API_KEY, API_SECRET)))
}

/// Status and JSON body (`Value::Null` for an empty body, a string for non-JSON).
pub async fn read<B: MessageBody>(response: ServiceResponse<B>) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = actix_web::test::read_body(response).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body)
}

/// Builds the real application on `pool` with the test API key.
#[macro_export]
macro_rules! test_app {
    ($pool:expr) => {
        actix_web::test::init_service(tributary_control_plane::app::build(
            common::state($pool).await,
            tributary_control_plane::app::openapi_json(),
        ))
        .await
    };
}

/// Sends a request and returns `(status, json)`.
#[macro_export]
macro_rules! call {
    ($app:expr, $req:expr) => {
        common::read(actix_web::test::call_service(&$app, $req.to_request()).await).await
    };
}

/// Asserts a 400 naming `field`, returns the body.
pub fn assert_bad_field(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "BAD_REQUEST", "{body}");
    assert_eq!(body["field"], field, "{body}");
    assert!(
        body["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );
}

pub fn kafka_producer_connector(name: &str) -> Value {
    json!({
        "type": "kafka_producer",
        "name": name,
        "bootstrap_hosts": "127.0.0.1:9092",
        "authentication": {"mechanism": "plain", "username": "alice", "password": "kafka-secret"},
        "connect_timeout": "5s"
    })
}

pub fn kafka_consumer_connector(name: &str) -> Value {
    json!({"type": "kafka_consumer", "name": name, "bootstrap_hosts": "127.0.0.1:9092"})
}

pub fn mqtt_connector(name: &str) -> Value {
    json!({"type": "mqtt", "name": name, "server": "127.0.0.1:1883", "username": "u", "password": "mqtt-secret"})
}

pub fn producer_action(name: &str, connector: &str) -> Value {
    json!({
        "type": "kafka_producer",
        "name": name,
        "connector": connector,
        "parameters": {"topic": "testtopic-in", "message": {"key": "${clientid}", "value": "${payload}", "timestamp": "${timestamp}"}}
    })
}

pub fn consumer_source(name: &str, connector: &str) -> Value {
    json!({"type": "kafka_consumer", "name": name, "connector": connector, "parameters": {"topic": "testtopic-out"}})
}

/// Keeps `app` in scope for readers of the tests: the module is compiled once per test file.
pub fn openapi_text() -> String {
    app::openapi_json().0.as_str().to_owned()
}

/// GETs `path` until its `status` is no longer `connecting` (the control plane's first health
/// check of the connector has ended) and returns the body. Polls; panics after 30 s with the
/// last body, so a check that never ends fails the test instead of hanging it.
#[macro_export]
macro_rules! settled {
    ($app:expr, $path:expr) => {{
        let mut attempts = 0;
        loop {
            let (_, body) = call!($app, common::get($path));
            if body["status"] != "connecting" {
                break body;
            }
            attempts += 1;
            assert!(attempts < 300, "still connecting after 30s: {body}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }};
}
