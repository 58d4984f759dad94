//! What a heartbeat reports: applied revision, flow and connector status, metric snapshots.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tributary_protocol::worker::v1::{
    ConnectorStatus, FlowStatus, HeartbeatRequest, ResourceMetrics,
};

use crate::flow::FlowStatuses;
use crate::telemetry::{MetricsHub, StatusBoard};

/// Everything a heartbeat reads from.
#[derive(Debug, Clone)]
pub struct HeartbeatSources {
    pub applied_revision: Arc<AtomicU64>,
    pub flows: FlowStatuses,
    pub connectors: StatusBoard,
    pub metrics: MetricsHub,
}

impl HeartbeatSources {
    pub fn request(&self, worker_id: &str, epoch: u64) -> HeartbeatRequest {
        HeartbeatRequest {
            worker_id: worker_id.to_owned(),
            epoch,
            applied_revision: self.applied_revision.load(Ordering::Relaxed),
            flows: self
                .flows
                .snapshot()
                .into_iter()
                .map(|(flow_id, state)| FlowStatus {
                    flow_id,
                    version: state.version,
                    status: state.status.as_str().to_owned(),
                    reason: state.reason,
                })
                .collect(),
            connectors: self
                .connectors
                .snapshot()
                .into_iter()
                .map(|(connector_id, status)| ConnectorStatus {
                    connector_id,
                    status: status.state.as_str().to_owned(),
                    reason: status.reason,
                })
                .collect(),
            metrics: self
                .metrics
                .snapshot()
                .into_iter()
                .map(|snapshot| ResourceMetrics {
                    resource_id: snapshot.resource_id,
                    counters: snapshot.counters.into_iter().collect(),
                    gauges: snapshot.gauges.into_iter().collect(),
                })
                .collect(),
        }
    }
}
