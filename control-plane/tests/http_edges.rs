//! What malformed requests get: always a 4xx in the API's error format, never a 5xx. Also
//! `/healthz` and the request metrics.

mod common;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;
use sqlx::PgPool;

fn authorized(request: TestRequest) -> TestRequest {
    request.insert_header((
        "Authorization",
        common::basic(common::API_KEY, common::API_SECRET),
    ))
}

#[sqlx::test(migrations = "../migrations")]
async fn malformed_bodies_are_client_errors(pool: PgPool) {
    let app = test_app!(pool);
    let json_type = ("Content-Type", "application/json");
    let cases = [
        (
            "/api/v5/connectors",
            authorized(TestRequest::post())
                .insert_header(json_type)
                .set_payload("{\"type\": "),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v5/connectors",
            authorized(TestRequest::post())
                .insert_header(json_type)
                .set_payload("[1,2]"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v5/connectors",
            authorized(TestRequest::post())
                .insert_header(json_type)
                .set_payload("\"text\""),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v5/rules",
            authorized(TestRequest::post())
                .insert_header(json_type)
                .set_payload("null"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v5/rule_test",
            authorized(TestRequest::post())
                .insert_header(json_type)
                .set_payload("{}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v5/connectors",
            authorized(TestRequest::post())
                .insert_header(("Content-Type", "text/plain"))
                .set_payload("{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "/api/v5/rules",
            authorized(TestRequest::post()).set_payload("{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "/api/v5/actions",
            authorized(TestRequest::post())
                .insert_header(json_type)
                .set_payload(vec![b' '; 2 * 1024 * 1024]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "/api/v5/rules/x/test",
            authorized(TestRequest::post())
                .insert_header(json_type)
                .set_payload("{\"context\": {}, \"extra\": 1}"),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (path, request, expected) in cases {
        let (status, body) = call!(app, request.uri(path));
        assert_eq!(status, expected, "{path}: {body}");
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{path}: {body}"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn unknown_routes_and_methods_are_json_404s(pool: PgPool) {
    let app = test_app!(pool);
    let (status, body) = call!(app, common::get("/api/v5/nothing_here"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "NOT_FOUND");
    let (status, _) = call!(app, common::get("/elsewhere"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call!(app, common::put("/api/v5/connectors", &json!({})));
    assert!(status.is_client_error(), "{status} {body}");
}

#[sqlx::test(migrations = "../migrations")]
async fn healthz_checks_the_database(pool: PgPool) {
    let app = test_app!(pool.clone());
    let (status, body) = call!(app, TestRequest::get().uri("/healthz"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    pool.close().await;
    let (status, body) = call!(app, TestRequest::get().uri("/healthz"));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}

#[sqlx::test(migrations = "../migrations")]
async fn requests_are_counted_by_route_and_status(pool: PgPool) {
    let app = test_app!(pool);
    call!(app, common::get("/api/v5/connectors"));
    call!(app, common::get("/api/v5/connectors/mqtt:missing"));
    call!(app, TestRequest::get().uri("/api/v5/connectors"));
    let (status, text) = call!(app, TestRequest::get().uri("/metrics"));
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap().to_owned();
    for expected in [
        r#"tributary_http_requests_total{method="GET",route="/api/v5/connectors",status="200"} 1"#,
        r#"tributary_http_requests_total{method="GET",route="/api/v5/connectors/{id}",status="404"} 1"#,
        r#"tributary_http_requests_total{method="GET",route="/api/v5/connectors",status="401"} 1"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn nul_characters_are_client_errors(pool: PgPool) {
    let app = test_app!(pool);
    let mut connector = common::mqtt_connector("m");
    connector["description"] = json!("a\u{0}b");
    let (status, body) = call!(app, common::post("/api/v5/connectors", &connector));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let mut connector = common::mqtt_connector("m");
    connector["clientid_prefix"] = json!("x\u{0}");
    let (status, body) = call!(app, common::post("/api/v5/connectors", &connector));
    assert!(status.is_client_error(), "{status} {body}");
    for path in [
        "/api/v5/rules/a%00b",
        "/api/v5/connectors/mqtt:a%00b",
        "/api/v5/api_key/a%00",
    ] {
        let (status, body) = call!(app, common::get(path));
        assert!(status.is_client_error(), "{path}: {status} {body}");
    }
    let rule = json!({"sql": "SELECT * FROM \"t\"", "description": "\u{0}"});
    let (status, body) = call!(app, common::post("/api/v5/rules", &rule));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
