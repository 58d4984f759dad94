//! Connection tests against the real Apache Kafka and Mosquitto from the test stack:
//! success, nothing listening, unresolvable host, missing topic.
//!
//! Needs `TRIBUTARY_TEST_KAFKA` and `TRIBUTARY_TEST_MQTT` (`source .test-stack/env`).

// Helpers fail the test loudly when the stack is missing or misbehaves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use actix_web::http::StatusCode;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use serde_json::{Value, json};
use sqlx::PgPool;

fn kafka() -> String {
    std::env::var("TRIBUTARY_TEST_KAFKA")
        .expect("TRIBUTARY_TEST_KAFKA is not set: run scripts/test-stack.sh start and source .test-stack/env")
}

fn mqtt() -> String {
    std::env::var("TRIBUTARY_TEST_MQTT")
        .expect("TRIBUTARY_TEST_MQTT is not set: run scripts/test-stack.sh start and source .test-stack/env")
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn create_topic(name: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka())
        .create()
        .expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(name, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create_topics");
    for result in results {
        result.unwrap_or_else(|(topic, err)| panic!("creating {topic}: {err:?}"));
    }
}

fn fresh(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn assert_test_failed(status: StatusCode, body: &Value, words: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "TEST_FAILED", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(words), "expected `{words}` in: {message}");
}

#[sqlx::test(migrations = "../migrations")]
async fn kafka_connectors_are_probed_for_real(pool: PgPool) {
    let app = test_app!(pool);
    let ok = json!({"type": "kafka_producer", "name": "k", "bootstrap_hosts": kafka()});
    let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &ok));
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let refused = json!({"type": "kafka_consumer", "bootstrap_hosts": format!("127.0.0.1:{}", closed_port()), "connect_timeout": "2s"});
    let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &refused));
    assert_test_failed(status, &body, "cannot reach");
    assert!(
        body["message"].as_str().unwrap().contains("refused"),
        "{body}"
    );

    let unknown = json!({"type": "kafka_producer", "bootstrap_hosts": "no-such-host.invalid:9092", "connect_timeout": "2s"});
    let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &unknown));
    assert_test_failed(status, &body, "does not resolve");

    // TLS towards a plaintext listener fails the handshake.
    let tls = json!({"type": "kafka_producer", "bootstrap_hosts": kafka(), "ssl": {"enable": true}, "connect_timeout": "2s", "metadata_request_timeout": "2s"});
    let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &tls));
    assert_test_failed(status, &body, "TLS");

    // An invalid body is a validation error, not a failed test.
    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/connectors_probe",
            &json!({"type": "kafka_producer", "bootstrap_hosts": "x"})
        )
    );
    common::assert_bad_field(status, &body, "bootstrap_hosts");
}

#[sqlx::test(migrations = "../migrations")]
async fn action_and_source_probes_check_their_topics(pool: PgPool) {
    let app = test_app!(pool);
    let topic = fresh("probe-in");
    create_topic(&topic).await;
    for (kind, name) in [("kafka_producer", "kp"), ("kafka_consumer", "kc")] {
        let body = json!({"type": kind, "name": name, "bootstrap_hosts": kafka()});
        let (status, created) = call!(app, common::post("/api/v5/connectors", &body));
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }

    let mut action = common::producer_action("a", "kp");
    action["parameters"]["topic"] = json!(topic);
    let (status, body) = call!(app, common::post("/api/v5/actions_probe", &action));
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let missing = fresh("probe-missing");
    action["parameters"]["topic"] = json!(missing);
    let (status, body) = call!(app, common::post("/api/v5/actions_probe", &action));
    assert_test_failed(status, &body, "topic does not exist");
    assert!(body["message"].as_str().unwrap().contains(&missing));

    // A templated topic is only known per message: the connection alone is tested.
    action["parameters"]["topic"] = json!("device-${clientid}");
    let (status, body) = call!(app, common::post("/api/v5/actions_probe", &action));
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let mut source = common::consumer_source("s", "kc");
    source["parameters"] =
        json!({"topic": topic, "topic_mapping": [{"kafka_topic": missing, "mqtt_topic": "m/1"}]});
    let (status, body) = call!(app, common::post("/api/v5/sources_probe", &source));
    assert_test_failed(status, &body, &missing);
    source["parameters"] = json!({"topic": topic});
    let (status, body) = call!(app, common::post("/api/v5/sources_probe", &source));
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let mut orphan = common::producer_action("a", "nope");
    orphan["parameters"]["topic"] = json!(topic);
    let (status, body) = call!(app, common::post("/api/v5/actions_probe", &orphan));
    common::assert_bad_field(status, &body, "connector");
}

