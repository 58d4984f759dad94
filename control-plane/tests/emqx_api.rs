//! EMQX's REST API beyond the bodies (issue 14): the summaries and type lists, the `start`
//! operation, who uses whom in the responses (a connector's actions and sources, an action's or
//! source's rules, a refused delete's rules), the rule list's `action`/`source` filters, metrics
//! shapes, stopped resources, malformed ids (404) and undeclared methods (405). The expected
//! answers are those of EMQX's `emqx_bridge_v2_api`, `emqx_connector_api` and
//! `emqx_rule_engine_api`.

mod common;
mod grpc_support;

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};
use sqlx::PgPool;
use tributary_protocol::assignment::{FlowSpec, ResolvedAction};
use tributary_protocol::worker::v1::{ConnectorStatus, HeartbeatRequest, ResourceMetrics};

/// Connectors `k` (producer), `kc` (consumer) and `m` (mqtt); actions `a` and `b` on `k`; source
/// `s` on `kc` publishing through `m`; rules `r_a` (to `a`), `r_ab` (to `a` and `b`) and `r_s`
/// (reading `s`, republishing).
macro_rules! seed {
    ($app:expr) => {{
        for body in [
            common::kafka_producer_connector("k"),
            common::kafka_consumer_connector("kc"),
            common::mqtt_connector("m"),
            common::mqtt_connector("default"),
        ] {
            let (status, created) = call!($app, common::post("/api/v5/connectors", &body));
            assert_eq!(status, StatusCode::CREATED, "{created}");
        }
        for body in [
            common::producer_action("a", "k"),
            common::producer_action("b", "k"),
        ] {
            let (status, created) = call!($app, common::post("/api/v5/actions", &body));
            assert_eq!(status, StatusCode::CREATED, "{created}");
        }
        let source = json!({
            "type": "kafka_consumer", "name": "s", "connector": "kc",
            "parameters": {"topic": "t", "mqtt_connector": "m"}
        });
        let (status, created) = call!($app, common::post("/api/v5/sources", &source));
        assert_eq!(status, StatusCode::CREATED, "{created}");
        for rule in [
            json!({"id": "r_a", "sql": "SELECT * FROM \"t/a\"", "actions": ["kafka_producer:a"]}),
            json!({"id": "r_ab", "sql": "SELECT * FROM \"t/ab\"", "actions": ["kafka_producer:a", "kafka_producer:b"]}),
            json!({"id": "r_s", "sql": "SELECT * FROM \"$bridges/kafka_consumer:s\"",
                   "actions": [{"function": "republish", "args": {"topic": "out", "payload": "${value}"}}]}),
        ] {
            let (status, created) = call!($app, common::post("/api/v5/rules", &rule));
            assert_eq!(status, StatusCode::CREATED, "{created}");
        }
    }};
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_default())
        .collect()
}

fn rule_ids(page: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a rule page: {page}"))
        .iter()
        .map(|rule| rule["id"].as_str().unwrap_or_default())
        .collect();
    ids.sort_unstable();
    ids
}

