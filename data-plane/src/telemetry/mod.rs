//! What a worker knows about itself: metric counters per resource and the status of its
//! connectors. Both are reported to the control plane in heartbeats and exposed on `/metrics`.

pub mod families;
pub mod histogram;
pub mod metrics;
pub mod rates;
pub mod rule_counters;
pub mod sampling;
pub mod status;

pub use histogram::LatencyHistogram;
pub use metrics::{MetricsHub, ResourceMetrics};
pub use rule_counters::RuleCounters;
pub use status::{ConnectorState, StatusBoard};
