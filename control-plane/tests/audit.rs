//! The audit log: changes are recorded with who, what, before/after (secrets masked) and the
//! result, and read back filtered and paged at `GET /api/v5/audit`.

mod common;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};
use sqlx::PgPool;
use tributary_control_plane::audit::AuditArgs;

const OWN_SOURCE: &str = "bootstrap-test-key";

/// The entries a query returns, newest first, and its `meta`.
macro_rules! audit {
    ($app:expr, $query:expr) => {{
        let (status, page) = call!($app, common::get(&format!("/api/v5/audit{}", $query)));
        assert_eq!(status, StatusCode::OK, "{page}");
        (
            page["data"].as_array().unwrap().clone(),
            page["meta"].clone(),
        )
    }};
}

#[sqlx::test(migrations = "../migrations")]
async fn a_change_is_logged_with_its_resource_before_and_after_and_no_secret(pool: PgPool) {
    let app = test_app!(pool);
    let (status, created) = call!(
        app,
        common::post(
            "/api/v5/connectors",
            &common::kafka_producer_connector("k1")
        )
    );
    assert!(status.is_success(), "{created}");
    let (status, updated) = call!(
        app,
        common::put(
            "/api/v5/connectors/kafka_producer:k1",
            &json!({"bootstrap_hosts": "127.0.0.1:9092", "description": "changed",
                    "authentication": {"mechanism": "plain", "username": "alice", "password": "new-kafka-secret"}})
        )
    );
    assert!(status.is_success(), "{updated}");

    let (entries, meta) = audit!(app, "?resource_id=kafka_producer:k1");
    assert_eq!(meta["count"], 2, "{entries:?}");
    let (update, create) = (&entries[0], &entries[1]);
    assert_eq!(create["http_method"], "post");
    assert_eq!(create["operation_id"], "/connectors");
    assert_eq!(create["operation_type"], "connectors");
    assert_eq!(create["source"], OWN_SOURCE);
    assert_eq!(create["from"], "rest_api");
    assert_eq!(create["operation_result"], "success");
    assert_eq!(create["before"], Value::Null, "{create}");
    assert_eq!(create["after"]["name"], "k1", "{create}");
    assert_eq!(create["after"]["authentication"]["password"], "******");
    assert_eq!(
        create["http_request"]["body"]["authentication"]["password"],
        "******"
    );
    assert!(create["source_ip"].is_string());

    assert_eq!(update["http_method"], "put");
    assert_eq!(update["operation_id"], "/connectors/{id}");
    assert_eq!(update["http_status_code"], 200);
    assert_eq!(update["before"]["description"], "");
    assert_eq!(update["after"]["description"], "changed");
    assert_eq!(update["after"]["authentication"]["password"], "******");
    assert_eq!(update["failure"], "");

    // No secret anywhere in the log, however it is read.
    let (_, everything) = call!(app, common::get("/api/v5/audit"));
    let text = everything.to_string();
    assert!(!text.contains("kafka-secret"), "{text}");

    // An API key's secret is never logged either.
    let (_, key) = call!(app, common::post("/api/v5/api_key", &json!({"name": "ci"})));
    let secret = key["api_secret"].as_str().unwrap();
    let (entries, _) = audit!(app, "?operation_type=api_key");
    assert_eq!(entries[0]["resource_id"], "ci");
    assert_eq!(entries[0]["after"]["role"], "administrator");
    let (_, everything) = call!(app, common::get("/api/v5/audit"));
    assert!(!everything.to_string().contains(secret));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failed_change_is_logged_with_its_error(pool: PgPool) {
    let app = test_app!(pool);
    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/rules",
            &json!({"id": "bad", "sql": "SELEC nonsense"})
        )
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = call!(app, common::delete("/api/v5/rules/missing"));
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (entries, meta) = audit!(app, "?operation_result=failure");
    assert_eq!(meta["count"], 2, "{entries:?}");
    let (delete, create) = (&entries[0], &entries[1]);
    assert_eq!(create["http_status_code"], 400);
    assert_eq!(create["operation_result"], "failure");
    let failure = create["failure"].as_str().unwrap();
    assert!(failure.starts_with("BAD_REQUEST: "), "{failure}");
    assert!(
        failure.contains(body["message"].as_str().unwrap()),
        "{failure}"
    );
    assert_eq!(create["http_request"]["body"]["sql"], "SELEC nonsense");
    assert_eq!(create["after"], Value::Null);
    assert_eq!(delete["resource_id"], "missing");
    assert_eq!(delete["http_status_code"], 404);
    assert!(
        delete["failure"]
            .as_str()
            .unwrap()
            .starts_with("NOT_FOUND: ")
    );

    let (successes, _) = audit!(app, "?operation_result=success");
    assert!(successes.is_empty(), "{successes:?}");

    // A body that is not an object is refused and not kept (the log's schema says object).
    let (status, _) = call!(app, common::post("/api/v5/rules", &json!(["an", "array"])));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (entries, _) = audit!(app, "?limit=1");
    assert_eq!(
        entries[0]["http_request"]["body"],
        Value::Null,
        "{entries:?}"
    );
    assert_eq!(entries[0]["http_status_code"], 400);
}

