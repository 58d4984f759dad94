//! EMQX's `start` of a connector, which starting one of its actions or sources also does (EMQX
//! starts the action's connector, then checks it). EMQX restarts a connector that is stopped or
//! disconnected and leaves a connected or connecting one alone, then waits up to its
//! `resource_opts.start_timeout` for it to connect and answers with the outcome.
//!
//! Tributary's connectors run on every worker: a restart bumps the connector's `starts`, which
//! the flows on it carry, so workers give those flows new clients (reconnecting at once instead
//! of at their next backoff); a connector waiting for its first start
//! (`resource_opts.start_after_created` false) starts running. Then the control plane
//! health-checks it at once and waits for that outcome.

use tributary_protocol::resources::ConnectorType;

use super::connector_config::ConnectorConfig;
use super::relations::Relations;
use crate::error::{ApiError, ApiResult};
use crate::health_check::{self, Health};
use crate::state::AppState;
use crate::store::connectors;
use crate::store::workers;
use crate::worker_reports::ResourceStatus;

/// EMQX's answer when a connector neither connected nor failed within its start timeout.
const TIMED_OUT: &str =
    "Timeout while waiting for connector to reach connected status. Please try again.";

/// Starts the connector `<kind>:<name>`. `node` (a worker's name, from `/nodes/{node}/...`)
/// must be a live worker; its own report of the connector decides whether to restart.
pub async fn start(
    state: &AppState,
    kind: ConnectorType,
    name: &str,
    node: Option<&str>,
) -> ApiResult<()> {
    let id = format!("{}:{name}", kind.as_str());
    if let Some(node) = node {
        check_node(state, node).await?;
    }
    let row = connectors::get(&state.pool, kind.as_str(), name)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            kind: "connector",
            id: id.clone(),
        })?;
    if !row.enable {
        return Err(ApiError::NotEnabled { what: "connector" });
    }
    let config = ConnectorConfig::from_stored(kind, &row.config.0)?;
    let status = Relations::load(state).await?.connector_status(&id, true);
    let seen = node
        .and_then(|node| status.node_status.iter().find(|n| n.node == node))
        .map_or(status.status, |on_node| on_node.status);
    if !row.started || !matches!(seen, ResourceStatus::Connected | ResourceStatus::Connecting) {
        connectors::restart(&state.pool, kind.as_str(), name).await?;
        tracing::info!(connector = %id, was = ?seen, "connector restarted by start");
    }
    let within = health_check::start_timeout(&config);
    match state.health.probe_now(&id, config, within).await {
        Some(Health::Connected) => Ok(()),
        Some(Health::Disconnected(reason)) => Err(ApiError::StartFailed { id, reason }),
        Some(Health::Checking) | None => Err(ApiError::StartFailed {
            id,
            reason: TIMED_OUT.to_owned(),
        }),
    }
}

/// `node` names a live worker (EMQX's nodes are Tributary's workers).
pub async fn check_node(state: &AppState, node: &str) -> ApiResult<()> {
    let workers = workers::live(&state.pool).await?;
    if workers.iter().any(|worker| worker.name == node) {
        Ok(())
    } else {
        Err(ApiError::NodeNotFound {
            node: node.to_owned(),
        })
    }
}
