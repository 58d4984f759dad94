//! The `workers` table: registrations (epochs), lease renewals with the latest reports, and
//! reads for the REST API. Everything is checked against PostgreSQL, not process memory, so a
//! worker can talk to any control-plane replica; the epoch fence built on it is
//! `grpc/registry.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::worker_reports::{ReportedConnector, ReportedFlow, ReportedMetrics};

/// What the worker self-describes at registration.
#[derive(Debug, Clone)]
pub struct WorkerIdentity<'a> {
    pub name: &'a str,
    pub admin_address: &'a str,
    pub version: &'a str,
}

/// What `Register` hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub worker_id: String,
    pub epoch: u64,
}

/// The reports of one heartbeat, already converted from the proto.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatReport {
    pub applied_revision: u64,
    pub flows: Vec<ReportedFlow>,
    pub connectors: Vec<ReportedConnector>,
    pub metrics: Vec<ReportedMetrics>,
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

/// Upserts the worker by name: the id is kept across re-registrations, the epoch grows by one
/// (fencing off the previous incarnation) and the previous incarnation's reports are dropped.
pub async fn register(
    pool: &PgPool,
    identity: &WorkerIdentity<'_>,
    lease_ttl: Duration,
) -> Result<Registration, sqlx::Error> {
    let (worker_id, epoch): (String, i64) = sqlx::query_as(
        "INSERT INTO workers (id, name, epoch, admin_address, version, lease_expires_at) \
         VALUES ($1, $2, 1, $3, $4, now() + $5 * interval '1 millisecond') \
         ON CONFLICT (name) DO UPDATE SET \
             epoch = workers.epoch + 1, \
             admin_address = EXCLUDED.admin_address, \
             version = EXCLUDED.version, \
             registered_at = now(), \
             last_heartbeat = now(), \
             lease_expires_at = EXCLUDED.lease_expires_at, \
             applied_revision = 0, \
             flows = '[]', connectors = '[]', metrics = '[]' \
         RETURNING id, epoch",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(identity.name)
    .bind(identity.admin_address)
    .bind(identity.version)
    .bind(millis(lease_ttl))
    .fetch_one(pool)
    .await?;
    Ok(Registration {
        worker_id,
        epoch: u64::try_from(epoch).unwrap_or(0),
    })
}

/// The worker's current epoch, `None` when no such worker is registered.
pub async fn epoch(pool: &PgPool, worker_id: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT epoch FROM workers WHERE id = $1")
        .bind(worker_id)
        .fetch_optional(pool)
        .await
}

/// Renews the lease and stores the reports, in one statement guarded by the epoch so a stale
/// incarnation can never overwrite the current one's state. `false` when nothing was written
/// (unknown worker or another epoch).
pub async fn renew_lease(
    pool: &PgPool,
    worker_id: &str,
    epoch: i64,
    lease_ttl: Duration,
    report: HeartbeatReport,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE workers SET \
             last_heartbeat = now(), \
             lease_expires_at = now() + $3 * interval '1 millisecond', \
             applied_revision = $4, flows = $5, connectors = $6, metrics = $7 \
         WHERE id = $1 AND epoch = $2",
    )
    .bind(worker_id)
    .bind(epoch)
    .bind(millis(lease_ttl))
    .bind(i64::try_from(report.applied_revision).unwrap_or(i64::MAX))
    .bind(Json(report.flows))
    .bind(Json(report.connectors))
    .bind(Json(report.metrics))
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Deletes workers whose lease lapsed more than `down_for` ago; returns how many.
pub async fn forget_down(pool: &PgPool, down_for: Duration) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query(
        "DELETE FROM workers WHERE lease_expires_at < now() - $1 * interval '1 millisecond'",
    )
    .bind(millis(down_for))
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected())
}

const SELECT_WORKERS: &str = "SELECT id, name, epoch, admin_address, version, registered_at, \
     last_heartbeat, lease_expires_at, applied_revision, lease_expires_at > now() AS live, \
     flows, connectors, metrics FROM workers";

/// Every registered worker, live or down, by name.
pub async fn all(pool: &PgPool) -> Result<Vec<WorkerRecord>, sqlx::Error> {
    sqlx::query_as::<_, WorkerRecord>(&format!("{SELECT_WORKERS} ORDER BY name"))
        .fetch_all(pool)
        .await
}

/// Workers whose lease is valid: the only ones whose reports count.
pub async fn live(pool: &PgPool) -> Result<Vec<WorkerRecord>, sqlx::Error> {
    sqlx::query_as::<_, WorkerRecord>(&format!(
        "{SELECT_WORKERS} WHERE lease_expires_at > now() ORDER BY name"
    ))
    .fetch_all(pool)
    .await
}

/// How many workers hold a valid lease.
pub async fn live_count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM workers WHERE lease_expires_at > now()")
        .fetch_one(pool)
        .await
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
