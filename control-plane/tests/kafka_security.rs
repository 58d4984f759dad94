//! Connection tests against the test stack's Apache Kafka on its authenticated and encrypted
//! listeners (`scripts/test-stack.sh`): SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and
//! SCRAM-SHA-512, SSL and SASL_SSL behind a throwaway CA. Every right combination passes; every
//! wrong one fails with a reason a user can act on.
//!
//! Needs the `TRIBUTARY_TEST_KAFKA_*` variables (`source .test-stack/env`).

// Helpers fail the test loudly when the stack is missing or misbehaves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test-stack.sh start and source .test-stack/env")
    })
}

fn pem(variable: &str) -> String {
    let path = var(variable);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// A `kafka_producer` connector body for the probe: `listener` names the test stack's variable of
/// the listener, `authentication` and `ssl` are the connector's fields as a user writes them.
fn connector(listener: &str, authentication: Value, ssl: Value) -> Value {
    json!({
        "type": "kafka_producer",
        "name": "secure",
        "bootstrap_hosts": var(listener),
        "authentication": authentication,
        "ssl": ssl,
        "connect_timeout": "3s",
        "metadata_request_timeout": "3s"
    })
}

fn sasl(mechanism: &str, user: &str, password: &str) -> Value {
    json!({"mechanism": mechanism, "username": var(user), "password": password})
}

fn scram512() -> Value {
    sasl(
        "scram_sha_512",
        "TRIBUTARY_TEST_KAFKA_SCRAM512_USER",
        &var("TRIBUTARY_TEST_KAFKA_SCRAM512_PASSWORD"),
    )
}

fn verified_tls(ca_variable: &str) -> Value {
    json!({"enable": true, "verify": "verify_peer", "cacertfile": pem(ca_variable)})
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

/// The probe failed (400 TEST_FAILED) and its message says `words`.
fn assert_failed_with(status: StatusCode, body: &Value, words: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "TEST_FAILED", "{body}");
    assert!(
        message(body).contains(words),
        "expected `{words}` in: {}",
        message(body)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn every_sasl_mechanism_authenticates_with_the_right_password(pool: PgPool) {
    let app = test_app!(pool);
    for (mechanism, user, password) in [
        (
            "plain",
            "TRIBUTARY_TEST_KAFKA_PLAIN_USER",
            "TRIBUTARY_TEST_KAFKA_PLAIN_PASSWORD",
        ),
        (
            "scram_sha_256",
            "TRIBUTARY_TEST_KAFKA_SCRAM256_USER",
            "TRIBUTARY_TEST_KAFKA_SCRAM256_PASSWORD",
        ),
        (
            "scram_sha_512",
            "TRIBUTARY_TEST_KAFKA_SCRAM512_USER",
            "TRIBUTARY_TEST_KAFKA_SCRAM512_PASSWORD",
        ),
    ] {
        let right = connector(
            "TRIBUTARY_TEST_KAFKA_SASL_PLAINTEXT",
            sasl(mechanism, user, &var(password)),
            json!({"enable": false}),
        );
        let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &right));
        assert_eq!(status, StatusCode::NO_CONTENT, "{mechanism}: {body}");

        let wrong = connector(
            "TRIBUTARY_TEST_KAFKA_SASL_PLAINTEXT",
            sasl(mechanism, user, "not-the-password"),
            json!({"enable": false}),
        );
        let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &wrong));
        assert_failed_with(status, &body, "authentication failed");
        assert!(
            !message(&body).contains("not-the-password"),
            "the password leaked into the answer: {body}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn sasl_and_tls_mismatches_are_explained(pool: PgPool) {
    let app = test_app!(pool);
    // A mechanism Kafka has but Tributary does not offer is a field error naming the choices.
    let mut unknown = connector(
        "TRIBUTARY_TEST_KAFKA_SASL_PLAINTEXT",
        scram512(),
        json!({"enable": false}),
    );
    unknown["authentication"]["mechanism"] = json!("gssapi");
    let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &unknown));
    common::assert_bad_field(status, &body, "authentication");

    // SASL towards a listener that expects none: the broker hangs up on the handshake.
    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/connectors_probe",
            &connector("TRIBUTARY_TEST_KAFKA", scram512(), json!({"enable": false}))
        )
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "TEST_FAILED", "{body}");

    // No SASL towards a listener that requires it.
    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/connectors_probe",
            &connector(
                "TRIBUTARY_TEST_KAFKA_SASL_PLAINTEXT",
                json!("none"),
                json!({"enable": false})
            )
        )
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "TEST_FAILED", "{body}");

    // TLS towards the plaintext listener fails the handshake.
    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/connectors_probe",
            &connector(
                "TRIBUTARY_TEST_KAFKA",
                json!("none"),
                verified_tls("TRIBUTARY_TEST_KAFKA_CA")
            )
        )
    );
    assert_failed_with(status, &body, "TLS");
}

#[sqlx::test(migrations = "../migrations")]
async fn tls_is_verified_against_the_configured_ca(pool: PgPool) {
    let app = test_app!(pool);
    for listener in ["TRIBUTARY_TEST_KAFKA_SSL", "TRIBUTARY_TEST_KAFKA_SASL_SSL"] {
        let authentication = if listener.ends_with("SASL_SSL") {
            scram512()
        } else {
            json!("none")
        };
        let trusted = connector(
            listener,
            authentication.clone(),
            verified_tls("TRIBUTARY_TEST_KAFKA_CA"),
        );
        let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &trusted));
        assert_eq!(status, StatusCode::NO_CONTENT, "{listener}: {body}");

        let wrong_ca = connector(
            listener,
            authentication.clone(),
            verified_tls("TRIBUTARY_TEST_KAFKA_OTHER_CA"),
        );
        let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &wrong_ca));
        assert_failed_with(status, &body, "TLS failure");
        assert!(
            message(&body).contains("certificate verify failed")
                || message(&body).contains("unable to get local issuer certificate"),
            "{listener}: {body}"
        );

        // Verification off: any certificate is accepted, as the user asked.
        let unverified = connector(
            listener,
            authentication,
            json!({"enable": true, "verify": "verify_none"}),
        );
        let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &unverified));
        assert_eq!(status, StatusCode::NO_CONTENT, "{listener}: {body}");
    }
}
