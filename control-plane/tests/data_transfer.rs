//! `/data/export` and `/data/import` against a real PostgreSQL: round trips, idempotence, dry
//! runs, pruning, validation that leaves everything as it was, and secrets.

// The helpers below fail the test loudly, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use actix_web::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

const EXPORT: &str = "/api/v5/data/export";
const EXPORT_WITH_SECRETS: &str = "/api/v5/data/export?include_secrets=true";
const IMPORT: &str = "/api/v5/data/import";

async fn revision(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT revision FROM config_revision")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Deletes every resource behind the API's back, as a fresh database would have them.
async fn wipe(pool: &PgPool) {
    for table in ["rules", "actions", "sources", "connectors"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(pool)
            .await
            .unwrap();
    }
}

/// Three connectors, an action, a source and two rules, created through the API.
macro_rules! create_flows {
    ($app:expr) => {{
        let bodies = [
            ("/api/v5/connectors", common::kafka_producer_connector("k")),
            ("/api/v5/connectors", common::kafka_consumer_connector("kc")),
            ("/api/v5/connectors", common::mqtt_connector("default")),
            ("/api/v5/actions", common::producer_action("a", "k")),
            ("/api/v5/sources", common::consumer_source("s", "kc")),
            (
                "/api/v5/rules",
                json!({"id": "r1", "sql": "SELECT * FROM \"t/#\"", "actions": ["kafka_producer:a"], "description": "to Kafka"}),
            ),
            (
                "/api/v5/rules",
                json!({"id": "r2", "sql": "SELECT * FROM \"$bridges/kafka_consumer:s\"", "enable": false}),
            ),
        ];
        for (path, body) in bodies {
            let (status, created) = call!($app, common::post(path, &body));
            assert_eq!(status, StatusCode::CREATED, "{path}: {created}");
        }
    }};
}

fn ids(report: &Value, change: &str) -> Vec<String> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["change"] == change)
        .map(|item| {
            format!(
                "{}/{}",
                item["kind"].as_str().unwrap(),
                item["id"].as_str().unwrap()
            )
        })
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn export_wipe_import_gives_the_same_state(pool: PgPool) {
    let app = test_app!(pool.clone());
    create_flows!(app);
    let (status, exported) = call!(app, common::get(EXPORT_WITH_SECRETS));
    assert_eq!(status, StatusCode::OK, "{exported}");
    assert_eq!(exported["format_version"], 1);
    assert_eq!(exported["connectors"].as_array().unwrap().len(), 3);
    assert_eq!(exported["rules"].as_array().unwrap().len(), 2);

    wipe(&pool).await;
    let (_, empty) = call!(app, common::get(EXPORT));
    assert_eq!(empty["connectors"], json!([]));

    let (status, report) = call!(app, common::post(IMPORT, &exported));
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"], 7, "{report}");
    assert_eq!(report["dry_run"], false);
    let (_, again) = call!(app, common::get(EXPORT_WITH_SECRETS));
    assert_eq!(again, exported);

    // Each exported item is also a valid create body on its own.
    wipe(&pool).await;
    for (section, path) in [
        ("connectors", "/api/v5/connectors"),
        ("actions", "/api/v5/actions"),
        ("sources", "/api/v5/sources"),
        ("rules", "/api/v5/rules"),
    ] {
        for item in exported[section].as_array().unwrap() {
            let (status, body) = call!(app, common::post(path, item));
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    let (_, recreated) = call!(app, common::get(EXPORT_WITH_SECRETS));
    assert_eq!(recreated, exported);
}

#[sqlx::test(migrations = "../migrations")]
async fn importing_twice_changes_nothing_the_second_time(pool: PgPool) {
    let app = test_app!(pool.clone());
    let document = json!({
        "format_version": 1,
        "connectors": [common::kafka_producer_connector("k"), common::mqtt_connector("m")],
        "actions": [common::producer_action("a", "k")],
        "rules": [{"id": "r", "sql": "SELECT * FROM \"t/1\"", "actions": ["kafka_producer:a"], "mqtt_connector": "m"}],
    });
    let before = revision(&pool).await;
    let (status, first) = call!(app, common::post(IMPORT, &document));
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        ids(&first, "create"),
        [
            "connector/kafka_producer:k",
            "connector/mqtt:m",
            "action/kafka_producer:a",
            "rule/r"
        ]
    );
    assert_eq!(
        revision(&pool).await,
        before + 1,
        "one import is one configuration revision for workers"
    );
    let (_, connector) = call!(app, common::get("/api/v5/connectors/kafka_producer:k"));

    let after_first = revision(&pool).await;
    let (status, second) = call!(app, common::post(IMPORT, &document));
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["unchanged"], 4, "{second}");
    assert_eq!(second["created"], 0);
    assert_eq!(second["updated"], 0);
    assert_eq!(revision(&pool).await, after_first, "nothing was written");
    let (_, unchanged) = call!(app, common::get("/api/v5/connectors/kafka_producer:k"));
    assert_eq!(unchanged["updated_at"], connector["updated_at"]);

    // One changed field is one update, naming that field.
    let mut changed = document.clone();
    changed["actions"][0]["parameters"]["topic"] = json!("other-topic");
    let (_, third) = call!(app, common::post(IMPORT, &changed));
    assert_eq!(third["updated"], 1, "{third}");
    let update = third["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["change"] == "update")
        .unwrap();
    assert_eq!(update["id"], "kafka_producer:a");
    assert_eq!(update["fields"], json!(["parameters.topic"]));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_dry_run_changes_nothing(pool: PgPool) {
    let app = test_app!(pool.clone());
    create_flows!(app);
    let (_, before) = call!(app, common::get(EXPORT_WITH_SECRETS));
    let revision_before = revision(&pool).await;

    let mut document = before.clone();
    document["actions"][0]["parameters"]["topic"] = json!("moved");
    document["rules"] =
        json!([document["rules"][1].clone(), {"id": "r3", "sql": "SELECT * FROM \"x/#\""}]);
    let (status, report) = call!(
        app,
        common::post(&format!("{IMPORT}?dry_run=true&prune=true"), &document)
    );
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["dry_run"], true);
    assert_eq!(ids(&report, "create"), ["rule/r3"]);
    assert_eq!(ids(&report, "update"), ["action/kafka_producer:a"]);
    assert_eq!(ids(&report, "delete"), ["rule/r1"]);
    assert_eq!(report["unchanged"], 5, "{report}");

    let (_, after) = call!(app, common::get(EXPORT_WITH_SECRETS));
    assert_eq!(after, before);
    assert_eq!(revision(&pool).await, revision_before);

    // The same document applied for real does what the dry run said.
    let (status, applied) = call!(
        app,
        common::post(&format!("{IMPORT}?prune=true"), &document)
    );
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["items"], report["items"]);
    let (status, _) = call!(app, common::get("/api/v5/rules/r1"));
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bad_item_leaves_everything_unchanged(pool: PgPool) {
    let app = test_app!(pool.clone());
    create_flows!(app);
    let (_, before) = call!(app, common::get(EXPORT_WITH_SECRETS));
    let revision_before = revision(&pool).await;

    let mut document = before.clone();
    document["connectors"][0]["description"] = json!("changed first");
    document["connectors"]
        .as_array_mut()
        .unwrap()
        .push(common::kafka_producer_connector("new"));
    document["actions"]
        .as_array_mut()
        .unwrap()
        .push(common::producer_action("orphan", "missing"));
    let (status, body) = call!(
        app,
        common::post(&format!("{IMPORT}?prune=true"), &document)
    );
    common::assert_bad_field(status, &body, "actions[1].connector");
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("action `kafka_producer:orphan`"),
        "{body}"
    );

    let mut invalid = before.clone();
    invalid["sources"][0]["parameters"]["topic"] = json!(42);
    let (status, body) = call!(app, common::post(IMPORT, &invalid));
    common::assert_bad_field(status, &body, "sources[0].parameters.topic");

    let mut twice = before.clone();
    twice["rules"][1]["id"] = json!("r1");
    let (status, body) = call!(app, common::post(IMPORT, &twice));
    common::assert_bad_field(status, &body, "rules[1]");

    let mut unknown = before.clone();
    unknown["format_version"] = json!(2);
    let (status, body) = call!(app, common::post(IMPORT, &unknown));
    common::assert_bad_field(status, &body, "format_version");

    // Pruning a connector that a named action still uses is refused too.
    let mut still_used = before.clone();
    // Sorted by type and name: `kafka_consumer:kc`, `kafka_producer:k`, `mqtt:default`.
    still_used["connectors"] = json!([
        before["connectors"][0].clone(),
        before["connectors"][2].clone()
    ]);
    let (status, body) = call!(
        app,
        common::post(&format!("{IMPORT}?prune=true"), &still_used)
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("kafka_producer:k"),
        "{body}"
    );

    let (_, after) = call!(app, common::get(EXPORT_WITH_SECRETS));
    assert_eq!(after, before);
    assert_eq!(revision(&pool).await, revision_before);
}

