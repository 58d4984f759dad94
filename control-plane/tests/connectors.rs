//! `/connectors` against a real PostgreSQL: CRUD, validation, secret masking, dependents.

mod common;

use actix_web::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn create_read_list_update_delete(pool: PgPool) {
    let app = test_app!(pool);
    let (status, created) = call!(
        app,
        common::post(
            "/api/v5/connectors",
            &common::kafka_producer_connector("k1")
        )
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["type"], "kafka_producer");
    assert_eq!(created["name"], "k1");
    assert_eq!(created["enable"], true);
    assert_eq!(created["connect_timeout"], "5s");
    assert_eq!(
        created["metadata_request_timeout"], "5s",
        "defaults are filled in"
    );

    let (status, read) = call!(app, common::get("/api/v5/connectors/kafka_producer:k1"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["bootstrap_hosts"], "127.0.0.1:9092");

    let (_, list) = call!(app, common::get("/api/v5/connectors"));
    assert_eq!(list.as_array().map(Vec::len), Some(1));

    let mut changed = common::kafka_producer_connector("k1");
    changed["bootstrap_hosts"] = json!("10.0.0.1:9093,10.0.0.2:9093");
    changed["description"] = json!("two brokers");
    let (status, updated) = call!(
        app,
        common::put("/api/v5/connectors/kafka_producer:k1", &changed)
    );
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["bootstrap_hosts"], "10.0.0.1:9093,10.0.0.2:9093");
    assert_eq!(updated["description"], "two brokers");

    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/connectors/kafka_producer:k1/enable/false")
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, read) = call!(app, common::get("/api/v5/connectors/kafka_producer:k1"));
    assert_eq!(read["enable"], false);

    let (status, _) = call!(app, common::delete("/api/v5/connectors/kafka_producer:k1"));
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call!(app, common::get("/api/v5/connectors/kafka_producer:k1"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "NOT_FOUND");
}