#[sqlx::test(migrations = "../migrations")]
async fn type_lists_and_summaries(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    let (status, types) = call!(app, common::get("/api/v5/source_types"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(types, json!(["kafka_consumer"]));

    // Its connector's first health check (nothing listens there) has ended.
    settled!(app, "/api/v5/connectors/kafka_producer:k");
    let (status, summary) = call!(app, common::get("/api/v5/actions_summary"));
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(names(&summary), ["a", "b"]);
    let a = &summary[0];
    assert_eq!(a["type"], "kafka_producer");
    assert_eq!(a["enable"], true);
    assert_eq!(a["rules"], json!(["r_a", "r_ab"]));
    assert_eq!(summary[1]["rules"], json!(["r_ab"]));
    // EMQX's summaries give times as epoch milliseconds, and no configuration.
    assert!(
        a["created_at"]
            .as_i64()
            .is_some_and(|ms| ms > 1_700_000_000_000),
        "{a}"
    );
    assert!(a["last_modified_at"].as_i64().is_some(), "{a}");
    assert_eq!(a["status"], "disconnected", "{a}");
    assert!(a["node_status"].is_array(), "{a}");
    assert!(a.get("parameters").is_none(), "{a}");

    let (status, summary) = call!(app, common::get("/api/v5/sources_summary"));
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(names(&summary), ["s"]);
    assert_eq!(summary[0]["rules"], json!(["r_s"]));
}

#[sqlx::test(migrations = "../migrations")]
async fn responses_say_who_uses_whom(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    let (_, k) = call!(app, common::get("/api/v5/connectors/kafka_producer:k"));
    assert_eq!(k["actions"], json!(["a", "b"]), "{k}");
    assert_eq!(k["sources"], json!([]), "{k}");
    let (_, kc) = call!(app, common::get("/api/v5/connectors/kafka_consumer:kc"));
    assert_eq!(kc["actions"], json!([]), "{kc}");
    assert_eq!(kc["sources"], json!(["s"]), "{kc}");
    let (_, m) = call!(app, common::get("/api/v5/connectors/mqtt:m"));
    assert_eq!(m["sources"], json!(["s"]), "{m}");
    let (_, list) = call!(app, common::get("/api/v5/connectors"));
    let listed_k = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "k")
        .unwrap();
    assert_eq!(listed_k["actions"], json!(["a", "b"]));

    let (_, a) = call!(app, common::get("/api/v5/actions/kafka_producer:a"));
    assert_eq!(a["rules"], json!(["r_a", "r_ab"]), "{a}");
    let (_, actions) = call!(app, common::get("/api/v5/actions"));
    assert_eq!(actions[1]["rules"], json!(["r_ab"]), "{actions}");
    let (_, s) = call!(app, common::get("/api/v5/sources/kafka_consumer:s"));
    assert_eq!(s["rules"], json!(["r_s"]), "{s}");

    // A refused delete names the rules, as EMQX's `rules` field does.
    let (status, refused) = call!(app, common::delete("/api/v5/actions/kafka_producer:a"));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["rules"], json!(["r_a", "r_ab"]), "{refused}");
    let (status, refused) = call!(app, common::delete("/api/v5/sources/kafka_consumer:s"));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["rules"], json!(["r_s"]), "{refused}");
    // An unknown query key is refused, not ignored.
    let (status, refused) = call!(
        app,
        common::delete("/api/v5/actions/kafka_producer:a?also_delete_dep_action=true")
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("also_delete_dep_action"),
        "{refused}"
    );
    // Once a rule stops using it, the action says so.
    let (status, _) = call!(
        app,
        common::put(
            "/api/v5/rules/r_ab",
            &json!({"actions": ["kafka_producer:b"]})
        )
    );
    assert_eq!(status, StatusCode::OK);
    let (_, a) = call!(app, common::get("/api/v5/actions/kafka_producer:a"));
    assert_eq!(a["rules"], json!(["r_a"]), "{a}");
}

#[sqlx::test(migrations = "../migrations")]
async fn rules_are_filtered_by_action_and_source(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    for (query, expected) in [
        ("action=kafka_producer:a", vec!["r_a", "r_ab"]),
        ("action=kafka_producer:b", vec!["r_ab"]),
        (
            "action=kafka_producer:b&action=republish",
            vec!["r_ab", "r_s"],
        ),
        ("source=kafka_consumer:s", vec!["r_s"]),
        ("source=%24bridges%2Fkafka_consumer%3As", vec!["r_s"]),
        ("source=kafka_consumer:other", vec![]),
        ("action=kafka_producer:a&source=kafka_consumer:s", vec![]),
        (
            "action=kafka_producer:a&enable=true&like_id=ab",
            vec!["r_ab"],
        ),
    ] {
        let (status, page) = call!(app, common::get(&format!("/api/v5/rules?{query}")));
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(rule_ids(&page), expected, "{query}");
        assert_eq!(page["meta"]["count"], expected.len(), "{query}");
    }
    let (status, body) = call!(app, common::get("/api/v5/rules?enable=maybe"));
    common::assert_bad_field(status, &body, "enable");
    // A filter value that cannot name an action or source says so.
    for query in ["action=null", "action=kafka_consumer:s", "source=s"] {
        let (status, body) = call!(app, common::get(&format!("/api/v5/rules?{query}")));
        common::assert_bad_field(status, &body, query.split('=').next().unwrap());
    }
    // An unknown filter is named rather than ignored (which would list every rule).
    let (status, body) = call!(app, common::get("/api/v5/rules?actoin=kafka_producer:a"));
    common::assert_bad_field(status, &body, "actoin");
}

