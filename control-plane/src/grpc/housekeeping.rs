//! Forgets workers that have been down for a long time, so `GET /workers` lists the fleet that
//! exists rather than every host that ever ran a worker. Safe on every replica at once: the delete
//! is idempotent.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::store::workers;

const DOWN_FOR_BEFORE_FORGOTTEN: Duration = Duration::from_secs(3600);
const SWEEP_INTERVAL: Duration = Duration::from_secs(300);

pub async fn run(pool: PgPool, shutdown: CancellationToken) {
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = sweep.tick() => match workers::forget_down(&pool, DOWN_FOR_BEFORE_FORGOTTEN).await {
                Ok(0) => {}
                Ok(forgotten) => tracing::info!(forgotten, "forgot workers down for over an hour"),
                Err(err) => tracing::warn!(error = %err, "sweeping down workers failed"),
            },
        }
    }
}