#[sqlx::test(migrations = "../migrations")]
async fn every_change_bumps_the_global_revision(pool: PgPool) {
    let revision = || async {
        sqlx::query_scalar::<_, i64>("SELECT revision FROM config_revision")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let app = test_app!(pool.clone());
    let before = revision().await;
    call!(
        app,
        common::post("/api/v5/connectors", &common::mqtt_connector("default"))
    );
    let after_create = revision().await;
    assert!(after_create > before);
    call!(
        app,
        common::put_empty("/api/v5/connectors/mqtt:default/enable/false")
    );
    assert!(revision().await > after_create);
}

#[sqlx::test(migrations = "../migrations")]
async fn duplicate_names_are_refused(pool: PgPool) {
    let app = test_app!(pool);
    call!(
        app,
        common::post("/api/v5/connectors", &common::mqtt_connector("m"))
    );
    let (status, body) = call!(
        app,
        common::post("/api/v5/connectors", &common::mqtt_connector("m"))
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "ALREADY_EXISTS");
    // The same name under another type is another connector.
    let (status, _) = call!(
        app,
        common::post("/api/v5/connectors", &common::kafka_consumer_connector("m"))
    );
    assert_eq!(status, StatusCode::CREATED);
}

#[sqlx::test(migrations = "../migrations")]
async fn secrets_are_masked_on_reads_and_kept_when_the_mask_is_sent_back(pool: PgPool) {
    let app = test_app!(pool.clone());
    let mut body = common::kafka_producer_connector("k");
    body["ssl"] = json!({"enable": true, "certfile": "-----BEGIN CERTIFICATE-----x", "keyfile": "-----BEGIN PRIVATE KEY-----secretkey"});
    let (status, created) = call!(app, common::post("/api/v5/connectors", &body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for response in [
        created,
        call!(app, common::get("/api/v5/connectors/kafka_producer:k")).1,
        call!(app, common::get("/api/v5/connectors")).1,
    ] {
        let text = response.to_string();
        assert!(
            !text.contains("kafka-secret") && !text.contains("secretkey"),
            "{text}"
        );
        assert!(text.contains("******"), "{text}");
    }

    // A read-modify-write (read-only fields included) keeps the stored secrets.
    let (_, mut read) = call!(app, common::get("/api/v5/connectors/kafka_producer:k"));
    read["connect_timeout"] = json!("7s");
    let (status, updated) = call!(
        app,
        common::put("/api/v5/connectors/kafka_producer:k", &read)
    );
    assert_eq!(status, StatusCode::OK, "{updated}");
    let stored: serde_json::Value =
        sqlx::query_scalar("SELECT config FROM connectors WHERE name = 'k'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored["authentication"]["password"], "kafka-secret");
    assert_eq!(
        stored["ssl"]["keyfile"],
        "-----BEGIN PRIVATE KEY-----secretkey"
    );
    assert_eq!(stored["connect_timeout"], "7s");

    // A new secret replaces the stored one.
    read["authentication"]["password"] = json!("rotated");
    call!(
        app,
        common::put("/api/v5/connectors/kafka_producer:k", &read)
    );
    let stored: serde_json::Value =
        sqlx::query_scalar("SELECT config FROM connectors WHERE name = 'k'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored["authentication"]["password"], "rotated");
}

#[sqlx::test(migrations = "../migrations")]
async fn creating_with_the_mask_as_a_secret_is_refused(pool: PgPool) {
    let app = test_app!(pool);
    let mut body = common::mqtt_connector("m");
    body["password"] = json!("******");
    let (status, body) = call!(app, common::post("/api/v5/connectors", &body));
    common::assert_bad_field(status, &body, "password");
}

#[sqlx::test(migrations = "../migrations")]
async fn invalid_fields_are_named(pool: PgPool) {
    let app = test_app!(pool);
    let cases = [
        (
            json!({"type": "kafka_producer", "name": "k", "bootstrap_hosts": "nohostport"}),
            "bootstrap_hosts",
        ),
        (
            json!({"type": "kafka_producer", "name": "k", "bootstrap_hosts": "h:99999"}),
            "bootstrap_hosts",
        ),
        (
            json!({"type": "kafka_producer", "name": "k", "bootstrap_hosts": "h:9092", "connect_timeout": "5 parsecs"}),
            "connect_timeout",
        ),
        (
            json!({"type": "kafka_producer", "name": "k", "bootstrap_hosts": "h:9092", "socket_opts": {"sndbuf": "lots"}}),
            "socket_opts.sndbuf",
        ),
        (
            json!({"type": "kafka_producer", "name": "k", "bootstrap_hosts": "h:9092", "socket_opts": {"tcp_keepalive": "1,2"}}),
            "socket_opts.tcp_keepalive",
        ),
        (
            json!({"type": "kafka_producer", "name": "k", "bootstrap_hosts": "h:9092", "ssl": {"verify": "sometimes"}}),
            "ssl.verify",
        ),
        (
            json!({"type": "kafka_producer", "name": "k", "bootstrap_hosts": "h:9092", "bogus": 1}),
            "bogus",
        ),
        (
            json!({"type": "kafka_producer", "name": "bad name", "bootstrap_hosts": "h:9092"}),
            "name",
        ),
        (
            json!({"type": "kafka_producer", "bootstrap_hosts": "h:9092"}),
            "name",
        ),
        (json!({"type": "rabbitmq", "name": "k"}), "type"),
        (json!({"name": "k"}), "type"),
        (
            json!({"type": "mqtt", "name": "m", "server": "h:1883", "keepalive": "100000s"}),
            "keepalive",
        ),
        (
            json!({"type": "mqtt", "name": "m", "server": "h:1883", "proto_ver": "v3"}),
            "proto_ver",
        ),
        (json!({"type": "mqtt", "name": "m"}), "server"),
        (
            json!({"type": "mqtt", "name": "m", "server": "h:1883", "enable": "yes"}),
            "enable",
        ),
    ];
    for (body, field) in cases {
        let (status, response) = call!(app, common::post("/api/v5/connectors", &body));
        assert_eq!(response["field"], field, "{body} -> {response}");
        common::assert_bad_field(status, &response, field);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn updates_cannot_rename_or_retype(pool: PgPool) {
    let app = test_app!(pool);
    call!(
        app,
        common::post("/api/v5/connectors", &common::mqtt_connector("m"))
    );
    let mut body = common::mqtt_connector("other");
    let (status, response) = call!(app, common::put("/api/v5/connectors/mqtt:m", &body));
    common::assert_bad_field(status, &response, "name");
    body["name"] = json!("m");
    body["type"] = json!("kafka_producer");
    let (status, response) = call!(app, common::put("/api/v5/connectors/mqtt:m", &body));
    common::assert_bad_field(status, &response, "type");
    let (status, _) = call!(
        app,
        common::put(
            "/api/v5/connectors/mqtt:nope",
            &common::mqtt_connector("nope")
        )
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_ids_are_client_errors(pool: PgPool) {
    let app = test_app!(pool);
    for path in [
        "/api/v5/connectors/nocolon",
        "/api/v5/connectors/rabbit:x",
        "/api/v5/connectors/mqtt:",
    ] {
        // 404 as EMQX answers a malformed id, still naming the field.
        let (status, body) = call!(app, common::get(path));
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["field"], "id");
    }
    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/connectors/mqtt:m/enable/maybe")
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call!(
        app,
        common::put_empty("/api/v5/connectors/mqtt:m/enable/true")
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn deleting_a_used_connector_lists_its_dependents(pool: PgPool) {
    let app = test_app!(pool);
    call!(
        app,
        common::post("/api/v5/connectors", &common::kafka_producer_connector("k"))
    );
    let (status, body) = call!(
        app,
        common::post("/api/v5/actions", &common::producer_action("a1", "k"))
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call!(app, common::delete("/api/v5/connectors/kafka_producer:k"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "BAD_REQUEST");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("kafka_producer:a1"),
        "{body}"
    );

    call!(app, common::delete("/api/v5/actions/kafka_producer:a1"));
    let (status, _) = call!(app, common::delete("/api/v5/connectors/kafka_producer:k"));
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_mqtt_connector_named_default_is_used_by_rules_without_one(pool: PgPool) {
    let app = test_app!(pool);
    call!(
        app,
        common::post("/api/v5/connectors", &common::mqtt_connector("default"))
    );
    call!(
        app,
        common::post(
            "/api/v5/connectors",
            &common::kafka_consumer_connector("kc")
        )
    );
    let mut source = common::consumer_source("s", "kc");
    source["parameters"] = json!({"topic_mapping": [{"kafka_topic": "t", "mqtt_topic": "m/1"}]});
    let (status, body) = call!(app, common::post("/api/v5/sources", &source));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call!(app, common::delete("/api/v5/connectors/mqtt:default"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("kafka_consumer:s"),
        "{body}"
    );
}
