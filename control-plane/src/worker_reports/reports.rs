//! What workers report in heartbeats, as stored in the `workers` table's JSONB columns
//! (`store/workers.rs`) and read back for the REST API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One flow's state on one worker (`FlowStatus` in the proto).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportedFlow {
    /// `rule:<id>` or `source:kafka_consumer:<name>`.
    pub flow_id: String,
    pub version: String,
    /// `running`, `starting` or `failed`.
    pub status: String,
    #[serde(default)]
    pub reason: String,
}

/// One connector's state on one worker (`ConnectorStatus` in the proto).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportedConnector {
    /// `<type>:<name>`, e.g. `kafka_producer:my_kafka`.
    pub connector_id: String,
    /// `connected`, `connecting` or `disconnected`.
    pub status: String,
    #[serde(default)]
    pub reason: String,
}

/// One resource's counters and gauges on one worker (`ResourceMetrics` in the proto).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportedMetrics {
    pub resource_id: String,
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    #[serde(default)]
    pub gauges: BTreeMap<String, f64>,
}
