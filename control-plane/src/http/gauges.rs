//! The control plane's own Prometheus gauges: live workers and the configuration revision.
//! Both live in PostgreSQL (shared by replicas), so they are refreshed by polling rather than
//! tracked in memory.

use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::store::{revision, workers};

const REFRESH_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Default)]
pub struct ControlPlaneGauges {
    live_workers: Gauge,
    config_revision: Gauge,
}

impl ControlPlaneGauges {
    pub fn register(registry: &mut Registry) -> Self {
        let gauges = Self::default();
        registry.register(
            "tributary_live_workers",
            "Workers holding a valid lease",
            gauges.live_workers.clone(),
        );
        registry.register(
            "tributary_config_revision",
            "The global configuration revision in PostgreSQL",
            gauges.config_revision.clone(),
        );
        gauges
    }

    pub async fn refresh(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let live = workers::live_count(pool).await?;
        let revision = revision::current(pool).await?;
        self.live_workers.set(live);
        self.config_revision.set(revision);
        Ok(())
    }

    /// Refreshes the gauges every two seconds until `shutdown`.
    pub async fn run(self, pool: PgPool, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(REFRESH_INTERVAL);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticker.tick() => {
                    if let Err(err) = self.refresh(&pool).await {
                        tracing::warn!(error = %err, "refreshing control-plane gauges failed");
                    }
                }
            }
        }
    }
}