#[sqlx::test(migrations = "../migrations")]
async fn secrets_are_masked_unless_asked_for(pool: PgPool) {
    let app = test_app!(pool.clone());
    create_flows!(app);
    let (status, masked) = call!(app, common::get(EXPORT));
    assert_eq!(status, StatusCode::OK);
    let text = masked.to_string();
    assert!(
        !text.contains("kafka-secret") && !text.contains("mqtt-secret"),
        "{text}"
    );
    assert_eq!(
        masked["connectors"][1]["authentication"]["password"],
        "******"
    );

    // A masked document applied again keeps the stored secrets.
    let (status, report) = call!(app, common::post(IMPORT, &masked));
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["unchanged"], 7, "{report}");
    let (_, clear) = call!(app, common::get(EXPORT_WITH_SECRETS));
    assert_eq!(
        clear["connectors"][1]["authentication"]["password"],
        "kafka-secret"
    );
    assert_eq!(clear["connectors"][2]["password"], "mqtt-secret");

    // On an empty database there is no secret to keep: the field is named.
    wipe(&pool).await;
    let (status, body) = call!(app, common::post(IMPORT, &masked));
    common::assert_bad_field(status, &body, "connectors[1].authentication.password");
    let (_, empty) = call!(app, common::get(EXPORT));
    assert_eq!(empty["connectors"], json!([]));
}

