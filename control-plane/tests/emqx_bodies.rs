//! Bodies EMQX v5 accepts (issue 14): each is posted as EMQX writes it, and must be taken and
//! read back as written.

mod common;

use actix_web::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

/// Merges `extra` into the object `base`.
fn with(mut base: Value, extra: Value) -> Value {
    let (Value::Object(base_map), Value::Object(extra)) = (&mut base, extra) else {
        panic!("objects expected");
    };
    base_map.extend(extra);
    base
}

#[sqlx::test(migrations = "../migrations")]
async fn tags_are_taken_on_connectors_actions_and_sources(pool: PgPool) {
    let app = test_app!(pool);
    let tags = json!(["prod", "site-a"]);
    let cases = [
        (
            "/api/v5/connectors",
            with(common::kafka_producer_connector("k"), json!({"tags": tags})),
            "/api/v5/connectors/kafka_producer:k",
        ),
        (
            "/api/v5/connectors",
            with(
                common::kafka_consumer_connector("kc"),
                json!({"tags": tags}),
            ),
            "/api/v5/connectors/kafka_consumer:kc",
        ),
        (
            "/api/v5/connectors",
            with(common::mqtt_connector("m"), json!({"tags": tags})),
            "/api/v5/connectors/mqtt:m",
        ),
        (
            "/api/v5/actions",
            with(common::producer_action("a1", "k"), json!({"tags": tags})),
            "/api/v5/actions/kafka_producer:a1",
        ),
        (
            "/api/v5/sources",
            with(common::consumer_source("s1", "kc"), json!({"tags": tags})),
            "/api/v5/sources/kafka_consumer:s1",
        ),
    ];
    for (collection, body, path) in cases {
        let (status, created) = call!(app, common::post(collection, &body));
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["tags"], tags, "{created}");
        let (status, read) = call!(app, common::get(path));
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(read["tags"], tags, "{read}");
        // What a read returns is a valid write, tags included.
        let (status, rewritten) = call!(app, common::put(path, &read));
        assert_eq!(status, StatusCode::OK, "{rewritten}");
        assert_eq!(rewritten["tags"], tags, "{rewritten}");
    }
    // Absent tags read back as an empty list.
    let (status, created) = call!(
        app,
        common::post("/api/v5/actions", &common::producer_action("a2", "k"))
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["tags"], json!([]));
    // A tag that is not a string is named.
    let body = with(
        common::producer_action("a3", "k"),
        json!({"tags": ["ok", 7]}),
    );
    let (status, response) = call!(app, common::post("/api/v5/actions", &body));
    common::assert_bad_field(status, &response, "tags[1]");
    let body = with(common::mqtt_connector("m2"), json!({"tags": "prod"}));
    let (status, response) = call!(app, common::post("/api/v5/connectors", &body));
    common::assert_bad_field(status, &response, "tags");
}

