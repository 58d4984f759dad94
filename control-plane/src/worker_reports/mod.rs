//! What workers report, aggregated for the REST API: per-resource metrics summed over live
//! workers and connector status across workers.
//!
//! Only workers holding a valid lease count: a worker that stopped heartbeating is down, and its
//! last report is history, not current state.

mod aggregate;
mod reports;
mod status;

use sqlx::PgPool;

use crate::store::bridges::{self, BridgeRow, BridgeTable};
use crate::store::workers;

pub use aggregate::{MetricsView, NodeMetrics, ResourceKind, aggregate_metrics};
pub use reports::{ReportedConnector, ReportedFlow, ReportedMetrics};
pub use status::{NodeStatus, ResourceStatus, StatusView, aggregate_status};

/// `GET /rules/{id}/metrics`.
pub async fn rule_metrics(pool: &PgPool, rule_id: &str) -> Result<MetricsView, sqlx::Error> {
    resource_metrics(pool, ResourceKind::Rule, &format!("rule:{rule_id}")).await
}

/// `GET /actions/{id}/metrics`; `action_id` is `<type>:<name>`.
pub async fn action_metrics(pool: &PgPool, action_id: &str) -> Result<MetricsView, sqlx::Error> {
    resource_metrics(pool, ResourceKind::Action, &format!("action:{action_id}")).await
}

/// `GET /sources/{id}/metrics`; `source_id` is `<type>:<name>`.
pub async fn source_metrics(pool: &PgPool, source_id: &str) -> Result<MetricsView, sqlx::Error> {
    resource_metrics(pool, ResourceKind::Source, &format!("source:{source_id}")).await
}

async fn resource_metrics(
    pool: &PgPool,
    kind: ResourceKind,
    resource_id: &str,
) -> Result<MetricsView, sqlx::Error> {
    let workers = workers::live(pool).await?;
    Ok(aggregate_metrics(kind, resource_id, &workers))
}

/// A connector's status across live workers only (`disconnected` when none runs it, whatever the
/// control plane's health checks say); `connector_id` is `<type>:<name>`.
pub async fn connector_status(
    pool: &PgPool,
    connector_id: &str,
) -> Result<StatusView, sqlx::Error> {
    let workers = workers::live(pool).await?;
    Ok(aggregate_status(connector_id, &workers, None))
}

/// An action's status is its connector's (`kafka_producer:<connector>`). `None` when the action
/// does not exist; `action_id` is `<type>:<name>`.
pub async fn action_status(
    pool: &PgPool,
    action_id: &str,
) -> Result<Option<StatusView>, sqlx::Error> {
    dependent_status(pool, BridgeTable::Actions, action_id).await
}

/// A source's status is its connector's (`kafka_consumer:<connector>`). `None` when the source
/// does not exist; `source_id` is `<type>:<name>`.
pub async fn source_status(
    pool: &PgPool,
    source_id: &str,
) -> Result<Option<StatusView>, sqlx::Error> {
    dependent_status(pool, BridgeTable::Sources, source_id).await
}

async fn dependent_status(
    pool: &PgPool,
    table: BridgeTable,
    id: &str,
) -> Result<Option<StatusView>, sqlx::Error> {
    let Some((kind, name)) = id.split_once(':') else {
        return Ok(None);
    };
    match bridges::get(pool, table, kind, name).await? {
        Some(BridgeRow { connector, .. }) => connector_status(pool, &format!("{kind}:{connector}"))
            .await
            .map(Some),
        None => Ok(None),
    }
}
