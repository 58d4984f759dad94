//! `POST /rule_test` through HTTP: the repository's conformance corpus, and the error shapes.

mod common;

use std::path::Path;

use actix_web::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

/// Numbers compare by value (`2` equals `2.0`), as the corpus README says.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_conformance_corpus_passes_through_http(pool: PgPool) {
    let app = test_app!(pool);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rule-engine/tests/conformance/rule_sql.jsonl");
    let text = std::fs::read_to_string(&corpus)
        .unwrap_or_else(|e| panic!("reading {}: {e}", corpus.display()));
    let mut failures = Vec::new();
    let mut cases = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("corpus lines are JSON");
        cases += 1;
        let name = case["name"].as_str().unwrap_or("?").to_owned();
        let request = json!({"sql": case["sql"], "context": case["context"]});
        let (status, body) = call!(app, common::post("/api/v5/rule_test", &request));
        let verdict = if let Some(code) = case["error"].as_str() {
            let expected_status = if code == "NOT_MATCH" {
                StatusCode::PRECONDITION_FAILED
            } else {
                StatusCode::BAD_REQUEST
            };
            status == expected_status && body["code"] == code
        } else if let Some(expect) = case.get("expect") {
            status == StatusCode::OK && same(&body, expect)
        } else if let Some(subset) = case["expect_subset"].as_object() {
            let keys_ok = case["expect_keys"].as_array().is_none_or(|keys| {
                keys.iter()
                    .all(|k| k.as_str().is_some_and(|k| body.get(k).is_some()))
            });
            status == StatusCode::OK
                && keys_ok
                && subset
                    .iter()
                    .all(|(k, v)| body.get(k).is_some_and(|got| same(got, v)))
        } else {
            false
        };
        if !verdict {
            failures.push(format!("{name}: got {status} {body}"));
        }
    }
    assert!(cases >= 50, "the corpus has only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn error_shapes_follow_emqx(pool: PgPool) {
    let app = test_app!(pool);
    let ctx = json!({"event_type": "message_publish", "topic": "t/1", "payload": "{\"x\": 1}", "clientid": "c"});
    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/rule_test",
            &json!({"sql": "SELECT x FROM \"a/#\"", "context": ctx})
        )
    );
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        body,
        json!({"code": "NOT_MATCH", "message": "SQL Not Match"})
    );

    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/rule_test",
            &json!({"sql": "SELECT FROM", "context": ctx})
        )
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "BAD_REQUEST");
    assert!(
        body["message"].as_str().unwrap().contains("line 1"),
        "{body}"
    );

    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/rule_test",
            &json!({"sql": "SELECT * FROM \"t/#\"", "context": {"event_type": "client.connected"}})
        )
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/rule_test",
            &json!({"sql": "SELECT 1 AS one FROM \"t/#\""})
        )
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "missing context: {body}");

    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/rule_test",
            &json!({"sql": "SELECT clientid FROM \"t/#\"", "context": ctx})
        )
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"clientid": "c"}));
}