#[sqlx::test(migrations = "../migrations")]
async fn rules_show_last_modified_at_and_metrics_carry_the_id(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    let (_, rule) = call!(app, common::get("/api/v5/rules/r_a"));
    assert_eq!(rule["last_modified_at"], rule["updated_at"], "{rule}");
    let (_, changed) = call!(
        app,
        common::put("/api/v5/rules/r_a", &json!({"description": "changed"}))
    );
    assert_eq!(changed["last_modified_at"], changed["updated_at"]);
    assert_ne!(changed["last_modified_at"], rule["last_modified_at"]);

    let (status, metrics) = call!(app, common::get("/api/v5/rules/r_a/metrics"));
    assert_eq!(status, StatusCode::OK, "{metrics}");
    assert_eq!(metrics["id"], "r_a");
    assert_eq!(metrics["metrics"]["matched"], 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn source_metrics_carry_every_key_emqx_gives(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    // EMQX's `format_metrics/1` (emqx_bridge_v2_api), which actions and sources share.
    let emqx_keys = [
        "dropped",
        "dropped.other",
        "dropped.expired",
        "dropped.queue_full",
        "dropped.resource_not_found",
        "dropped.resource_stopped",
        "matched",
        "queuing",
        "queuing_bytes",
        "retried",
        "late_reply",
        "failed",
        "inflight",
        "success",
        "aggregated_upload.success",
        "aggregated_upload.failure",
        "rate",
        "rate_last5m",
        "rate_max",
        "received",
    ];
    for path in [
        "/api/v5/sources/kafka_consumer:s/metrics",
        "/api/v5/actions/kafka_producer:a/metrics",
    ] {
        let (status, body) = call!(app, common::get(path));
        assert_eq!(status, StatusCode::OK, "{body}");
        for key in emqx_keys {
            assert!(
                body["metrics"].get(key).is_some(),
                "{path} lacks {key}: {body}"
            );
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn configuration_reads_back_as_written(pool: PgPool) {
    let app = test_app!(pool);
    let mut connector = common::kafka_producer_connector("k");
    connector["connect_timeout"] = json!("60s");
    let (status, created) = call!(app, common::post("/api/v5/connectors", &connector));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["connect_timeout"], "60s");
    let mut action = common::producer_action("a", "k");
    action["parameters"]["max_batch_bytes"] = json!("1024KB");
    action["resource_opts"] = json!({"health_check_interval": "60s"});
    let (status, created) = call!(app, common::post("/api/v5/actions", &action));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, read) = call!(app, common::get("/api/v5/actions/kafka_producer:a"));
    assert_eq!(read["parameters"]["max_batch_bytes"], "1024KB", "{read}");
    assert_eq!(
        read["resource_opts"]["health_check_interval"], "60s",
        "{read}"
    );
    let (_, read) = call!(app, common::get("/api/v5/connectors/kafka_producer:k"));
    assert_eq!(read["connect_timeout"], "60s", "{read}");
}

#[sqlx::test(migrations = "../migrations")]
async fn disabled_resources_report_stopped(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    // Enabled, with no worker yet: the control plane's health check of its connector (nothing
    // listens at its address) says disconnected, with the reason.
    let a = settled!(app, "/api/v5/actions/kafka_producer:a");
    assert_eq!(a["status"], "disconnected", "{a}");
    assert!(a["status_reason"].is_string(), "{a}");

    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/actions/kafka_producer:a/enable/false")
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, a) = call!(app, common::get("/api/v5/actions/kafka_producer:a"));
    assert_eq!(a["status"], "stopped", "{a}");
    assert_eq!(a["node_status"], json!([]), "{a}");
    let (_, b) = call!(app, common::get("/api/v5/actions/kafka_producer:b"));
    assert_eq!(b["status"], "disconnected", "{b}");

    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/connectors/kafka_producer:k/enable/false")
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, k) = call!(app, common::get("/api/v5/connectors/kafka_producer:k"));
    assert_eq!(k["status"], "stopped", "{k}");
    // An action on a disabled connector is stopped too.
    let (_, b) = call!(app, common::get("/api/v5/actions/kafka_producer:b"));
    assert_eq!(b["status"], "stopped", "{b}");
    let (_, summary) = call!(app, common::get("/api/v5/actions_summary"));
    assert_eq!(summary[1]["status"], "stopped", "{summary}");
}

#[sqlx::test(migrations = "../migrations")]
async fn start_answers_as_emqx_does(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    // Nothing listens where the seeded connectors point: EMQX's start answers 400 with the reason
    // the connector did not connect (the health check's), and so does ours.
    for path in [
        "/api/v5/connectors/kafka_producer:k/start",
        "/api/v5/actions/kafka_producer:a/start",
        "/api/v5/sources/kafka_consumer:s/start",
    ] {
        let (status, body) = call!(app, common::post(path, &json!({})));
        common::assert_bad_field(status, &body, "id");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("did not start"),
            "{path}: {body}"
        );
    }
    for path in [
        "/api/v5/connectors/kafka_producer:nope/start",
        "/api/v5/actions/kafka_producer:nope/start",
        "/api/v5/sources/kafka_consumer:nope/start",
        "/api/v5/actions/no_colon/start",
    ] {
        let (status, body) = call!(app, common::post(path, &json!({})));
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    // Other operations: 400 naming the path parameter.
    let (status, body) = call!(
        app,
        common::post("/api/v5/connectors/kafka_producer:k/stop", &json!({}))
    );
    common::assert_bad_field(status, &body, "operation");

    // Disabled: EMQX's "Forbidden operation, connector not enabled".
    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/actions/kafka_producer:a/enable/false")
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call!(
        app,
        common::post("/api/v5/actions/kafka_producer:a/start", &json!({}))
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["message"],
        "Forbidden operation, connector not enabled"
    );
    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/connectors/kafka_consumer:kc/enable/false")
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    for path in [
        "/api/v5/connectors/kafka_consumer:kc/start",
        "/api/v5/sources/kafka_consumer:s/start",
    ] {
        let (status, body) = call!(app, common::post(path, &json!({})));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(
            body["message"],
            "Forbidden operation, connector not enabled"
        );
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn malformed_ids_answer_404_naming_the_id(pool: PgPool) {
    let app = test_app!(pool);
    for path in [
        "/api/v5/connectors/no_colon",
        "/api/v5/connectors/no_such_type:x",
        "/api/v5/connectors/mqtt:",
        "/api/v5/actions/kafka_consumer:x",
        "/api/v5/actions/no_colon",
        "/api/v5/sources/kafka_producer:x",
        "/api/v5/actions/no_colon/metrics",
        "/api/v5/sources/no_colon/metrics",
    ] {
        let (status, body) = call!(app, common::get(path));
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["code"], "NOT_FOUND", "{path}: {body}");
        assert_eq!(body["field"], "id", "{path}: {body}");
        assert!(
            body["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{body}"
        );
    }
    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/connectors/no_colon/enable/true")
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn undeclared_methods_answer_405_with_allow(pool: PgPool) {
    let app = test_app!(pool);
    for (method, path, allow) in [
        ("DELETE", "/api/v5/rule_test", "POST"),
        ("PATCH", "/api/v5/connectors", "GET, POST"),
        ("POST", "/api/v5/connectors/mqtt:m", "DELETE, GET, PUT"),
        // `/actions/{id}/{operation}` takes POST, but `metrics` is its own path.
        ("POST", "/api/v5/actions/kafka_producer:a/metrics", "GET"),
        ("GET", "/api/v5/actions/kafka_producer:a/start", "POST"),
        ("DELETE", "/api/v5/source_types", "GET"),
    ] {
        let request = TestRequest::default()
            .method(method.parse().unwrap())
            .uri(path)
            .insert_header((
                "Authorization",
                common::basic(common::API_KEY, common::API_SECRET),
            ));
        let response = actix_web::test::call_service(&app, request.to_request()).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(
            response
                .headers()
                .get("Allow")
                .and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
        let (_, body) = common::read(response).await;
        assert_eq!(body["code"], "METHOD_NOT_ALLOWED", "{body}");
    }
    let (status, body) = call!(app, common::get("/api/v5/no_such_thing"));
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[sqlx::test(migrations = "../migrations")]
async fn rule_test_refuses_events_a_bridge_never_sees(pool: PgPool) {
    let app = test_app!(pool);
    for event_type in [
        "client_connected",
        "session_subscribed",
        "message_delivered",
        "$events/message_dropped",
        "client.check_authz_complete",
    ] {
        let body = json!({
            "sql": "SELECT * FROM \"t/#\"",
            "context": {"event_type": event_type, "clientid": "c1", "topic": "t/1"}
        });
        let (status, response) = call!(app, common::post("/api/v5/rule_test", &body));
        common::assert_bad_field(status, &response, "context.event_type");
        assert!(
            response["reason"].as_str().unwrap().contains("never sees"),
            "{response}"
        );
    }
    let body = json!({
        "sql": "SELECT topic FROM \"t/#\"",
        "context": {"event_type": "message_publish", "topic": "t/1", "payload": "{}"}
    });
    let (status, response) = call!(app, common::post("/api/v5/rule_test", &body));
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["topic"], "t/1");
}

#[sqlx::test(migrations = "../migrations")]
async fn disabling_a_rule_resets_its_metrics(pool: PgPool) {
    grpc_support::seed_connectors(&pool).await;
    grpc_support::insert_rule(&pool, "r1", "SELECT * FROM \"t/#\"").await;
    let replica = grpc_support::start_replica(pool.clone(), Default::default()).await;
    let mut grpc = grpc_support::client(replica.addr).await;
    let worker = grpc_support::register(&mut grpc, "w1").await;
    let revision: i64 = sqlx::query_scalar("SELECT revision FROM config_revision")
        .fetch_one(&pool)
        .await
        .unwrap();
    grpc.heartbeat(HeartbeatRequest {
        applied_revision: u64::try_from(revision).unwrap(),
        metrics: vec![ResourceMetrics {
            resource_id: "rule:r1".to_owned(),
            counters: [("matched".to_owned(), 4)].into(),
            gauges: Default::default(),
        }],
        ..grpc_support::heartbeat(&worker)
    })
    .await
    .unwrap();
    let app = test_app!(pool.clone());
    let (_, metrics) = call!(app, common::get("/api/v5/rules/r1/metrics"));
    assert_eq!(metrics["metrics"]["matched"], 4, "{metrics}");

    // A change that keeps it enabled keeps the counts.
    let (status, _) = call!(
        app,
        common::put("/api/v5/rules/r1", &json!({"description": "d"}))
    );
    assert_eq!(status, StatusCode::OK);
    let (_, metrics) = call!(app, common::get("/api/v5/rules/r1/metrics"));
    assert_eq!(metrics["metrics"]["matched"], 4, "{metrics}");

    let (status, body) = call!(
        app,
        common::put("/api/v5/rules/r1", &json!({"enable": false}))
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, metrics) = call!(app, common::get("/api/v5/rules/r1/metrics"));
    assert_eq!(metrics["metrics"]["matched"], 0, "{metrics}");
    // Workers move their baseline when the reset reaches them.
    let generation: i64 =
        sqlx::query_scalar("SELECT generation FROM metric_resets WHERE resource_id = 'rule:r1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(generation, 1);
}

async fn starts_of(pool: &PgPool, kind: &str, name: &str) -> (i64, bool) {
    sqlx::query_as("SELECT starts, started FROM connectors WHERE type = $1 AND name = $2")
        .bind(kind)
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("reading connector {kind}:{name}: {e}"))
}

/// A worker `w1` reporting the connector `kafka_producer:k` with `status`.
async fn report(
    grpc: &mut grpc_support::Client,
    worker: &tributary_protocol::worker::v1::RegisterResponse,
    status: &str,
) {
    grpc.heartbeat(HeartbeatRequest {
        connectors: vec![ConnectorStatus {
            connector_id: "kafka_producer:k".to_owned(),
            status: status.to_owned(),
            reason: String::new(),
        }],
        ..grpc_support::heartbeat(worker)
    })
    .await
    .unwrap_or_else(|e| panic!("heartbeat: {e}"));
}

/// EMQX restarts a stopped or disconnected connector on `start` and leaves a connected one
/// alone: a restart bumps the connector's `starts`, which the flows on it carry to workers
/// (new version, `connector_starts`), so they build new clients.
#[sqlx::test(migrations = "../migrations")]
async fn start_restarts_a_connector_workers_report_disconnected(pool: PgPool) {
    let app = test_app!(pool.clone());
    seed!(app);
    let replica = grpc_support::start_replica(pool.clone(), Default::default()).await;
    let mut grpc = grpc_support::client(replica.addr).await;
    let worker = grpc_support::register(&mut grpc, "w1").await;
    let mut assignments = grpc_support::watch(&mut grpc, &worker).await;
    let first = grpc_support::next_assignment(&mut assignments, Duration::from_secs(5)).await;
    let version = grpc_support::flow_version(&first, "rule:r_a").expect("r_a placed");

    report(&mut grpc, &worker, "connected").await;
    let (status, body) = call!(
        app,
        common::post("/api/v5/connectors/kafka_producer:k/start", &json!({}))
    );
    // The control plane's own check cannot reach 127.0.0.1:9092: 400 with its reason, but the
    // worker said connected, so nothing was restarted.
    common::assert_bad_field(status, &body, "id");
    assert_eq!(starts_of(&pool, "kafka_producer", "k").await, (0, true));

    report(&mut grpc, &worker, "disconnected").await;
    let (status, body) = call!(
        app,
        common::post("/api/v5/actions/kafka_producer:a/start", &json!({}))
    );
    common::assert_bad_field(status, &body, "id");
    assert_eq!(starts_of(&pool, "kafka_producer", "k").await, (1, true));
    let restarted = loop {
        let next = grpc_support::next_assignment(&mut assignments, Duration::from_secs(5)).await;
        if grpc_support::flow_version(&next, "rule:r_a").as_ref() != Some(&version) {
            break next;
        }
    };
    let FlowSpec::Rule(rule) = grpc_support::flow_spec(&restarted, "rule:r_a") else {
        panic!("rule:r_a is not a rule flow");
    };
    let ResolvedAction::KafkaProducer(action) = &rule.actions[0] else {
        panic!("r_a's action is not a Kafka producer");
    };
    assert_eq!(action.connector_starts, 1);
}

/// EMQX's `/nodes/{node}/connectors|actions|sources/{id}/{operation}`: the node is a live
/// worker; an unknown one is 404 naming it.
#[sqlx::test(migrations = "../migrations")]
async fn node_operations_name_a_live_worker(pool: PgPool) {
    let app = test_app!(pool.clone());
    seed!(app);
    for path in [
        "/api/v5/nodes/nowhere/connectors/kafka_producer:k/start",
        "/api/v5/nodes/nowhere/actions/kafka_producer:a/start",
        "/api/v5/nodes/nowhere/sources/kafka_consumer:s/start",
    ] {
        let (status, body) = call!(app, common::post(path, &json!({})));
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["code"], "NOT_FOUND", "{body}");
        assert_eq!(body["field"], "node", "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("nowhere"),
            "{body}"
        );
    }
    let replica = grpc_support::start_replica(pool.clone(), Default::default()).await;
    let mut grpc = grpc_support::client(replica.addr).await;
    let worker = grpc_support::register(&mut grpc, "w1").await;
    report(&mut grpc, &worker, "disconnected").await;
    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/nodes/w1/connectors/kafka_producer:k/start",
            &json!({})
        )
    );
    common::assert_bad_field(status, &body, "id");
    assert_eq!(starts_of(&pool, "kafka_producer", "k").await, (1, true));
    // The node's own report decides: connected there, no restart.
    report(&mut grpc, &worker, "connected").await;
    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/nodes/w1/actions/kafka_producer:a/start",
            &json!({})
        )
    );
    common::assert_bad_field(status, &body, "id");
    assert_eq!(starts_of(&pool, "kafka_producer", "k").await, (1, true));
    // The same checks as without a node.
    for (path, code) in [
        (
            "/api/v5/nodes/w1/sources/kafka_consumer:nope/start",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v5/nodes/w1/actions/no_colon/start",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v5/nodes/w1/connectors/kafka_producer:k/stop",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, body) = call!(app, common::post(path, &json!({})));
        assert_eq!(status, code, "{path}: {body}");
    }
}

