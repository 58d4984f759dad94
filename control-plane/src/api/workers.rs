//! `GET /workers`: the data plane as the control plane sees it.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::workers::{self, WorkerRecord};
use crate::worker_reports::{ReportedConnector, ReportedFlow};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkerStatus {
    /// Its lease is valid.
    Up,
    /// Its lease lapsed: it stopped heartbeating and has stopped its flows by itself.
    Down,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerView {
    pub id: String,
    pub name: String,
    pub admin_address: String,
    pub version: String,
    /// Grows at each registration under the same name.
    pub epoch: i64,
    pub status: WorkerStatus,
    pub registered_at: DateTime<Utc>,
    pub last_heartbeat: DateTime<Utc>,
    pub lease_expires_at: DateTime<Utc>,
    /// The configuration revision of the last assignment the worker applied.
    pub applied_revision: i64,
    pub flows: Vec<ReportedFlow>,
    pub connectors: Vec<ReportedConnector>,
}

impl From<WorkerRecord> for WorkerView {
    fn from(record: WorkerRecord) -> Self {
        Self {
            status: if record.live {
                WorkerStatus::Up
            } else {
                WorkerStatus::Down
            },
            id: record.id,
            name: record.name,
            admin_address: record.admin_address,
            version: record.version,
            epoch: record.epoch,
            registered_at: record.registered_at,
            last_heartbeat: record.last_heartbeat,
            lease_expires_at: record.lease_expires_at,
            applied_revision: record.applied_revision,
            flows: record.flows.0,
            connectors: record.connectors.0,
        }
    }
}

/// Every registered worker (down ones are forgotten after an hour), by name.
#[utoipa::path(
    tag = "workers",
    responses((status = 200, body = [WorkerView]), (status = 500, body = ErrorBody))
)]
#[get("/workers")]
async fn list(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let workers: Vec<WorkerView> = workers::all(&state.pool)
        .await?
        .into_iter()
        .map(WorkerView::from)
        .collect();
    Ok(HttpResponse::Ok().json(workers))
}
