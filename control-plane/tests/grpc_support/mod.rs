//! A real worker gRPC server on an ephemeral port and a real tonic client, for the `grpc_*` and
//! `workers_*` tests. Each test gets its own database from `#[sqlx::test]` (DATABASE_URL from
//! `.test-stack/env`).
#![allow(dead_code)]
// each test binary uses a different part
// Test helpers: a failed setup step should fail the test loudly, like in the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status, Streaming};
use tributary_control_plane::grpc::{GrpcConfig, LeaseSettings, serve_on};
use tributary_protocol::assignment::FlowSpec;
use tributary_protocol::worker::v1::worker_service_client::WorkerServiceClient;
use tributary_protocol::worker::v1::{
    Assignment, HeartbeatRequest, RegisterRequest, RegisterResponse, WatchRequest,
};

pub const TOKEN: &str = "test-worker-token";

/// One control-plane replica's gRPC server; stopped when dropped.
pub struct Replica {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn start_replica(pool: PgPool, lease: LeaseSettings) -> Replica {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let config = GrpcConfig {
        worker_token: TOKEN.to_owned(),
        lease,
    };
    tokio::spawn(serve_on(listener, pool, config, shutdown.clone()));
    Replica { addr, shutdown }
}

/// Adds `authorization: Bearer <token>` to every call, as workers do.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type Client = WorkerServiceClient<InterceptedService<Channel, Bearer>>;

pub async fn client_with(addr: SocketAddr, token: Option<&str>) -> Client {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let bearer = Bearer(token.map(|token| format!("Bearer {token}").parse().unwrap()));
    WorkerServiceClient::with_interceptor(channel, bearer)
}

pub async fn client(addr: SocketAddr) -> Client {
    client_with(addr, Some(TOKEN)).await
}

pub async fn register(client: &mut Client, name: &str) -> RegisterResponse {
    client
        .register(RegisterRequest {
            name: name.to_owned(),
            admin_address: format!("127.0.0.1:1{}", name.len()),
            version: "0.1.0-test".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
}

pub async fn watch(client: &mut Client, worker: &RegisterResponse) -> Streaming<Assignment> {
    client
        .watch_assignments(WatchRequest {
            worker_id: worker.worker_id.clone(),
            epoch: worker.epoch,
        })
        .await
        .unwrap()
        .into_inner()
}

/// The next assignment, failing the test if none arrives within `within`.
pub async fn next_assignment(stream: &mut Streaming<Assignment>, within: Duration) -> Assignment {
    tokio::time::timeout(within, stream.message())
        .await
        .unwrap_or_else(|_| panic!("no assignment within {within:?}"))
        .unwrap()
        .expect("stream ended")
}

pub fn heartbeat(worker: &RegisterResponse) -> HeartbeatRequest {
    HeartbeatRequest {
        worker_id: worker.worker_id.clone(),
        epoch: worker.epoch,
        ..Default::default()
    }
}

pub fn flow_version(assignment: &Assignment, flow_id: &str) -> Option<String> {
    assignment
        .flows
        .iter()
        .find(|flow| flow.id == flow_id)
        .map(|flow| flow.version.clone())
}

pub fn flow_spec(assignment: &Assignment, flow_id: &str) -> FlowSpec {
    let flow = assignment
        .flows
        .iter()
        .find(|flow| flow.id == flow_id)
        .unwrap_or_else(|| panic!("no flow {flow_id} in revision {}", assignment.revision));
    serde_json::from_str(&flow.spec_json).unwrap()
}

/// The `default` MQTT connector and a producer connector with one action, as the REST API would
/// store them.
pub async fn seed_connectors(pool: &PgPool) {
    sqlx::query(
        "INSERT INTO connectors (type, name, config) VALUES \
         ('mqtt', 'default', '{\"server\": \"127.0.0.1:1883\"}'), \
         ('kafka_producer', 'pc', '{\"bootstrap_hosts\": \"127.0.0.1:9092\"}')",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO actions (type, name, connector, parameters) \
         VALUES ('kafka_producer', 'sink', 'pc', '{\"topic\": \"out\"}')",
    )
    .execute(pool)
    .await
    .unwrap();
}

pub async fn insert_rule(pool: &PgPool, id: &str, sql: &str) {
    sqlx::query(
        "INSERT INTO rules (id, sql, actions) VALUES ($1, $2, '[\"kafka_producer:sink\"]')",
    )
    .bind(id)
    .bind(sql)
    .execute(pool)
    .await
    .unwrap();
}