/// `resource_opts.start_after_created: false`: EMQX creates the connector `stopped` and starts
/// it only when asked; so does Tributary (no flow runs on it, no health check meanwhile).
#[sqlx::test(migrations = "../migrations")]
async fn a_connector_not_started_after_creation_waits_for_start(pool: PgPool) {
    let app = test_app!(pool.clone());
    let mut body = common::kafka_producer_connector("lazy");
    body["resource_opts"] = json!({"start_after_created": false});
    let (status, created) = call!(app, common::post("/api/v5/connectors", &body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "stopped", "{created}");
    let reason = created["status_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("start_after_created")
            && reason.contains("/api/v5/connectors/kafka_producer:lazy/start"),
        "{created}"
    );
    let (status, action) = call!(
        app,
        common::post(
            "/api/v5/actions",
            &common::producer_action("on_lazy", "lazy")
        )
    );
    assert_eq!(status, StatusCode::CREATED, "{action}");
    assert_eq!(action["status"], "stopped", "{action}");
    // The background checks leave it alone.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, read) = call!(app, common::get("/api/v5/connectors/kafka_producer:lazy"));
    assert_eq!(read["status"], "stopped", "{read}");
    assert_eq!(starts_of(&pool, "kafka_producer", "lazy").await, (0, false));

    // Started through its action (nothing listens there, so the start itself reports that).
    let (status, body) = call!(
        app,
        common::post("/api/v5/actions/kafka_producer:on_lazy/start", &json!({}))
    );
    common::assert_bad_field(status, &body, "id");
    assert_eq!(starts_of(&pool, "kafka_producer", "lazy").await, (1, true));
    let (_, read) = call!(app, common::get("/api/v5/connectors/kafka_producer:lazy"));
    assert_eq!(read["status"], "disconnected", "{read}");

    // An update puts it back to waiting, as EMQX recreates it with the same options.
    let (status, updated) = call!(
        app,
        common::put(
            "/api/v5/connectors/kafka_producer:lazy",
            &json!({"bootstrap_hosts": "127.0.0.1:9093", "resource_opts": {"start_after_created": false}})
        )
    );
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["status"], "stopped", "{updated}");
    // A default connector starts as it is created.
    let (_, eager) = call!(
        app,
        common::post(
            "/api/v5/connectors",
            &common::kafka_producer_connector("eager")
        )
    );
    assert_ne!(eager["status"], "stopped", "{eager}");
    assert_eq!(starts_of(&pool, "kafka_producer", "eager").await, (0, true));
}

