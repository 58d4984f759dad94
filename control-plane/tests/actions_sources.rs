//! `/actions` and `/sources` against a real PostgreSQL: CRUD, validation, references.

mod common;

use actix_web::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn action_lifecycle(pool: PgPool) {
    let app = test_app!(pool);
    call!(
        app,
        common::post("/api/v5/connectors", &common::kafka_producer_connector("k"))
    );
    let (status, created) = call!(
        app,
        common::post("/api/v5/actions", &common::producer_action("a", "k"))
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["parameters"]["max_batch_bytes"], "896KB",
        "defaults are filled in"
    );
    assert_eq!(created["parameters"]["partition_strategy"], "random");
    assert_eq!(created["resource_opts"]["health_check_interval"], "15s");

    let mut changed = common::producer_action("a", "k");
    changed["parameters"]["topic"] = json!("device-${payload.device}");
    changed["parameters"]["query_mode"] = json!("sync");
    let (status, updated) = call!(
        app,
        common::put("/api/v5/actions/kafka_producer:a", &changed)
    );
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["parameters"]["topic"], "device-${payload.device}");
    assert_eq!(updated["parameters"]["query_mode"], "sync");

    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/actions/kafka_producer:a/enable/false")
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = call!(app, common::get("/api/v5/actions"));
    assert_eq!(list[0]["enable"], false);

    let (status, types) = call!(app, common::get("/api/v5/action_types"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(types, json!(["kafka_producer"]));

    let (status, _) = call!(app, common::delete("/api/v5/actions/kafka_producer:a"));
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call!(app, common::get("/api/v5/actions/kafka_producer:a"));
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn action_validation_names_the_field(pool: PgPool) {
    let app = test_app!(pool);
    call!(
        app,
        common::post("/api/v5/connectors", &common::kafka_producer_connector("k"))
    );
    call!(
        app,
        common::post(
            "/api/v5/connectors",
            &common::kafka_consumer_connector("kc")
        )
    );
    let with = |patch: serde_json::Value| {
        let mut body = common::producer_action("a", "k");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let with_params = |patch: serde_json::Value| {
        let mut body = common::producer_action("a", "k");
        for (k, v) in patch.as_object().unwrap() {
            body["parameters"][k] = v.clone();
        }
        body
    };
    let cases = [
        (with(json!({"connector": "nope"})), "connector"),
        (with(json!({"connector": "kc"})), "connector"),
        (with(json!({"type": "http"})), "type"),
        (with(json!({"name": "a:b"})), "name"),
        (with(json!({"extra": 1})), "extra"),
        (
            with(json!({"resource_opts": {"worker_pool_size": 4}})),
            "resource_opts.worker_pool_size",
        ),
        (with_params(json!({"topic": ""})), "parameters.topic"),
        (
            with_params(json!({"topic": "has space"})),
            "parameters.topic",
        ),
        (
            with_params(json!({"compression": "brotli"})),
            "parameters.compression",
        ),
        (
            with_params(json!({"required_acks": "some"})),
            "parameters.required_acks",
        ),
        (
            with_params(json!({"max_batch_bytes": "lots"})),
            "parameters.max_batch_bytes",
        ),
        (
            with_params(json!({"max_linger_time": "5 years"})),
            "parameters.max_linger_time",
        ),
        (
            with_params(json!({"max_inflight": 0})),
            "parameters.max_inflight",
        ),
        (
            with_params(json!({"required_acks": "leader_only", "enable_idempotence": true})),
            "parameters.enable_idempotence",
        ),
        (
            with_params(json!({"kafka_headers": "a ${b}"})),
            "parameters.kafka_headers",
        ),
        (
            with_params(json!({"buffer": {"mode": "tape"}})),
            "parameters.buffer.mode",
        ),
        (
            with_params(json!({"message": {"key": 5}})),
            "parameters.message.key",
        ),
        (
            with_params(
                json!({"kafka_ext_headers": [{"kafka_ext_header_key": "", "kafka_ext_header_value": "v"}]}),
            ),
            "parameters.kafka_ext_headers[0].kafka_ext_header_key",
        ),
        (
            with_params(json!({"dead_letter_topic": "bad/topic"})),
            "parameters.dead_letter_topic",
        ),
        (
            json!({"type": "kafka_producer", "name": "a", "connector": "k"}),
            "parameters",
        ),
    ];
    for (body, field) in cases {
        let (status, response) = call!(app, common::post("/api/v5/actions", &body));
        assert_eq!(response["field"], field, "{body} -> {response}");
        common::assert_bad_field(status, &response, field);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn source_lifecycle_and_validation(pool: PgPool) {
    let app = test_app!(pool);
    call!(
        app,
        common::post(
            "/api/v5/connectors",
            &common::kafka_consumer_connector("kc")
        )
    );
    call!(
        app,
        common::post("/api/v5/connectors", &common::mqtt_connector("edge"))
    );
    let mut body = common::consumer_source("s", "kc");
    body["parameters"] = json!({
        "topic_mapping": [{"kafka_topic": "testtopic-out", "mqtt_topic": "t/${.key}", "qos": 1}],
        "offset_reset_policy": "earliest",
        "mqtt_connector": "edge"
    });
    let (status, created) = call!(app, common::post("/api/v5/sources", &body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["parameters"]["topic_mapping"][0]["payload_template"],
        "${.}"
    );
    let (status, read) = call!(app, common::get("/api/v5/sources/kafka_consumer:s"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["parameters"]["offset_reset_policy"], "earliest");
    assert_eq!(
        read["parameters"]["min_batch_bytes"], "1B",
        "a fetch is answered as soon as anything is there unless told otherwise"
    );

    // The mqtt connector it publishes through cannot go away underneath it.
    let (status, response) = call!(app, common::delete("/api/v5/connectors/mqtt:edge"));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");

    let with_params = |patch: serde_json::Value| {
        let mut body = common::consumer_source("s2", "kc");
        for (k, v) in patch.as_object().unwrap() {
            body["parameters"][k] = v.clone();
        }
        body
    };
    let cases = [
        (
            with_params(json!({"mqtt_connector": "missing"})),
            "parameters.mqtt_connector",
        ),
        (with_params(json!({"topic": "a b"})), "parameters.topic"),
        (
            with_params(json!({"offset_reset_policy": "middle"})),
            "parameters.offset_reset_policy",
        ),
        (
            with_params(json!({"value_encoding_mode": "hex"})),
            "parameters.value_encoding_mode",
        ),
        (with_params(json!({"group_id": " "})), "parameters.group_id"),
        (
            with_params(json!({"min_batch_bytes": "2MB", "max_batch_bytes": "1MB"})),
            "parameters.min_batch_bytes",
        ),
        (
            with_params(json!({"topic_mapping": [{"kafka_topic": "k", "mqtt_topic": "a/#"}]})),
            "parameters.topic_mapping[0].mqtt_topic",
        ),
        (
            with_params(
                json!({"topic_mapping": [{"kafka_topic": "k", "mqtt_topic": "a", "qos": 3}]}),
            ),
            "parameters.topic_mapping[0].qos",
        ),
        (
            json!({"type": "kafka_consumer", "name": "s2", "connector": "kc", "parameters": {}}),
            "parameters.topic",
        ),
        (
            json!({"type": "kafka_consumer", "name": "s2", "connector": "nope", "parameters": {"topic": "t"}}),
            "connector",
        ),
    ];
    for (body, field) in cases {
        let (status, response) = call!(app, common::post("/api/v5/sources", &body));
        assert_eq!(response["field"], field, "{body} -> {response}");
        common::assert_bad_field(status, &response, field);
    }

    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/sources/kafka_consumer:s/enable/false")
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call!(app, common::delete("/api/v5/sources/kafka_consumer:s"));
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call!(app, common::delete("/api/v5/connectors/mqtt:edge"));
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[sqlx::test(migrations = "../migrations")]
async fn ids_of_the_wrong_type_are_refused(pool: PgPool) {
    let app = test_app!(pool);
    for path in [
        "/api/v5/actions/kafka_consumer:x",
        "/api/v5/sources/kafka_producer:x",
        "/api/v5/actions/x",
    ] {
        // 404 as in EMQX ("Invalid bridge ID, ..."), still naming the field and the reason.
        let (status, body) = call!(app, common::get(path));
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["field"], "id", "{body}");
        assert!(body["reason"].is_string(), "{body}");
    }
}