#[sqlx::test(migrations = "../migrations")]
async fn mqtt_connectors_are_probed_for_real(pool: PgPool) {
    let app = test_app!(pool);
    for version in ["v4", "v5"] {
        let ok = json!({"type": "mqtt", "name": "m", "server": mqtt(), "proto_ver": version});
        let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &ok));
        assert_eq!(status, StatusCode::NO_CONTENT, "{version}: {body}");
    }
    let refused = json!({"type": "mqtt", "server": format!("127.0.0.1:{}", closed_port()), "connect_timeout": "2s"});
    let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &refused));
    assert_test_failed(status, &body, "cannot reach");

    let tls =
        json!({"type": "mqtt", "server": mqtt(), "ssl": {"enable": true}, "connect_timeout": "2s"});
    let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &tls));
    assert_test_failed(status, &body, "TLS");

    // Something that accepts TCP but never speaks MQTT: the CONNACK wait times out.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_server = format!("127.0.0.1:{}", silent.local_addr().unwrap().port());
    let (status, body) = call!(
        app,
        common::post(
            "/api/v5/connectors_probe",
            &json!({"type": "mqtt", "server": silent_server, "connect_timeout": "1s"})
        )
    );
    assert_test_failed(status, &body, "CONNACK");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_probe_with_masked_secrets_uses_the_stored_ones(pool: PgPool) {
    let app = test_app!(pool);
    let stored =
        json!({"type": "mqtt", "name": "m", "server": mqtt(), "username": "u", "password": "p"});
    call!(app, common::post("/api/v5/connectors", &stored));
    let (_, mut read) = call!(app, common::get("/api/v5/connectors/mqtt:m"));
    read.as_object_mut()
        .unwrap()
        .retain(|k, _| k != "created_at" && k != "updated_at");
    assert_eq!(read["password"], "******");
    let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &read));
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    read["name"] = json!("unsaved");
    let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &read));
    common::assert_bad_field(status, &body, "password");
}

/// A private Mosquitto that refuses everyone, killed when dropped.
struct LockedBroker {
    child: std::process::Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl LockedBroker {
    fn start() -> Self {
        let port = closed_port();
        let dir = std::env::temp_dir().join(fresh("tributary-locked-broker"));
        std::fs::create_dir_all(&dir).unwrap();
        let passwords = dir.join("passwd");
        let status = std::process::Command::new("mosquitto_passwd")
            .args(["-b", "-c"])
            .arg(&passwords)
            .args(["alice", "right-password"])
            .status()
            .expect("mosquitto_passwd (package mosquitto) is needed for this test");
        assert!(status.success());
        let config = dir.join("mosquitto.conf");
        std::fs::write(
            &config,
            format!("listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\npersistence false\n", passwords.display()),
        )
        .unwrap();
        let child = std::process::Command::new("mosquitto")
            .arg("-c")
            .arg(&config)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto (package mosquitto) is needed for this test");
        // Owned by the guard from here on, so every path kills and reaps it.
        let broker = Self { child, dir, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return broker;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(broker);
        panic!("the private Mosquitto did not start on port {port}");
    }
}

impl Drop for LockedBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn mqtt_authentication_failures_say_so(pool: PgPool) {
    let app = test_app!(pool);
    let broker = LockedBroker::start();
    let server = format!("127.0.0.1:{}", broker.port);
    for version in ["v4", "v5"] {
        let wrong = json!({"type": "mqtt", "server": server, "proto_ver": version, "username": "alice", "password": "wrong"});
        let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &wrong));
        assert_test_failed(status, &body, "MQTT connection refused");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("authentication failed")
                || body["message"].as_str().unwrap().contains("not authorized"),
            "{version}: {body}"
        );

        let right = json!({"type": "mqtt", "server": server, "proto_ver": version, "username": "alice", "password": "right-password"});
        let (status, body) = call!(app, common::post("/api/v5/connectors_probe", &right));
        assert_eq!(status, StatusCode::NO_CONTENT, "{version}: {body}");
    }
}