/// EMQX saves a rule naming an action that does not exist (it logs that the rule will not work
/// properly) and lists the action in `action_details` as `not_found`; the rule skips it until it
/// is created.
#[sqlx::test(migrations = "../migrations")]
async fn a_rule_may_name_an_action_that_does_not_exist_yet(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    let rule = json!({"id": "r_later", "sql": "SELECT * FROM \"t/later\"",
                      "actions": ["kafka_producer:a", "kafka_producer:later"]});
    let (status, created) = call!(app, common::post("/api/v5/rules", &rule));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["actions"], rule["actions"], "{created}");
    // EMQX's order: sorted by type and name, then listed last first.
    let details = &created["action_details"];
    assert_eq!(
        details[0],
        json!({"type": "kafka_producer", "name": "later", "status": "not_found"})
    );
    assert_eq!(details[1]["name"], "a", "{details}");
    assert_ne!(details[1]["status"], "not_found", "{details}");
    let (_, page) = call!(app, common::get("/api/v5/rules?like_id=r_later"));
    assert_eq!(page["data"][0]["action_details"], *details, "{page}");
    // A malformed reference is still refused, naming it.
    let (status, body) = call!(
        app,
        common::put("/api/v5/rules/r_later", &json!({"actions": ["later"]}))
    );
    common::assert_bad_field(status, &body, "actions[0]");

    // Created later: the rule sends to it, and it lists the rule.
    let (status, _) = call!(
        app,
        common::post("/api/v5/actions", &common::producer_action("later", "k"))
    );
    assert_eq!(status, StatusCode::CREATED);
    let (_, read) = call!(app, common::get("/api/v5/rules/r_later"));
    assert_ne!(read["action_details"][0]["status"], "not_found", "{read}");
    let (_, action) = call!(app, common::get("/api/v5/actions/kafka_producer:later"));
    assert_eq!(action["rules"], json!(["r_later"]), "{action}");
}

