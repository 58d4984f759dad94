//! The control plane's own health checks of enabled connectors that no live worker reports, so a
//! connector shows `connected`, or `disconnected` with the reason, as soon as it is created, as
//! EMQX's do, whether or not a rule uses it yet. Workers report the connectors they run; a
//! connector no flow uses yet has no worker to ask.
//!
//! The checks use the connection probes of `POST /connectors_probe` (the workers' own client
//! settings). Results live in memory only: each control-plane replica checks on its own and may
//! for a moment show another result than its peers. That is fine: a check is cheap, and the
//! connector's status only says whether it can connect now.

mod checker;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

pub use checker::HealthChecks;
pub use sweep::run;

use crate::api::connector_config::ConnectorConfig;
use crate::probe::{self, ProbeFailure};

/// The latest health check of one connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Enabled, and the first check since it was created or changed has not finished.
    Checking,
    Connected,
    /// Why the check failed, in words a user can act on.
    Disconnected(String),
}

/// Connects once, within the connector's own connect timeout. The probes' futures are not `Send`
/// for every lifetime (rustc cannot prove it through their borrowed iterators), so the probe is
/// driven on a blocking thread of the same runtime; at most `MAX_CONCURRENT_PROBES` at once.
async fn check(config: Arc<ConnectorConfig>) -> Health {
    let runtime = Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(probe_once(&config)))
        .await
        .unwrap_or_else(|error| {
            Health::Disconnected(format!("the health check stopped unexpectedly: {error}"))
        })
}

async fn probe_once(config: &ConnectorConfig) -> Health {
    let outcome: Result<(), ProbeFailure> = match config {
        ConnectorConfig::Kafka(kafka) => probe::kafka::probe(kafka, &[]).await,
        ConnectorConfig::Mqtt(mqtt) => probe::mqtt::probe(mqtt).await,
    };
    match outcome {
        Ok(()) => Health::Connected,
        Err(failure) => Health::Disconnected(failure.0),
    }
}

/// `resource_opts.health_check_interval` (15 s by default).
fn interval(config: &ConnectorConfig) -> Duration {
    match config {
        ConnectorConfig::Kafka(kafka) => kafka.resource_opts.health_check_interval.0,
        ConnectorConfig::Mqtt(mqtt) => mqtt.resource_opts.health_check_interval.0,
    }
}

/// `resource_opts.start_timeout` (5 s by default): how long `start` waits for the outcome.
pub fn start_timeout(config: &ConnectorConfig) -> Duration {
    match config {
        ConnectorConfig::Kafka(kafka) => kafka.resource_opts.start_timeout.0,
        ConnectorConfig::Mqtt(mqtt) => mqtt.resource_opts.start_timeout.0,
    }
}
