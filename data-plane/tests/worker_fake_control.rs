//! The worker in-process against a fake control plane (an in-test WorkerService) and the real
//! Mosquitto and Apache Kafka of the test stack: registration, the assignment stream applied as
//! a diff, heartbeats, epoch fencing and the MQTT -> rule -> Kafka path in sync mode.
//!
//! Needs `scripts/test-stack.sh start && source .test-stack/env`.

// Setup helpers outside #[test] functions: a failed setup step must abort the test loudly.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tributary_data_plane::control::heartbeat::HeartbeatSources;
use tributary_data_plane::control::{self, Identity};
use tributary_data_plane::flow::FlowEnv;
use tributary_data_plane::supervisor::Supervisor;
use tributary_data_plane::telemetry::{MetricsHub, StatusBoard};
use tributary_e2e::mqtt::host_port;
use tributary_e2e::unique;
use tributary_protocol::worker::v1::worker_service_server::{WorkerService, WorkerServiceServer};
use tributary_protocol::worker::v1::{
    Assignment, Flow, HeartbeatRequest, HeartbeatResponse, RegisterRequest, RegisterResponse,
    WatchRequest,
};

const TOKEN: &str = "fake-token";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `scripts/test-stack.sh start && source .test-stack/env`")
    })
}

/// What the fake control plane saw and will say.
#[derive(Default)]
struct FakeState {
    epoch: AtomicU64,
    registrations: AtomicU64,
    refuse_next_heartbeat: AtomicBool,
    heartbeats: Mutex<Vec<HeartbeatRequest>>,
    stale_calls: AtomicU64,
}

#[derive(Clone)]
struct FakeControl {
    state: Arc<FakeState>,
    assignment: watch::Receiver<Assignment>,
}

