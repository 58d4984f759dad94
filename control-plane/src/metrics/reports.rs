//! What workers report in heartbeats, as stored in the `workers` table (JSONB columns) and read
//! back for the REST API. The gRPC service writes these; everything else only reads them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::types::Json;

/// One flow's state on one worker (`FlowStatus` in the proto).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportedFlow {
    /// `rule:<id>` or `source:kafka_consumer:<name>`.
    pub flow_id: String,
    pub version: String,
    /// `running`, `starting` or `failed`.
    pub status: String,
    #[serde(default)]
    pub reason: String,
}

/// One connector's state on one worker (`ConnectorStatus` in the proto).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportedConnector {
    /// `<type>:<name>`, e.g. `kafka_producer:my_kafka`.
    pub connector_id: String,
    /// `connected`, `connecting` or `disconnected`.
    pub status: String,
    #[serde(default)]
    pub reason: String,
}

/// One resource's counters and gauges on one worker (`ResourceMetrics` in the proto).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportedMetrics {
    pub resource_id: String,
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    #[serde(default)]
    pub gauges: BTreeMap<String, f64>,
}

/// A registered worker and its latest heartbeat.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkerRecord {
    pub id: String,
    pub name: String,
    pub epoch: i64,
    pub admin_address: String,
    pub version: String,
    pub registered_at: DateTime<Utc>,
    pub last_heartbeat: DateTime<Utc>,
    pub lease_expires_at: DateTime<Utc>,
    pub applied_revision: i64,
    /// Whether its lease was still valid when read (computed by the database clock, so every
    /// replica agrees).
    pub live: bool,
    pub flows: Json<Vec<ReportedFlow>>,
    pub connectors: Json<Vec<ReportedConnector>>,
    pub metrics: Json<Vec<ReportedMetrics>>,
}

const SELECT_WORKERS: &str = "SELECT id, name, epoch, admin_address, version, registered_at, \
     last_heartbeat, lease_expires_at, applied_revision, lease_expires_at > now() AS live, \
     flows, connectors, metrics FROM workers";

/// Every registered worker, live or down, by name.
pub async fn all_workers(pool: &PgPool) -> Result<Vec<WorkerRecord>, sqlx::Error> {
    sqlx::query_as::<_, WorkerRecord>(&format!("{SELECT_WORKERS} ORDER BY name"))
        .fetch_all(pool)
        .await
}

/// Workers whose lease is valid: the only ones whose reports count.
pub async fn live_workers(pool: &PgPool) -> Result<Vec<WorkerRecord>, sqlx::Error> {
    sqlx::query_as::<_, WorkerRecord>(&format!(
        "{SELECT_WORKERS} WHERE lease_expires_at > now() ORDER BY name"
    ))
    .fetch_all(pool)
    .await
}

/// How many workers hold a valid lease.
pub async fn live_worker_count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM workers WHERE lease_expires_at > now()")
        .fetch_one(pool)
        .await
}