const PASSPHRASE: (&str, &str) = (
    "tributary-secrets-passphrase",
    "correct horse battery staple",
);

#[sqlx::test(migrations = "../migrations")]
async fn secrets_sealed_with_a_passphrase_survive_a_wipe_and_open_only_with_it(pool: PgPool) {
    let app = test_app!(pool.clone());
    create_flows!(app);
    let (_, clear) = call!(app, common::get(EXPORT_WITH_SECRETS));
    let (status, sealed) = call!(app, common::get(EXPORT).insert_header(PASSPHRASE));
    assert_eq!(status, StatusCode::OK, "{sealed}");
    let text = sealed.to_string();
    assert!(
        !text.contains("kafka-secret") && !text.contains("mqtt-secret"),
        "{text}"
    );
    let password = sealed["connectors"][1]["authentication"]["password"]
        .as_str()
        .unwrap();
    assert!(password.starts_with("enc:v1:"), "{password}");
    assert_eq!(
        sealed["secrets_encryption"]["scheme"],
        "pbkdf2-hmac-sha256/aes-256-gcm"
    );

    // Without the passphrase, or with another one, nothing is applied and the field is named.
    wipe(&pool).await;
    let (status, body) = call!(app, common::post(IMPORT, &sealed));
    common::assert_bad_field(status, &body, "secrets_encryption");
    let wrong = ("tributary-secrets-passphrase", "not the right passphrase");
    let (status, body) = call!(app, common::post(IMPORT, &sealed).insert_header(wrong));
    common::assert_bad_field(status, &body, "connectors[1].authentication.password");
    let (_, empty) = call!(app, common::get(EXPORT));
    assert_eq!(empty["connectors"], json!([]));

    // With it, the secrets come back exactly; applying the document again changes nothing.
    let (status, report) = call!(app, common::post(IMPORT, &sealed).insert_header(PASSPHRASE));
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"], 7, "{report}");
    let (_, restored) = call!(app, common::get(EXPORT_WITH_SECRETS));
    assert_eq!(restored, clear);
    let (_, report) = call!(app, common::post(IMPORT, &sealed).insert_header(PASSPHRASE));
    assert_eq!(report["unchanged"], 7, "{report}");

    // A sealed value moved to another connector does not open there.
    let mut moved = sealed.clone();
    moved["connectors"][0]["authentication"] = sealed["connectors"][1]["authentication"].clone();
    let (status, body) = call!(app, common::post(IMPORT, &moved).insert_header(PASSPHRASE));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[sqlx::test(migrations = "../migrations")]
async fn sealing_needs_a_real_passphrase_and_excludes_clear_secrets(pool: PgPool) {
    let app = test_app!(pool);
    let short = ("tributary-secrets-passphrase", "short");
    let (status, body) = call!(app, common::get(EXPORT).insert_header(short));
    common::assert_bad_field(status, &body, "tributary-secrets-passphrase");
    let (status, body) = call!(
        app,
        common::get(EXPORT_WITH_SECRETS).insert_header(PASSPHRASE)
    );
    common::assert_bad_field(status, &body, "include_secrets");
}

#[sqlx::test(migrations = "../migrations")]
async fn unknown_query_flags_are_refused(pool: PgPool) {
    let app = test_app!(pool);
    let (status, body) = call!(app, common::get("/api/v5/data/export?secrets=yes"));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = call!(
        app,
        common::post(
            &format!("{IMPORT}?force=true"),
            &json!({"format_version": 1})
        )
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