impl FakeControl {
    fn check(
        &self,
        request_metadata: &tonic::metadata::MetadataMap,
        epoch: Option<u64>,
    ) -> Result<(), Status> {
        let expected = format!("Bearer {TOKEN}");
        if request_metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            != Some(expected.as_str())
        {
            return Err(Status::unauthenticated("bad token"));
        }
        if let Some(epoch) = epoch
            && epoch != self.state.epoch.load(Ordering::SeqCst)
        {
            self.state.stale_calls.fetch_add(1, Ordering::SeqCst);
            return Err(Status::failed_precondition("stale epoch"));
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl WorkerService for FakeControl {
    async fn register(
        &self,
        request: Request<RegisterRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        self.check(request.metadata(), None)?;
        self.state.registrations.fetch_add(1, Ordering::SeqCst);
        let epoch = self.state.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Response::new(RegisterResponse {
            worker_id: format!("id-{}", request.into_inner().name),
            epoch,
            lease_ttl_ms: 5_000,
            heartbeat_interval_ms: 200,
        }))
    }

    type WatchAssignmentsStream = ReceiverStream<Result<Assignment, Status>>;

    async fn watch_assignments(
        &self,
        request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchAssignmentsStream>, Status> {
        let epoch = request.get_ref().epoch;
        self.check(request.metadata(), Some(epoch))?;
        let (tx, rx) = mpsc::channel(4);
        let mut assignments = self.assignment.clone();
        tokio::spawn(async move {
            loop {
                let current = assignments.borrow_and_update().clone();
                if tx.send(Ok(current)).await.is_err() || assignments.changed().await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let epoch = request.get_ref().epoch;
        self.check(request.metadata(), Some(epoch))?;
        if self
            .state
            .refuse_next_heartbeat
            .swap(false, Ordering::SeqCst)
        {
            // As if another incarnation registered meanwhile: this epoch is now stale.
            self.state.epoch.fetch_add(1, Ordering::SeqCst);
            return Err(Status::failed_precondition("stale epoch"));
        }
        self.state
            .heartbeats
            .lock()
            .unwrap()
            .push(request.into_inner());
        Ok(Response::new(HeartbeatResponse {
            lease_ttl_ms: 5_000,
        }))
    }
}

struct Harness {
    state: Arc<FakeState>,
    assignments: watch::Sender<Assignment>,
    shutdown: CancellationToken,
    worker: tokio::task::JoinHandle<()>,
    metrics: MetricsHub,
}

async fn start_worker() -> Harness {
    let state = Arc::new(FakeState::default());
    let (assignments, receiver) = watch::channel(Assignment::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = FakeControl {
        state: Arc::clone(&state),
        assignment: receiver,
    };
    tokio::spawn(
        Server::builder()
            .add_service(WorkerServiceServer::new(service))
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    let name = unique("fake-worker");
    let metrics = MetricsHub::new();
    let status = StatusBoard::default();
    let supervisor = Supervisor::new(FlowEnv::new(&name, metrics.clone(), status.clone()));
    let sources = HeartbeatSources {
        applied_revision: supervisor.applied_revision(),
        flows: supervisor.statuses(),
        connectors: status,
        metrics: metrics.clone(),
    };
    let client = control::replicas::Replicas::connect(
        &format!("http://{address}"),
        TOKEN,
        &control::tls::ControlPlaneTlsArgs::default(),
    )
    .unwrap();
    let shutdown = CancellationToken::new();
    let identity = Identity {
        name,
        admin_address: "127.0.0.1:0".into(),
        version: "test".into(),
    };
    let worker = tokio::spawn(control::run(
        client,
        identity,
        supervisor,
        sources,
        shutdown.clone(),
    ));
    Harness {
        state,
        assignments,
        shutdown,
        worker,
        metrics,
    }
}

fn rule_flow(rule_id: &str, sql: &str, version: &str, topic: &str, extra: Value) -> Flow {
    let mut parameters = json!({
        "topic": topic,
        "query_mode": "sync",
        "kafka_headers": "${pub_props}",
        "kafka_ext_headers": [{"kafka_ext_header_key": "rule", "kafka_ext_header_value": rule_id}],
    });
    if let (Some(target), Value::Object(extra)) = (parameters.as_object_mut(), extra) {
        target.extend(extra);
    }
    let spec = json!({
        "kind": "rule",
        "rule_id": rule_id,
        "sql": sql,
        "mqtt": {"name": "default", "config": {"server": env("TRIBUTARY_TEST_MQTT"), "keepalive": "10s"}},
        "actions": [{
            "type": "kafka_producer",
            "action_id": "kafka_producer:sink",
            "connector_name": "kafka",
            "connector": {"bootstrap_hosts": env("TRIBUTARY_TEST_KAFKA")},
            "parameters": parameters,
        }],
    });
    Flow {
        id: format!("rule:{rule_id}"),
        version: version.into(),
        spec_json: spec.to_string(),
    }
}

async fn create_topic(topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", env("TRIBUTARY_TEST_KAFKA"))
        .create()
        .unwrap();
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    for result in results {
        result.unwrap();
    }
}

type Consumed = (Option<String>, String, Vec<(String, String)>, i32);

async fn consume(topic: &str, expected: usize, timeout: Duration) -> Vec<Consumed> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", env("TRIBUTARY_TEST_KAFKA"))
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < expected {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Ok(message)) = tokio::time::timeout(left, consumer.recv()).await else {
            break;
        };
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned(),
            headers,
            message.partition(),
        ));
    }
    out
}

async fn publish(topic: &str, count: usize, props: &[(&str, &str)]) {
    let (host, port) = host_port(&env("TRIBUTARY_TEST_MQTT"));
    let (client, mut eventloop) =
        AsyncClient::new(MqttOptions::new(unique("pub"), host, port), 100);
    let user_properties: Vec<(String, String)> = props
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let topic = topic.to_owned();
    tokio::spawn(async move {
        for i in 0..count {
            let properties = PublishProperties {
                user_properties: user_properties.clone(),
                ..Default::default()
            };
            let payload = json!({"n": i, "device": "d1"}).to_string();
            client
                .publish_with_properties(
                    topic.clone(),
                    QoS::AtLeastOnce,
                    false,
                    payload,
                    properties,
                )
                .await
                .unwrap();
        }
    });
    let mut acked = 0;
    while acked < count {
        let event = tokio::time::timeout(Duration::from_secs(10), eventloop.poll())
            .await
            .unwrap()
            .unwrap();
        if let Event::Incoming(Packet::PubAck(_)) = event {
            acked += 1;
        }
    }
}

async fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check()
}

fn last_heartbeat(state: &FakeState) -> Option<HeartbeatRequest> {
    state.heartbeats.lock().unwrap().last().cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_flow_delivers_to_kafka_and_applies_assignment_diffs() {
    let topic = unique("fake-cp-out");
    create_topic(&topic, 3).await;
    let mqtt_prefix = unique("dev");
    let rule_id = unique("r");
    let sql = format!("SELECT payload.n as n, clientid, pub_props FROM \"{mqtt_prefix}/#\"");
    let harness = start_worker().await;
    harness.assignments.send_replace(Assignment {
        revision: 1,
        flows: vec![rule_flow(&rule_id, &sql, "v1", &topic, json!({}))],
        metric_resets: HashMap::new(),
    });

    // Registered, running, and reporting it.
    let state = Arc::clone(&harness.state);
    assert!(
        wait_for(Duration::from_secs(20), || last_heartbeat(&state)
            .is_some_and(|hb| {
                hb.applied_revision == 1
                    && hb.flows.iter().any(|f| f.status == "running")
                    && hb
                        .connectors
                        .iter()
                        .any(|c| c.connector_id == "mqtt:default" && c.status == "connected")
            }))
        .await,
        "no heartbeat reporting the running flow: {:?}",
        last_heartbeat(&state)
    );
    tokio::time::sleep(Duration::from_millis(500)).await; // the SUBACK

    publish(
        &format!("{mqtt_prefix}/1"),
        20,
        &[("clientid", "car-7"), ("site", "north")],
    )
    .await;
    let records = consume(&topic, 20, Duration::from_secs(30)).await;
    assert_eq!(
        records.len(),
        20,
        "every acknowledged message reached Kafka"
    );
    let mut numbers: Vec<i64> = records
        .iter()
        .map(|(_, value, _, _)| {
            serde_json::from_str::<Value>(value).unwrap()["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..20).collect::<Vec<_>>());
    let (key, _, headers, _) = &records[0];
    assert_eq!(
        key.as_deref(),
        Some("car-7"),
        "default key ${{.clientid}} from the clientid user property"
    );
    assert!(
        headers.contains(&("site".into(), "north".into())),
        "user properties as headers: {headers:?}"
    );
    assert!(
        headers.contains(&("rule".into(), rule_id.clone())),
        "ext header: {headers:?}"
    );

    let rule = harness.metrics.resource(&format!("rule:{rule_id}"));
    assert!(wait_for(Duration::from_secs(5), || rule.get("actions.success") == 20).await);
    assert_eq!(rule.get("matched"), 20);
    assert_eq!(rule.get("passed"), 20);
    let action = harness.metrics.resource("action:kafka_producer:sink");
    assert_eq!(action.get("success"), 20);

    // The same snapshot again (new revision, same version): nothing restarts, counters stay.
    harness.assignments.send_replace(Assignment {
        revision: 2,
        flows: vec![rule_flow(&rule_id, &sql, "v1", &topic, json!({}))],
        metric_resets: HashMap::from([(format!("rule:{rule_id}"), 0)]),
    });
    assert!(
        wait_for(Duration::from_secs(5), || last_heartbeat(&state)
            .is_some_and(|hb| hb.applied_revision == 2))
        .await
    );

    // A metric reset generation that grows zeroes the rule's counters.
    harness.assignments.send_replace(Assignment {
        revision: 3,
        flows: vec![rule_flow(&rule_id, &sql, "v1", &topic, json!({}))],
        metric_resets: HashMap::from([(format!("rule:{rule_id}"), 1)]),
    });
    assert!(
        wait_for(Duration::from_secs(5), || rule.get("matched") == 0).await,
        "reset applied"
    );

    // A removed flow stops: messages are no longer taken.
    harness.assignments.send_replace(Assignment {
        revision: 4,
        flows: Vec::new(),
        metric_resets: HashMap::new(),
    });
    assert!(
        wait_for(Duration::from_secs(20), || {
            last_heartbeat(&state).is_some_and(|hb| hb.applied_revision == 4 && hb.flows.is_empty())
        })
        .await,
        "flow removed"
    );

    harness.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), harness.worker)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_epoch_makes_the_worker_register_again() {
    let harness = start_worker().await;
    let state = Arc::clone(&harness.state);
    assert!(
        wait_for(Duration::from_secs(10), || !state
            .heartbeats
            .lock()
            .unwrap()
            .is_empty())
        .await
    );
    assert_eq!(state.registrations.load(Ordering::SeqCst), 1);

    state.refuse_next_heartbeat.store(true, Ordering::SeqCst);
    assert!(
        wait_for(Duration::from_secs(10), || state
            .registrations
            .load(Ordering::SeqCst)
            == 2)
        .await,
        "registered again after FAILED_PRECONDITION"
    );
    let epoch = state.epoch.load(Ordering::SeqCst);
    let before = state.heartbeats.lock().unwrap().len();
    assert!(
        wait_for(Duration::from_secs(10), || {
            let heartbeats = state.heartbeats.lock().unwrap();
            heartbeats.len() > before && heartbeats.last().is_some_and(|hb| hb.epoch == epoch)
        })
        .await,
        "heartbeats resume with the new epoch"
    );
    harness.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), harness.worker)
        .await
        .unwrap()
        .unwrap();
}
