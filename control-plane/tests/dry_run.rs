//! `POST /rules/{id}/test`: exactly what a stored rule's actions would send, without sending.

mod common;

use actix_web::http::StatusCode;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn renders_kafka_records_and_republishes_without_sending(pool: PgPool) {
    let app = test_app!(pool);
    call!(
        app,
        common::post("/api/v5/connectors", &common::kafka_producer_connector("k"))
    );
    let mut action = common::producer_action("temps", "k");
    action["parameters"] = json!({
        "topic": "device-${device}",
        "message": {"key": "${clientid}", "value": "{\"temp\": ${temp}, \"missing\": \"${nope}\"}", "timestamp": "${ts}"},
        "kafka_headers": "${props}",
        "kafka_ext_headers": [{"kafka_ext_header_key": "client", "kafka_ext_header_value": "${clientid}"}]
    });
    let (status, created) = call!(app, common::post("/api/v5/actions", &action));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let rule = json!({
        "id": "temp_hum",
        "sql": "SELECT clientid, payload.temp AS temp, payload.device AS device, 1700000000000 AS ts, payload.props AS props FROM \"temp_hum/#\"",
        "actions": ["kafka_producer:temps", {"function": "republish", "args": {"topic": "alerts/${clientid}", "payload": "${temp} ${nope}", "qos": "1", "retain": "true"}}]
    });
    let (status, created) = call!(app, common::post("/api/v5/rules", &rule));
    assert_eq!(status, StatusCode::CREATED, "{created}");

    let context = json!({"event_type": "message_publish", "topic": "temp_hum/emqx", "clientid": "car-1", "qos": 1,
        "payload": "{\"temp\": 21.5, \"device\": \"d7\", \"props\": {\"site\": \"plant-a\"}}"});
    let (status, run) = call!(
        app,
        common::post("/api/v5/rules/temp_hum/test", &json!({"context": context}))
    );
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["rows"][0]["temp"], 21.5);
    let record = &run["actions"][0]["outputs"][0];
    assert_eq!(run["actions"][0]["action"], "kafka_producer:temps");
    assert_eq!(record["kind"], "kafka_record");
    assert_eq!(record["topic"], "device-d7");
    assert_eq!(record["key"], "car-1");
    assert_eq!(
        record["value"], "{\"temp\": 21.5, \"missing\": \"\"}",
        "Kafka renders missing values as empty"
    );
    assert_eq!(record["timestamp"], 1_700_000_000_000_i64);
    assert_eq!(
        record["headers"],
        json!([{"key": "site", "value": "plant-a"}, {"key": "client", "value": "car-1"}])
    );

    let publish = &run["actions"][1]["outputs"][0];
    assert_eq!(publish["kind"], "mqtt_publish");
    assert_eq!(publish["topic"], "alerts/car-1");
    assert_eq!(
        publish["payload"], "21.5 undefined",
        "republish renders missing values as undefined"
    );
    assert_eq!(publish["qos"], 1);
    assert_eq!(publish["retain"], true);

    // A topic placeholder the row lacks fails that message, as on the worker.
    let no_device = json!({"event_type": "message_publish", "topic": "temp_hum/x", "clientid": "c", "payload": "{\"temp\": 1}"});
    let (status, run) = call!(
        app,
        common::post(
            "/api/v5/rules/temp_hum/test",
            &json!({"context": no_device})
        )
    );
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["actions"][0]["outputs"][0]["kind"], "error", "{run}");

    let elsewhere = json!({"event_type": "message_publish", "topic": "other", "payload": "{}"});
    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/rules/temp_hum/test",
            &json!({"context": elsewhere})
        )
    );
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    let (status, _) = call!(
        app,
        common::post("/api/v5/rules/none/test", &json!({"context": {}}))
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn foreach_rules_render_once_per_row(pool: PgPool) {
    let app = test_app!(pool);
    let rule = json!({
        "id": "each",
        "sql": "FOREACH payload.items AS item DO item.id AS id FROM \"t/#\"",
        "actions": [{"function": "republish", "args": {"topic": "out/${id}", "payload": "${id}", "qos": "0"}}]
    });
    let (status, created) = call!(app, common::post("/api/v5/rules", &rule));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let context =
        json!({"topic": "t/1", "payload": "{\"items\": [{\"id\": \"a\"}, {\"id\": \"b\"}]}"});
    let (status, run) = call!(
        app,
        common::post("/api/v5/rules/each/test", &json!({"context": context}))
    );
    assert_eq!(status, StatusCode::OK, "{run}");
    let topics: Vec<_> = run["actions"][0]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["topic"].clone())
        .collect();
    assert_eq!(topics, [json!("out/a"), json!("out/b")]);
}

/// EMQX's own API suites write `{"function": "console"}` in every rule fixture: it is accepted,
/// reads back with EMQX's empty `args`, and its dry run shows the line a worker would log.
#[sqlx::test(migrations = "../migrations")]
async fn the_console_action_is_accepted_and_previews_its_log_line(pool: PgPool) {
    let app = test_app!(pool);
    let rule = json!({
        "id": "debug",
        "sql": "SELECT payload.temp AS temp FROM \"t/#\"",
        "actions": [{"function": "console"}]
    });
    let (status, created) = call!(app, common::post("/api/v5/rules", &rule));
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["actions"],
        json!([{"function": "console", "args": {}}])
    );
    let context =
        json!({"event_type": "message_publish", "topic": "t/1", "payload": "{\"temp\": 7}"});
    let (status, run) = call!(
        app,
        common::post("/api/v5/rules/debug/test", &json!({"context": context}))
    );
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["actions"][0]["action"], "console");
    assert_eq!(
        run["actions"][0]["outputs"][0],
        json!({"kind": "console_line", "line": "{\"temp\":7}"})
    );

    let with_args = json!({"id": "debug2", "sql": "SELECT * FROM \"t/#\"",
        "actions": [{"function": "console", "args": {"level": "debug"}}]});
    let (status, body) = call!(app, common::post("/api/v5/rules", &with_args));
    common::assert_bad_field(status, &body, "actions[0].args");
}
