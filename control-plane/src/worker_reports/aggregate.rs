//! Sums one resource's metrics over the workers that report it, in EMQX's response shape:
//! `{"metrics": {...}, "node_metrics": [{"node": <worker name>, "metrics": {...}}]}`.

use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::reports::ReportedMetrics;
use crate::store::workers::WorkerRecord;

/// Which EMQX metric set a resource has; every metric of the set is present, zero when unreported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Rule,
    Action,
    Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MetricsView {
    /// The sum over live workers.
    #[schema(value_type = Object)]
    pub metrics: Map<String, Value>,
    pub node_metrics: Vec<NodeMetrics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NodeMetrics {
    /// The worker's name.
    pub node: String,
    #[schema(value_type = Object)]
    pub metrics: Map<String, Value>,
}

const RULE_COUNTERS: &[&str] = &[
    "matched",
    "passed",
    "failed",
    "failed.exception",
    "failed.no_result",
    "actions.total",
    "actions.success",
    "actions.failed",
    "actions.failed.out_of_service",
    "actions.failed.unknown",
    "actions.discarded",
];
const RULE_GAUGES: &[&str] = &["matched.rate", "matched.rate.max", "matched.rate.last5m"];

const ACTION_COUNTERS: &[&str] = &[
    "matched",
    "success",
    "failed",
    "retried",
    "retried.success",
    "retried.failed",
    "late_reply",
    "dropped",
    "dropped.expired",
    "dropped.queue_full",
    "dropped.resource_not_found",
    "dropped.resource_stopped",
    "dropped.other",
    "dropped.too_large",
    "received",
    // Object-storage actions count these in EMQX; always zero here, listed so that every key
    // EMQX's action and source metrics carry is present.
    "aggregated_upload.success",
    "aggregated_upload.failure",
];
const BUFFER_GAUGES: &[&str] = &[
    "inflight",
    "queuing",
    "queuing_bytes",
    "rate",
    "rate_max",
    "rate_last5m",
];

impl ResourceKind {
    fn counters(self) -> &'static [&'static str] {
        match self {
            Self::Rule => RULE_COUNTERS,
            // EMQX formats the metrics of actions and sources alike (`format_metrics/1`).
            Self::Action | Self::Source => ACTION_COUNTERS,
        }
    }

    fn gauges(self) -> &'static [&'static str] {
        match self {
            Self::Rule => RULE_GAUGES,
            Self::Action | Self::Source => BUFFER_GAUGES,
        }
    }

    /// Workers name rates uniformly (`rate`, `rate_max`, `rate_last5m`); EMQX names a rule's rates
    /// after what they count.
    fn gauge_name(self, reported: &str) -> &str {
        match (self, reported) {
            (Self::Rule, "rate") => "matched.rate",
            (Self::Rule, "rate_max") => "matched.rate.max",
            (Self::Rule, "rate_last5m") => "matched.rate.last5m",
            _ => reported,
        }
    }
}

/// Running sums of counters (exact integers) and gauges.
#[derive(Default)]
struct Totals {
    counters: Vec<(String, u64)>,
    gauges: Vec<(String, f64)>,
}

impl Totals {
    fn for_kind(kind: ResourceKind) -> Self {
        Self {
            counters: kind
                .counters()
                .iter()
                .map(|n| ((*n).to_owned(), 0))
                .collect(),
            gauges: kind
                .gauges()
                .iter()
                .map(|n| ((*n).to_owned(), 0.0))
                .collect(),
        }
    }

    fn add(&mut self, kind: ResourceKind, reported: &ReportedMetrics) {
        for (name, value) in &reported.counters {
            match self.counters.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) => *total = total.saturating_add(*value),
                None => self.counters.push((name.clone(), *value)),
            }
        }
        for (name, value) in &reported.gauges {
            if !value.is_finite() {
                continue;
            }
            let name = kind.gauge_name(name);
            match self.gauges.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) => *total += value,
                None => self.gauges.push((name.to_owned(), *value)),
            }
        }
    }

    fn into_json(self) -> Map<String, Value> {
        let mut map = Map::new();
        for (name, value) in self.counters {
            map.insert(name, Value::from(value));
        }
        for (name, value) in self.gauges {
            map.insert(name.clone(), gauge_json(&name, value));
        }
        map
    }
}

// Rates are fractional; queue depths and lags are counts and read better as integers.
fn gauge_json(name: &str, value: f64) -> Value {
    let is_rate = name.contains("rate");
    if !is_rate && value.fract() == 0.0 && value.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation)]
        return Value::from(value as i64);
    }
    let rounded = (value * 100.0).round() / 100.0;
    Number::from_f64(rounded).map_or(Value::from(0), Value::Number)
}

/// Aggregates `resource_id`'s metrics over `workers` (the caller passes live workers only).
pub fn aggregate_metrics(
    kind: ResourceKind,
    resource_id: &str,
    workers: &[WorkerRecord],
) -> MetricsView {
    let mut total = Totals::for_kind(kind);
    let mut node_metrics = Vec::with_capacity(workers.len());
    for worker in workers {
        let mut node = Totals::for_kind(kind);
        for reported in worker
            .metrics
            .iter()
            .filter(|m| m.resource_id == resource_id)
        {
            node.add(kind, reported);
            total.add(kind, reported);
        }
        node_metrics.push(NodeMetrics {
            node: worker.name.clone(),
            metrics: node.into_json(),
        });
    }
    MetricsView {
        metrics: total.into_json(),
        node_metrics,
    }
}