#[sqlx::test(migrations = "../migrations")]
async fn filters_and_paging_select_entries(pool: PgPool) {
    let app = test_app!(pool);
    let started = chrono::Utc::now();
    for id in ["r1", "r2", "r3"] {
        let (status, body) = call!(
            app,
            common::post(
                "/api/v5/rules",
                &json!({"id": id, "sql": "SELECT * FROM \"t/#\""})
            )
        );
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, _) = call!(app, common::delete("/api/v5/rules/r2"));
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call!(app, common::put_empty("/api/v5/rules/r1/metrics/reset"));
    assert!(status.is_success());

    // Reads and tests change nothing and are not logged.
    let (_, _) = call!(app, common::get("/api/v5/rules"));
    let (_, _) = call!(
        app,
        common::post(
            "/api/v5/rule_test",
            &json!({"sql": "SELECT 1 FROM \"t\"", "context": {}})
        )
    );

    let (all, meta) = audit!(app, "");
    assert_eq!(meta["count"], 5, "{all:?}");
    let (entries, _) = audit!(app, "?http_method=DELETE");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["resource_id"], "r2");
    assert_eq!(entries[0]["before"]["id"], "r2");
    assert_eq!(entries[0]["after"], Value::Null);
    let (entries, _) = audit!(app, "?operation_type=rules&resource_id=r1");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["operation_id"], "/rules/{id}/metrics/reset");
    let (entries, _) = audit!(app, format!("?source={OWN_SOURCE}&http_status_code=201"));
    assert_eq!(entries.len(), 3);
    let (entries, _) = audit!(app, "?source=someone-else");
    assert!(entries.is_empty());

    let since = (started - chrono::Duration::seconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (entries, _) = audit!(
        app,
        format!("?gte_created_at={}", since.replace('+', "%2B"))
    );
    assert_eq!(entries.len(), 5);
    let (entries, _) = audit!(
        app,
        format!("?lte_created_at={}", since.replace('+', "%2B"))
    );
    assert!(entries.is_empty());

    // Pages, newest first.
    let (page1, meta) = audit!(app, "?limit=2");
    assert_eq!(
        meta,
        json!({"page": 1, "limit": 2, "count": 5, "hasnext": true})
    );
    let (page3, meta) = audit!(app, "?limit=2&page=3");
    assert_eq!(meta["hasnext"], false);
    assert_eq!(page3.len(), 1);
    assert_eq!(page1[0], all[0]);
    assert_eq!(page3[0], all[4]);
    assert_eq!(page3[0]["resource_id"], "r1");

    for query in [
        "?limit=0",
        "?page=0",
        "?operation_result=maybe",
        "?nonsense=1",
    ] {
        let (status, body) = call!(app, common::get(&format!("/api/v5/audit{query}")));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn viewers_read_the_log_and_their_refused_changes_are_in_it(pool: PgPool) {
    let app = test_app!(pool);
    let (_, viewer) = call!(
        app,
        common::post(
            "/api/v5/api_key",
            &json!({"name": "oncall", "role": "viewer"})
        )
    );
    let auth = common::basic(
        viewer["api_key"].as_str().unwrap(),
        viewer["api_secret"].as_str().unwrap(),
    );
    let (status, _) = call!(
        app,
        TestRequest::delete()
            .uri("/api/v5/rules/r1")
            .insert_header(("Authorization", auth.clone()))
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Without valid credentials nothing is logged: nobody is known to have asked.
    let (status, _) = call!(app, TestRequest::delete().uri("/api/v5/rules/r1"));
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, page) = call!(
        app,
        TestRequest::get()
            .uri("/api/v5/audit?source=oncall")
            .insert_header(("Authorization", auth))
    );
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["meta"]["count"], 1, "{page}");
    let refused = &page["data"][0];
    assert_eq!(refused["http_status_code"], 403);
    assert_eq!(refused["resource_id"], "r1");
    assert!(
        refused["failure"]
            .as_str()
            .unwrap()
            .starts_with("UNAUTHORIZED_ROLE: role `viewer`")
    );
    let (all, _) = audit!(app, "?resource_id=r1");
    assert_eq!(all.len(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn old_entries_beyond_the_limit_are_deleted(pool: PgPool) {
    let state = common::state(pool).await.with_audit_retention(AuditArgs {
        audit_max_rows: 3,
        audit_max_days: 30,
    });
    let app = actix_web::test::init_service(tributary_control_plane::app::build(
        state,
        tributary_control_plane::app::openapi_json(),
    ))
    .await;
    for id in 0..6 {
        let (status, _) = call!(
            app,
            common::post(
                "/api/v5/rules",
                &json!({"id": format!("r{id}"), "sql": "SELECT * FROM \"t\""})
            )
        );
        assert_eq!(status, StatusCode::CREATED);
    }
    let (entries, meta) = audit!(app, "");
    assert_eq!(meta["count"], 3);
    let kept: Vec<&str> = entries
        .iter()
        .map(|e| e["resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["r5", "r4", "r3"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn entries_older_than_the_age_limit_are_deleted(pool: PgPool) {
    let app = test_app!(pool.clone());
    for (source, age_days) in [("ancient", 91), ("recent", 89)] {
        sqlx::query(
            "INSERT INTO audit_log (created_at, source, http_method, path, operation_id,
                 operation_type, http_status_code, operation_result, duration_ms)
             VALUES (now() - make_interval(days => $2), $1, 'delete', '/api/v5/rules/x',
                 '/rules/{id}', 'rules', 404, 'failure', 1)",
        )
        .bind(source)
        .bind(age_days)
        .execute(&pool)
        .await
        .unwrap();
    }
    let (status, _) = call!(app, common::delete("/api/v5/rules/x"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (entries, _) = audit!(app, "");
    let sources: Vec<&str> = entries
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, [OWN_SOURCE, "recent"]);
}

/// PostgreSQL refuses NUL in text and JSONB, and writes huge numbers exactly, beyond what
/// `serde_json` reads back: such requests are logged all the same and the log stays readable.
#[sqlx::test(migrations = "../migrations")]
async fn requests_with_nul_and_huge_numbers_are_logged_and_read_back(pool: PgPool) {
    let app = test_app!(pool);
    let body = json!({"id": "a\u{0}b", "sql": "SELECT * FROM \"t\"", "description": "x", "metadata": {"n": f64::MAX}});
    let (status, _) = call!(app, common::post("/api/v5/rules", &body));
    assert!(status.is_client_error() || status.is_success(), "{status}");
    let (status, _) = call!(app, common::delete("/api/v5/rules/a%00b"));
    assert!(status.is_client_error(), "{status}");

    let (entries, meta) = audit!(app, "");
    assert_eq!(meta["count"], 2, "{entries:?}");
    assert_eq!(entries[0]["resource_id"], "a\u{FFFD}b");
    let logged = &entries[1]["http_request"]["body"];
    assert!(logged.is_object(), "{logged}");
    let text = logged.to_string();
    assert!(text.contains("a\u{FFFD}b"), "{text}");
}
