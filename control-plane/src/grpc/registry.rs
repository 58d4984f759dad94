//! The epoch fence: a worker's calls count only under its current epoch, so an incarnation that
//! was replaced (re-registered elsewhere, or declared down) can neither read assignments nor
//! overwrite the current one's reports. The rows are `store/workers.rs`.

use std::time::Duration;

use sqlx::PgPool;

use super::error::WorkerCallError;
use crate::store::workers::{self, HeartbeatReport};

/// Fails unless `epoch` is the worker's current epoch.
pub async fn ensure_current(
    pool: &PgPool,
    worker_id: &str,
    epoch: u64,
) -> Result<(), WorkerCallError> {
    match workers::epoch(pool, worker_id).await? {
        None => Err(WorkerCallError::UnknownWorker(worker_id.to_owned())),
        Some(current) if i64::try_from(epoch).ok() == Some(current) => Ok(()),
        Some(current) => Err(WorkerCallError::StaleEpoch {
            worker_id: worker_id.to_owned(),
            presented: epoch,
            current,
        }),
    }
}

/// Renews the lease and stores the reports when `epoch` is current; otherwise says why not.
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
    if workers::renew_lease(pool, worker_id, epoch_column, lease_ttl, report).await? {
        Ok(())
    } else {
        // Nothing was written; find out why for the worker.
        ensure_current(pool, worker_id, epoch).await
    }
}
