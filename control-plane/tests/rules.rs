//! `/rules` against a real PostgreSQL: CRUD, generated ids, validation, references, filters and
//! pagination.

mod common;

use actix_web::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

/// A producer connector `k`, an action `kafka_producer:a1`, a consumer connector `kc` and a
/// source `kafka_consumer:s1`.
macro_rules! seed {
    ($app:expr) => {{
        for (path, body) in [
            ("/api/v5/connectors", common::kafka_producer_connector("k")),
            ("/api/v5/connectors", common::kafka_consumer_connector("kc")),
            ("/api/v5/actions", common::producer_action("a1", "k")),
            ("/api/v5/sources", common::consumer_source("s1", "kc")),
        ] {
            let (status, created) = call!($app, common::post(path, &body));
            assert_eq!(status, StatusCode::CREATED, "{created}");
        }
    }};
}

#[sqlx::test(migrations = "../migrations")]
async fn create_read_update_delete(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    let body = json!({
        "id": "r1",
        "name": "temperature",
        "sql": "SELECT payload.temp AS temp, clientid FROM \"t/#\" WHERE payload.temp > 30",
        "actions": ["kafka_producer:a1", {"function": "republish", "args": {"topic": "alerts/${clientid}", "payload": "${temp}"}}],
        "description": "hot devices",
        "metadata": {"owner": "ops"}
    });
    let (status, created) = call!(app, common::post("/api/v5/rules", &body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["id"], "r1");
    assert_eq!(created["from"], json!(["t/#"]));
    assert_eq!(created["enable"], true);
    assert_eq!(created["mqtt_connector"], "default");
    assert_eq!(
        created["actions"][1]["args"]["qos"], "${qos}",
        "republish defaults are filled in"
    );

    let (status, read) = call!(app, common::get("/api/v5/rules/r1"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["metadata"]["owner"], "ops");
    assert_eq!(read["action_details"][0]["name"], "a1", "{read}");

    // What a read returns is a valid write.
    let (status, rewritten) = call!(app, common::put("/api/v5/rules/r1", &read));
    assert_eq!(status, StatusCode::OK, "{rewritten}");
    assert_eq!(rewritten["actions"], read["actions"]);

    // A partial update changes only what it names.
    let (status, updated) = call!(
        app,
        common::put("/api/v5/rules/r1", &json!({"enable": false}))
    );
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["enable"], false);
    assert_eq!(updated["sql"], body["sql"]);
    assert_eq!(updated["actions"].as_array().map(Vec::len), Some(2));

    let (status, _) = call!(app, common::delete("/api/v5/rules/r1"));
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call!(app, common::get("/api/v5/rules/r1"));
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = call!(app, common::delete("/api/v5/rules/r1"));
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn ids_are_generated_and_duplicates_refused(pool: PgPool) {
    let app = test_app!(pool);
    let (status, created) = call!(
        app,
        common::post("/api/v5/rules", &json!({"sql": "SELECT * FROM \"t/1\""}))
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("rule_") && id.len() > 5, "{id}");

    let body = json!({"id": "dup", "sql": "SELECT * FROM \"t/1\""});
    call!(app, common::post("/api/v5/rules", &body));
    let (status, response) = call!(app, common::post("/api/v5/rules", &body));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(response["code"], "ALREADY_EXISTS");
}

#[sqlx::test(migrations = "../migrations")]
async fn invalid_rules_name_the_field(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    let cases = [
        (json!({"actions": []}), "sql"),
        (json!({"sql": "SELEC * FROM \"t\""}), "sql"),
        (json!({"sql": "SELECT * FROM \"t\"", "id": "bad id"}), "id"),
        (
            json!({"sql": "SELECT * FROM \"t\"", "actions": ["http:a1"]}),
            "actions[0]",
        ),
        (
            json!({"sql": "SELECT * FROM \"t\"", "actions": [{"function": "republish", "args": {"topic": "a/#"}}]}),
            "actions[0].args.topic",
        ),
        (
            json!({"sql": "SELECT * FROM \"t\"", "actions": [{"function": "republish", "args": {"topic": "a", "qos": "7"}}]}),
            "actions[0].args.qos",
        ),
        (
            json!({"sql": "SELECT * FROM \"t\"", "actions": [{"function": "republish", "args": {"topic": "a", "qos": 5}}]}),
            "actions[0].args.qos",
        ),
        (
            json!({"sql": "SELECT * FROM \"t\"", "actions": [{"function": "republish", "args": {"topic": "a", "qos": [1]}}]}),
            "actions[0].args.qos",
        ),
        (
            json!({"sql": "SELECT * FROM \"t\"", "actions": [{"function": "republish", "args": {"topic": "a", "retain": "yes"}}]}),
            "actions[0].args.retain",
        ),
        (
            json!({"sql": "SELECT * FROM \"t\"", "mqtt_connector": "nope"}),
            "mqtt_connector",
        ),
        (
            json!({"sql": "SELECT * FROM \"$bridges/kafka_consumer:missing\""}),
            "sql",
        ),
        (
            json!({"sql": "SELECT * FROM \"t\"", "bogus": true}),
            "bogus",
        ),
        (
            json!({"sql": "SELECT * FROM \"t\"", "enable": "yes"}),
            "enable",
        ),
    ];
    for (body, field) in cases {
        let (status, response) = call!(app, common::post("/api/v5/rules", &body));
        assert_eq!(response["field"], field, "{body} -> {response}");
        common::assert_bad_field(status, &response, field);
    }
    // The parse error says where.
    let (_, response) = call!(
        app,
        common::post("/api/v5/rules", &json!({"sql": "SELECT a,, b FROM \"t\""}))
    );
    let message = response["message"].as_str().unwrap();
    assert!(message.contains("line 1, column"), "{message}");
}

#[sqlx::test(migrations = "../migrations")]
async fn rules_may_read_sources_and_keep_them_alive(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    let body =
        json!({"id": "from_kafka", "sql": "SELECT value FROM \"$bridges/kafka_consumer:s1\""});
    let (status, created) = call!(app, common::post("/api/v5/rules", &body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["from"], json!(["$bridges/kafka_consumer:s1"]));

    let (status, response) = call!(app, common::delete("/api/v5/sources/kafka_consumer:s1"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        response["message"]
            .as_str()
            .unwrap()
            .contains("rule:from_kafka"),
        "{response}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn deleting_a_referenced_action_is_refused_unless_asked_to_detach(pool: PgPool) {
    let app = test_app!(pool);
    seed!(app);
    let body = json!({"id": "r", "sql": "SELECT * FROM \"t\"", "actions": ["kafka_producer:a1", {"function": "republish", "args": {"topic": "x"}}]});
    call!(app, common::post("/api/v5/rules", &body));
    let (status, response) = call!(app, common::delete("/api/v5/actions/kafka_producer:a1"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        response["message"].as_str().unwrap().contains("rule:r"),
        "{response}"
    );

    let (status, _) = call!(
        app,
        common::delete("/api/v5/actions/kafka_producer:a1?also_delete_dep_actions=true")
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, rule) = call!(app, common::get("/api/v5/rules/r"));
    assert_eq!(
        rule["actions"],
        json!([{"function": "republish", "args": {"topic": "x", "qos": "${qos}", "retain": "${flags.retain}", "payload": "${payload}", "mqtt_properties": {}, "user_properties": null}}])
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn list_filters_and_paginates(pool: PgPool) {
    let app = test_app!(pool);
    for i in 0..5 {
        let body = json!({"id": format!("rule_{i}"), "sql": format!("SELECT * FROM \"t/{i}\""), "enable": i % 2 == 0, "description": format!("d{i}")});
        let (status, created) = call!(app, common::post("/api/v5/rules", &body));
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let (status, page) = call!(app, common::get("/api/v5/rules?page=2&limit=2"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["meta"],
        json!({"page": 2, "limit": 2, "count": 5, "hasnext": true})
    );
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    let (_, last) = call!(app, common::get("/api/v5/rules?page=3&limit=2"));
    assert_eq!(last["meta"]["hasnext"], false);
    assert_eq!(last["data"].as_array().map(Vec::len), Some(1));

    let (_, enabled) = call!(app, common::get("/api/v5/rules?enable=true"));
    assert_eq!(enabled["meta"]["count"], 3);
    let (_, from) = call!(app, common::get("/api/v5/rules?from=t/3"));
    assert_eq!(from["data"][0]["id"], "rule_3");
    assert_eq!(from["meta"]["count"], 1);
    let (_, like) = call!(app, common::get("/api/v5/rules?like_id=_4"));
    assert_eq!(like["data"][0]["id"], "rule_4");
    let (_, desc) = call!(app, common::get("/api/v5/rules?like_description=d1"));
    assert_eq!(desc["meta"]["count"], 1);
    // EMQX's match_from: the FROM entries the given topic filter matches.
    let (_, matched) = call!(app, common::get("/api/v5/rules?match_from=t/%2B"));
    assert_eq!(matched["meta"]["count"], 5, "{matched}");
    let (_, matched) = call!(app, common::get("/api/v5/rules?match_from=t/3"));
    assert_eq!(matched["data"][0]["id"], "rule_3", "{matched}");
    assert_eq!(matched["meta"]["count"], 1, "{matched}");

    for bad in [
        "/api/v5/rules?page=0",
        "/api/v5/rules?limit=0",
        "/api/v5/rules?enable=maybe",
        "/api/v5/rules?page=-1",
    ] {
        let (status, body) = call!(app, common::get(bad));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn republish_takes_emqx_literal_qos_and_retain(pool: PgPool) {
    let app = test_app!(pool);
    let args = json!({"topic": "t/x", "qos": 1, "retain": true, "payload": "${payload}"});
    let body = json!({
        "id": "repub",
        "sql": "SELECT * FROM \"t/#\"",
        "actions": [{"function": "republish", "args": args}]
    });
    let (status, created) = call!(app, common::post("/api/v5/rules", &body));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, read) = call!(app, common::get("/api/v5/rules/repub"));
    assert_eq!(status, StatusCode::OK);
    for field in ["topic", "qos", "retain", "payload"] {
        assert_eq!(read["actions"][0]["args"][field], args[field], "{read}");
    }
    // Templates are still taken, and read back as strings.
    let templated = json!({"topic": "t/x", "qos": "${qos}", "retain": "${flags.retain}"});
    let body = json!({"actions": [{"function": "republish", "args": templated}]});
    let (status, updated) = call!(app, common::put("/api/v5/rules/repub", &body));
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["actions"][0]["args"]["qos"], "${qos}");
    assert_eq!(updated["actions"][0]["args"]["retain"], "${flags.retain}");

    // A bad value names the field and says what is allowed.
    let body = json!({"sql": "SELECT * FROM \"t\"", "actions": [{"function": "republish", "args": {"topic": "a", "qos": 3}}]});
    let (status, response) = call!(app, common::post("/api/v5/rules", &body));
    common::assert_bad_field(status, &response, "actions[0].args.qos");
    let message = response["message"].as_str().unwrap();
    assert!(message.contains("0, 1 or 2"), "{message}");
    assert!(!message.contains("untagged"), "{message}");
    let body = json!({"sql": "SELECT * FROM \"t\"", "actions": [{"function": "republish", "args": {"topic": "a", "qos": 1.5}}]});
    let (status, response) = call!(app, common::post("/api/v5/rules", &body));
    common::assert_bad_field(status, &response, "actions[0].args.qos");
    let message = response["message"].as_str().unwrap();
    assert!(message.contains("template"), "{message}");
}
