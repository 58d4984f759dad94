//! The OpenAPI document: generated from the code, committed at `openapi/openapi.json`, served at
//! `/api/v5/openapi.json`. The committed copy must match what the code generates.
//!
//! Refresh it with `cargo run -p tributary-control-plane --bin tributary-control -- openapi >
//! openapi/openapi.json`, or `TRIBUTARY_UPDATE_OPENAPI=1 cargo test -p tributary-control-plane
//! --test openapi`.

mod common;

use std::path::PathBuf;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::Value;
use sqlx::PgPool;
use tributary_control_plane::app;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

#[test]
fn the_committed_document_is_current() {
    let generated = app::openapi_json().0.as_str().to_owned();
    let path = committed_path();
    if std::env::var_os("TRIBUTARY_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("writing openapi/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `TRIBUTARY_UPDATE_OPENAPI=1 cargo test -p tributary-control-plane --test openapi` and commit it"
    );
}

#[test]
fn operation_ids_are_unique_and_every_operation_documents_its_errors() {
    let spec: Value = serde_json::from_str(&app::openapi_json().0).unwrap();
    let mut ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(
                ids.insert(id.clone()),
                "duplicate operationId `{id}` ({method} {path})"
            );
        }
    }
    for path in [
        "/api/v5/connectors",
        "/api/v5/actions/{id}",
        "/api/v5/rules",
        "/api/v5/rule_test",
        "/api/v5/api_key",
        "/api/v5/connectors_probe",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} is not documented"
        );
    }
    let schemes = &spec["components"]["securitySchemes"]["basic_auth"];
    assert_eq!(schemes["scheme"], "basic");
    for schema in [
        "ActionView",
        "SourceView",
        "ConnectorView",
        "RuleView",
        "ErrorBody",
    ] {
        assert!(
            spec["components"]["schemas"].get(schema).is_some(),
            "schema {schema} missing"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_document_and_the_docs_page_are_served(pool: PgPool) {
    let app = test_app!(pool);
    let (status, served) = call!(app, TestRequest::get().uri("/api/v5/openapi.json"));
    assert_eq!(status, StatusCode::OK);
    let generated: Value = serde_json::from_str(&app::openapi_json().0).unwrap();
    assert_eq!(served, generated);
    let (status, page) = call!(app, TestRequest::get().uri("/api/v5/docs"));
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("/api/v5/openapi.json"));
}
