//! The `WorkerService` implementation: thin handlers over the registry, the snapshot cache and the
//! watch loop.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tributary_protocol::worker::v1::worker_service_server::WorkerService;
use tributary_protocol::worker::v1::{
    Assignment, HeartbeatRequest, HeartbeatResponse, RegisterRequest, RegisterResponse,
    WatchRequest,
};

use super::LeaseSettings;
use super::error::WorkerCallError;
use super::heartbeat::to_report;
use super::registry;
use super::revisions::ConfigRevisions;
use super::snapshots::SnapshotCache;
use super::watch;
use crate::store::metric_resets;
use crate::store::workers::{self, WorkerIdentity};

/// Longest accepted worker name; names end up in MQTT client ids and logs.
const MAX_NAME_LEN: usize = 200;

/// What every call and every watch stream of one server shares.
#[derive(Debug)]
pub struct Shared {
    pub pool: PgPool,
    pub lease: LeaseSettings,
    pub revisions: ConfigRevisions,
    pub snapshots: SnapshotCache,
    pub shutdown: CancellationToken,
}

#[derive(Debug, Clone)]
pub struct WorkerServiceImpl {
    shared: Arc<Shared>,
}

impl WorkerServiceImpl {
    pub fn new(shared: Shared) -> Self {
        Self {
            shared: Arc::new(shared),
        }
    }
}

#[tonic::async_trait]
impl WorkerService for WorkerServiceImpl {
    async fn register(
        &self,
        request: Request<RegisterRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        let request = request.into_inner();
        let name = request.name.trim();
        if name.is_empty() || name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
            return Err(WorkerCallError::InvalidArgument(format!(
                "worker name must be 1 to {MAX_NAME_LEN} printable characters"
            ))
            .into());
        }
        let identity = WorkerIdentity {
            name,
            admin_address: &request.admin_address,
            version: &request.version,
        };
        let registration = workers::register(&self.shared.pool, &identity, self.shared.lease.ttl)
            .await
            .map_err(WorkerCallError::from)?;
        tracing::info!(
            worker = name,
            worker_id = %registration.worker_id,
            epoch = registration.epoch,
            admin_address = %request.admin_address,
            version = %request.version,
            "worker registered"
        );
        Ok(Response::new(RegisterResponse {
            worker_id: registration.worker_id,
            epoch: registration.epoch,
            lease_ttl_ms: self.shared.lease.ttl_ms(),
            heartbeat_interval_ms: self.shared.lease.heartbeat_interval_ms(),
        }))
    }

    type WatchAssignmentsStream = ReceiverStream<Result<Assignment, Status>>;

    async fn watch_assignments(
        &self,
        request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchAssignmentsStream>, Status> {
        let WatchRequest { worker_id, epoch } = request.into_inner();
        registry::ensure_current(&self.shared.pool, &worker_id, epoch).await?;
        // Snapshots are large and a slow worker only needs the latest: a short queue is enough.
        let (sender, receiver) = mpsc::channel(2);
        tokio::spawn(watch::run(
            Arc::clone(&self.shared),
            worker_id,
            epoch,
            sender,
        ));
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let request = request.into_inner();
        let worker_id = request.worker_id.clone();
        let epoch = request.epoch;
        let pending = metric_resets::pending_after(&self.shared.pool, request.applied_revision)
            .await
            .map_err(WorkerCallError::from)?;
        let report = to_report(request, &pending);
        registry::record_heartbeat(
            &self.shared.pool,
            &worker_id,
            epoch,
            self.shared.lease.ttl,
            report,
        )
        .await?;
        Ok(Response::new(HeartbeatResponse {
            lease_ttl_ms: self.shared.lease.ttl_ms(),
        }))
    }
}
