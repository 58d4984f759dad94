//! The `workers` table as the gRPC service writes it: registrations (epochs), lease renewals and
//! the epoch fence. Everything is checked against PostgreSQL, not process memory, so a worker can
//! talk to any control-plane replica.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use super::error::WorkerCallError;
use crate::metrics::{ReportedConnector, ReportedFlow, ReportedMetrics};

/// What `Register` hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub worker_id: String,
    pub epoch: u64,
}

/// What the worker self-describes at registration.
#[derive(Debug, Clone)]
pub struct WorkerIdentity<'a> {
    pub name: &'a str,
    pub admin_address: &'a str,
    pub version: &'a str,
}

/// The reports of one heartbeat, already converted from the proto.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatReport {
    pub applied_revision: u64,
    pub flows: Vec<ReportedFlow>,
    pub connectors: Vec<ReportedConnector>,
    pub metrics: Vec<ReportedMetrics>,
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

/// Fails unless `epoch` is the worker's current epoch.
pub async fn ensure_current(
    pool: &PgPool,
    worker_id: &str,
    epoch: u64,
) -> Result<(), WorkerCallError> {
    let current: Option<i64> = sqlx::query_scalar("SELECT epoch FROM workers WHERE id = $1")
        .bind(worker_id)
        .fetch_optional(pool)
        .await?;
    match current {
        None => Err(WorkerCallError::UnknownWorker(worker_id.to_owned())),
        Some(current) if i64::try_from(epoch).ok() == Some(current) => Ok(()),
        Some(current) => Err(WorkerCallError::StaleEpoch {
            worker_id: worker_id.to_owned(),
            presented: epoch,
            current,
        }),
    }
}

/// Renews the lease and stores the reports, in one statement guarded by the epoch so a stale
/// incarnation can never overwrite the current one's state.
pub async fn record_heartbeat(
    pool: &PgPool,
    worker_id: &str,
    epoch: u64,
    lease_ttl: Duration,
    report: HeartbeatReport,
) -> Result<(), WorkerCallError> {
    let Ok(epoch_column) = i64::try_from(epoch) else {
        return ensure_current(pool, worker_id, epoch).await;
    };
    let updated = sqlx::query(
        "UPDATE workers SET \
             last_heartbeat = now(), \
             lease_expires_at = now() + $3 * interval '1 millisecond', \
             applied_revision = $4, flows = $5, connectors = $6, metrics = $7 \
         WHERE id = $1 AND epoch = $2",
    )
    .bind(worker_id)
    .bind(epoch_column)
    .bind(millis(lease_ttl))
    .bind(i64::try_from(report.applied_revision).unwrap_or(i64::MAX))
    .bind(Json(report.flows))
    .bind(Json(report.connectors))
    .bind(Json(report.metrics))
    .execute(pool)
    .await?;
    if updated.rows_affected() == 1 {
        Ok(())
    } else {
        // Nothing was written; find out why for the worker.
        ensure_current(pool, worker_id, epoch).await
    }
}

/// Resources reset at a revision the worker has not applied yet: its counters for them are still
/// the pre-reset totals.
pub async fn resets_pending_for(
    pool: &PgPool,
    applied_revision: u64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT resource_id FROM metric_resets WHERE revision > $1")
        .bind(i64::try_from(applied_revision).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await
}

/// Deletes workers whose lease lapsed more than `down_for` ago; returns how many.
pub async fn forget_down_workers(pool: &PgPool, down_for: Duration) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query(
        "DELETE FROM workers WHERE lease_expires_at < now() - $1 * interval '1 millisecond'",
    )
    .bind(millis(down_for))
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected())
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
