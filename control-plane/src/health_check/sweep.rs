//! Every second: checks each enabled connector no live worker reports whose last check is older
//! than its `health_check_interval`, and forgets the ones that were disabled, deleted, or are now
//! run by a worker (whose report is then the status).

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tributary_protocol::resources::ConnectorType;

use super::HealthChecks;
use crate::api::connector_config::ConnectorConfig;
use crate::store::connectors;
use crate::store::workers;

/// How often the stored connectors are compared with the results; each connector's own interval
/// decides when it is probed again.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Runs until `shutdown`.
pub async fn run(checks: HealthChecks, pool: PgPool, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = sweep(&checks, &pool).await {
            tracing::warn!(%error, "connector health checks: reading connectors failed");
        }
    }
}

async fn sweep(checks: &HealthChecks, pool: &PgPool) -> Result<(), sqlx::Error> {
    let reported: HashSet<String> = workers::live(pool)
        .await?
        .into_iter()
        .flat_map(|worker| worker.connectors.0.into_iter().map(|c| c.connector_id))
        .collect();
    let mut checked = HashSet::new();
    for row in connectors::list(pool).await? {
        let id = format!("{}:{}", row.kind, row.name);
        // Not started (resource_opts.start_after_created false): stopped, as EMQX leaves it.
        if !row.enable || !row.started || reported.contains(&id) {
            continue;
        }
        let Ok(kind) = serde_json::from_value::<ConnectorType>(Value::String(row.kind.clone()))
        else {
            continue;
        };
        match ConnectorConfig::from_stored(kind, &row.config.0) {
            Ok(config) => checks.check_if_due(&id, config),
            // The decoding error may quote stored values (secrets among them): not logged.
            Err(_) => tracing::warn!(connector = %id, "stored connector does not decode"),
        }
        checked.insert(id);
    }
    checks.retain(|id| checked.contains(id));
    Ok(())
}