#[sqlx::test(migrations = "../migrations")]
async fn resource_opts_take_emqx_health_and_start_options(pool: PgPool) {
    let app = test_app!(pool);
    let connector_opts = json!({
        "health_check_interval": "30s",
        "health_check_timeout": "5s",
        "start_after_created": false,
        "start_timeout": "10s"
    });
    let bridge_opts = json!({
        "health_check_interval": "30s",
        "health_check_timeout": "infinity",
        "health_check_interval_jitter": "500ms",
        "resume_interval": "20s"
    });
    let cases = [
        (
            "/api/v5/connectors",
            with(
                common::kafka_producer_connector("k"),
                json!({"resource_opts": connector_opts}),
            ),
            "/api/v5/connectors/kafka_producer:k",
            &connector_opts,
        ),
        (
            "/api/v5/connectors",
            with(
                common::kafka_consumer_connector("kc"),
                json!({"resource_opts": connector_opts}),
            ),
            "/api/v5/connectors/kafka_consumer:kc",
            &connector_opts,
        ),
        (
            "/api/v5/connectors",
            with(
                common::mqtt_connector("m"),
                json!({"resource_opts": connector_opts}),
            ),
            "/api/v5/connectors/mqtt:m",
            &connector_opts,
        ),
        (
            "/api/v5/actions",
            with(
                common::producer_action("a1", "k"),
                json!({"resource_opts": bridge_opts}),
            ),
            "/api/v5/actions/kafka_producer:a1",
            &bridge_opts,
        ),
        (
            "/api/v5/sources",
            with(
                common::consumer_source("s1", "kc"),
                json!({"resource_opts": bridge_opts}),
            ),
            "/api/v5/sources/kafka_consumer:s1",
            &bridge_opts,
        ),
    ];
    for (collection, body, path, opts) in cases {
        let (status, created) = call!(app, common::post(collection, &body));
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (status, read) = call!(app, common::get(path));
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(&read["resource_opts"], opts, "{read}");
    }
    // EMQX's defaults are filled in.
    let (status, created) = call!(
        app,
        common::post("/api/v5/connectors", &common::mqtt_connector("m2"))
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["resource_opts"],
        json!({"health_check_interval": "15s", "health_check_timeout": "1m", "start_after_created": true, "start_timeout": "5s"})
    );
    // A bad value names the field.
    let body = with(
        common::producer_action("a2", "k"),
        json!({"resource_opts": {"health_check_timeout": "soon"}}),
    );
    let (status, response) = call!(app, common::post("/api/v5/actions", &body));
    common::assert_bad_field(status, &response, "resource_opts.health_check_timeout");
    let body = with(
        common::mqtt_connector("m3"),
        json!({"resource_opts": {"start_after_created": "yes"}}),
    );
    let (status, response) = call!(app, common::post("/api/v5/connectors", &body));
    common::assert_bad_field(status, &response, "resource_opts.start_after_created");
}

