//! `Heartbeat`: the proto reports converted to what the `workers` table stores.

use std::collections::HashSet;

use tributary_protocol::worker::v1::HeartbeatRequest;

use crate::store::workers::HeartbeatReport;
use crate::worker_reports::{ReportedConnector, ReportedFlow, ReportedMetrics};

/// Converts a heartbeat's reports. Metrics of resources in `pending_resets` are left out: the
/// worker has not applied their reset yet, so its totals for them are stale.
pub fn to_report(request: HeartbeatRequest, pending_resets: &[String]) -> HeartbeatReport {
    let pending: HashSet<&str> = pending_resets.iter().map(String::as_str).collect();
    HeartbeatReport {
        applied_revision: request.applied_revision,
        flows: request
            .flows
            .into_iter()
            .map(|flow| ReportedFlow {
                flow_id: flow.flow_id,
                version: flow.version,
                status: flow.status,
                reason: flow.reason,
            })
            .collect(),
        connectors: request
            .connectors
            .into_iter()
            .map(|connector| ReportedConnector {
                connector_id: connector.connector_id,
                status: connector.status,
                reason: connector.reason,
            })
            .collect(),
        metrics: request
            .metrics
            .into_iter()
            .filter(|metrics| !pending.contains(metrics.resource_id.as_str()))
            .map(|metrics| ReportedMetrics {
                resource_id: metrics.resource_id,
                counters: metrics.counters.into_iter().collect(),
                // JSON has no NaN or infinity; such a gauge would make the row unwritable.
                gauges: metrics
                    .gauges
                    .into_iter()
                    .filter(|(_, value)| value.is_finite())
                    .collect(),
            })
            .collect(),
    }
}