/// EMQX's `emqx_rule_engine_api_SUITE:t_list_rule_api`, with its bodies (EMQX's `console` action
/// replaced by a republish: Tributary has no console action): 20 rules on `t/1`, one updated with
/// a Chinese description, disabled and moved to `t/1/+`; every filter finds that one (or the 19
/// others).
#[sqlx::test(migrations = "../migrations")]
async fn emqx_t_list_rule_api(pool: PgPool) {
    let app = test_app!(pool);
    let (status, body) = call!(
        app,
        common::post("/api/v5/connectors", &common::mqtt_connector("default"))
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let republish = json!([{"function": "republish", "args": {"topic": "out"}}]);
    for seq in 1..=20 {
        let rule = json!({"id": format!("rule_{seq:02}"), "name": format!("test_rule{seq}"),
                          "description": "A simple rule", "enable": true,
                          "sql": "SELECT * from \"t/1\"", "actions": republish});
        let (status, body) = call!(app, common::post("/api/v5/rules", &rule));
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, page) = call!(app, common::get("/api/v5/rules"));
    assert_eq!(page["meta"]["count"], 20, "{}", page["meta"]);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(20));

    let update = json!({"description": "中文的描述也能搜索", "enable": false, "actions": republish,
                        "sql": "SELECT * from \"t/1/+\"", "name": "test_rule_update1"});
    let (status, body) = call!(app, common::put("/api/v5/rules/rule_01", &update));
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, disabled) = call!(app, common::get("/api/v5/rules?enable=false"));
    assert_eq!(disabled["meta"]["count"], 1, "{disabled}");
    assert_eq!(rule_ids(&disabled), ["rule_01"]);
    for query in [
        "like_description=%E4%B9%9F%E8%83%BD", // 也能
        "like_from=t/1/%2B",
        "match_from=t/%2B/%2B",
        "like_id=rule_01",
    ] {
        let (status, page) = call!(app, common::get(&format!("/api/v5/rules?{query}")));
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(page["data"], disabled["data"], "{query}");
    }
    let (_, from) = call!(app, common::get("/api/v5/rules?from=t/1"));
    assert_eq!(from["data"].as_array().map(Vec::len), Some(19), "{from}");
}

