//! A connector's status across workers, in EMQX's shape: one overall `status` with a
//! `status_reason`, and `node_status[]` per worker.

use serde::Serialize;

use crate::health_check::Health;
use crate::store::workers::WorkerRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    Connected,
    Connecting,
    Disconnected,
    /// Workers disagree.
    Inconsistent,
    /// Disabled (or on a disabled connector): no worker runs it, by choice.
    Stopped,
}

impl ResourceStatus {
    /// Reads a worker's report; anything unexpected counts as disconnected, the safe reading.
    fn from_report(status: &str) -> Self {
        match status {
            "connected" => Self::Connected,
            "connecting" => Self::Connecting,
            _ => Self::Disconnected,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatusView {
    pub status: ResourceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub node_status: Vec<NodeStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NodeStatus {
    /// The worker's name.
    pub node: String,
    pub status: ResourceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

impl StatusView {
    /// What a disabled resource shows, as EMQX shows a stopped one.
    pub fn stopped() -> Self {
        Self {
            status: ResourceStatus::Stopped,
            status_reason: None,
            node_status: Vec::new(),
        }
    }
}

/// Aggregates what live `workers` report about `connector_id` (`<type>:<name>`): the common status
/// when they agree, `inconsistent` when they do not. When no worker runs it, the control plane's
/// own health check (`checked`) says: `connected`, `disconnected` with the probe's reason, or
/// `connecting` until the first check ends; without one, `disconnected`.
pub fn aggregate_status(
    connector_id: &str,
    workers: &[WorkerRecord],
    checked: Option<&Health>,
) -> StatusView {
    let node_status: Vec<NodeStatus> = workers
        .iter()
        .filter_map(|worker| {
            let report = worker
                .connectors
                .iter()
                .find(|c| c.connector_id == connector_id)?;
            Some(NodeStatus {
                node: worker.name.clone(),
                status: ResourceStatus::from_report(&report.status),
                status_reason: non_empty(&report.reason),
            })
        })
        .collect();

    let Some(first) = node_status.first() else {
        let (status, status_reason) = match checked {
            Some(Health::Connected) => (ResourceStatus::Connected, None),
            Some(Health::Checking) => (ResourceStatus::Connecting, None),
            Some(Health::Disconnected(reason)) => {
                (ResourceStatus::Disconnected, Some(reason.clone()))
            }
            None => (
                ResourceStatus::Disconnected,
                Some("no live worker runs it".to_owned()),
            ),
        };
        return StatusView {
            status,
            status_reason,
            node_status,
        };
    };
    let (status, status_reason) = if node_status.iter().all(|n| n.status == first.status) {
        let reason = node_status.iter().find_map(|n| n.status_reason.clone());
        (first.status, reason)
    } else {
        let summary = node_status
            .iter()
            .map(|n| match &n.status_reason {
                Some(reason) => format!("{}: {} ({reason})", n.node, status_name(n.status)),
                None => format!("{}: {}", n.node, status_name(n.status)),
            })
            .collect::<Vec<_>>()
            .join("; ");
        (ResourceStatus::Inconsistent, Some(summary))
    };
    StatusView {
        status,
        status_reason,
        node_status,
    }
}

fn status_name(status: ResourceStatus) -> &'static str {
    match status {
        ResourceStatus::Connected => "connected",
        ResourceStatus::Connecting => "connecting",
        ResourceStatus::Disconnected => "disconnected",
        ResourceStatus::Inconsistent => "inconsistent",
        ResourceStatus::Stopped => "stopped",
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}