#[sqlx::test(migrations = "../migrations")]
async fn kafka_ssl_takes_emqx_tls_options(pool: PgPool) {
    let app = test_app!(pool);
    let ssl = json!({
        "enable": true,
        "verify": "verify_none",
        "ciphers": ["TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"],
        "depth": 5,
        "versions": ["tlsv1.3", "tlsv1.2"],
        "log_level": "warning",
        "reuse_sessions": false,
        "secure_renegotiate": false,
        "hibernate_after": "10s"
    });
    let body = with(common::kafka_producer_connector("k"), json!({"ssl": ssl}));
    let (status, created) = call!(app, common::post("/api/v5/connectors", &body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, read) = call!(app, common::get("/api/v5/connectors/kafka_producer:k"));
    assert_eq!(status, StatusCode::OK, "{read}");
    for (field, value) in ssl.as_object().unwrap() {
        assert_eq!(&read["ssl"][field], value, "ssl.{field}: {read}");
    }
    // EMQX also takes ciphers as one comma-separated string; it reads back as a list.
    let body = with(
        common::kafka_consumer_connector("kc"),
        json!({"ssl": {"enable": true, "ciphers": "TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256"}}),
    );
    let (status, created) = call!(app, common::post("/api/v5/connectors", &body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["ssl"]["ciphers"],
        json!(["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"])
    );
    // EMQX's defaults are filled in.
    assert_eq!(created["ssl"]["depth"], 10);
    assert_eq!(created["ssl"]["versions"], json!(["tlsv1.3", "tlsv1.2"]));
    assert_eq!(created["ssl"]["hibernate_after"], "5s");
    // Bad values name the field.
    for (ssl, field) in [
        (json!({"versions": ["tlsv1.4"]}), "ssl.versions[0]"),
        (json!({"depth": -1}), "ssl.depth"),
        (json!({"log_level": "loud"}), "ssl.log_level"),
        (json!({"ciphers": 7}), "ssl.ciphers"),
    ] {
        let body = with(common::kafka_producer_connector("k2"), json!({"ssl": ssl}));
        let (status, response) = call!(app, common::post("/api/v5/connectors", &body));
        common::assert_bad_field(status, &response, field);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn producer_actions_take_partitions_limit_and_the_kafka_alias(pool: PgPool) {
    let app = test_app!(pool);
    let (status, created) = call!(
        app,
        common::post("/api/v5/connectors", &common::kafka_producer_connector("k"))
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for (name, limit) in [("a1", json!(3)), ("a2", json!("all_partitions"))] {
        let body = json!({
            "type": "kafka_producer",
            "name": name,
            "connector": "k",
            "parameters": {"topic": "t", "partitions_limit": limit}
        });
        let (status, created) = call!(app, common::post("/api/v5/actions", &body));
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (status, read) = call!(
            app,
            common::get(&format!("/api/v5/actions/kafka_producer:{name}"))
        );
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(read["parameters"]["partitions_limit"], limit, "{read}");
    }
    // The default is EMQX's.
    let (status, created) = call!(
        app,
        common::post("/api/v5/actions", &common::producer_action("a3", "k"))
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["parameters"]["partitions_limit"], "all_partitions");
    for limit in [json!(0), json!("some"), json!(-2)] {
        let body = json!({"type": "kafka_producer", "name": "bad", "connector": "k",
            "parameters": {"topic": "t", "partitions_limit": limit}});
        let (status, response) = call!(app, common::post("/api/v5/actions", &body));
        common::assert_bad_field(status, &response, "parameters.partitions_limit");
    }

    // EMQX 5.0 bodies call the parameters `kafka`; reads say `parameters`.
    let kafka =
        json!({"topic": "t-${clientid}", "required_acks": "leader_only", "partitions_limit": 2});
    let body = json!({"type": "kafka_producer", "name": "v50", "connector": "k", "kafka": kafka});
    let (status, created) = call!(app, common::post("/api/v5/actions", &body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, read) = call!(app, common::get("/api/v5/actions/kafka_producer:v50"));
    assert_eq!(status, StatusCode::OK, "{read}");
    for (field, value) in kafka.as_object().unwrap() {
        assert_eq!(&read["parameters"][field], value, "{read}");
    }
    let (status, updated) = call!(
        app,
        common::put(
            "/api/v5/actions/kafka_producer:v50",
            &json!({"connector": "k", "kafka": {"topic": "u"}})
        )
    );
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["parameters"]["topic"], "u");
    // Both names at once is ambiguous; a bad field under the alias is still named.
    let body = json!({"type": "kafka_producer", "name": "both", "connector": "k",
        "kafka": {"topic": "t"}, "parameters": {"topic": "t"}});
    let (status, response) = call!(app, common::post("/api/v5/actions", &body));
    common::assert_bad_field(status, &response, "kafka");
    // Sources have no such alias.
    let (status, _) = call!(
        app,
        common::post(
            "/api/v5/connectors",
            &common::kafka_consumer_connector("kc")
        )
    );
    assert_eq!(status, StatusCode::CREATED);
    let body =
        json!({"type": "kafka_consumer", "name": "s", "connector": "kc", "kafka": {"topic": "t"}});
    let (status, response) = call!(app, common::post("/api/v5/sources", &body));
    common::assert_bad_field(status, &response, "kafka");
}

#[sqlx::test(migrations = "../migrations")]
async fn offset_commit_interval_takes_a_duration_or_seconds(pool: PgPool) {
    let app = test_app!(pool);
    let (status, created) = call!(
        app,
        common::post(
            "/api/v5/connectors",
            &common::kafka_consumer_connector("kc")
        )
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for (name, given, seconds) in [
        ("s1", json!("5s"), 5),
        ("s2", json!("1m"), 60),
        ("s3", json!(7), 7),
    ] {
        let body = json!({
            "type": "kafka_consumer",
            "name": name,
            "connector": "kc",
            "parameters": {"topic": "t", "offset_commit_interval_seconds": given}
        });
        let (status, created) = call!(app, common::post("/api/v5/sources", &body));
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (status, read) = call!(
            app,
            common::get(&format!("/api/v5/sources/kafka_consumer:{name}"))
        );
        assert_eq!(status, StatusCode::OK, "{read}");
        assert_eq!(
            read["parameters"]["offset_commit_interval_seconds"], seconds,
            "{read}"
        );
        // What a read returns is a valid write.
        let path = format!("/api/v5/sources/kafka_consumer:{name}");
        let (status, rewritten) = call!(app, common::put(&path, &read));
        assert_eq!(status, StatusCode::OK, "{rewritten}");
    }
    for given in [json!("500ms"), json!("soon"), json!(-1), json!(0)] {
        let body = json!({"type": "kafka_consumer", "name": "bad", "connector": "kc",
            "parameters": {"topic": "t", "offset_commit_interval_seconds": given}});
        let (status, response) = call!(app, common::post("/api/v5/sources", &body));
        common::assert_bad_field(
            status,
            &response,
            "parameters.offset_commit_interval_seconds",
        );
    }
}