/// The `/rule_test` answers of EMQX's `t_crud_rule_api`: a payload that is not JSON and a
/// comparison of a string with a number are 400 `BAD_REQUEST` naming EMQX's error class and
/// cause; SQL that does not parse is a 400 saying `syntax error`.
#[sqlx::test(migrations = "../migrations")]
async fn emqx_rule_test_errors_of_t_crud_rule_api(pool: PgPool) {
    let app = test_app!(pool);
    let test = |sql: &str, payload: &str| {
        json!({"sql": sql, "context": {"clientid": "c_emqx", "event_type": "message_publish",
               "payload": payload, "qos": 1, "topic": "t/a", "username": "u_emqx"}})
    };
    for (sql, payload, cause) in [
        (
            "SELECT\n  payload.msg\nFROM\n  \"t/#\"",
            "{\"msg\": \"hel",
            "decode_json_failed",
        ),
        (
            "SELECT\n  payload.msg > 1\nFROM\n  \"t/#\"",
            "{\"msg\": \"hello\"}",
            "badarg",
        ),
    ] {
        let (status, body) = call!(app, common::post("/api/v5/rule_test", &test(sql, payload)));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "BAD_REQUEST", "{body}");
        let message: Value = serde_json::from_str(body["message"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("EMQX's message is JSON ({e}): {body}"));
        let error = message["select_and_transform_error"]
            .as_str()
            .unwrap_or_default();
        assert!(error.contains(cause), "{sql}: {body}");
    }
    let (status, body) = call!(
        app,
        common::post("/api/v5/rule_test", &test("BAD_SQL", "{}"))
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("syntax error"),
        "{body}"
    );
}
