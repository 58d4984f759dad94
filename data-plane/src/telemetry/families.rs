//! The Prometheus family of every worker metric, in one table.
//!
//! Flows count under short internal names per resource (`matched`, `dropped.queue_full`, the names
//! EMQX's metrics API uses and heartbeats carry). Prometheus gets one family per quantity, named
//! as EMQX's Prometheus endpoint names it (`emqx_rule_matched` is `tributary_rule_matched_total`),
//! with the resource in a label (`rule`, `action`, `source`, `connector`) instead of one generic
//! counter with a `metric` label. A new internal metric needs its row here; the test at the end
//! of this file fails for a name used in the code without one.

/// Which kind of resource a metric belongs to, from its id's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `rule:<id>`, label `rule="<id>"`.
    Rule,
    /// `action:<type>:<name>`, label `action="<type>:<name>"` (EMQX's action id).
    Action,
    /// `source:<type>:<name>`, label `source="<type>:<name>"`.
    Source,
    /// `mqtt:<name>` and the Kafka connectors' ids, label `connector="<type>:<name>"`.
    Connector,
}

impl ResourceKind {
    /// The kind and the label value of a resource id; `None` for an id of no known kind.
    pub fn of(resource_id: &str) -> Option<(Self, &str)> {
        if let Some(id) = resource_id.strip_prefix("rule:") {
            return Some((Self::Rule, id));
        }
        if let Some(id) = resource_id.strip_prefix("action:") {
            return Some((Self::Action, id));
        }
        if let Some(id) = resource_id.strip_prefix("source:") {
            return Some((Self::Source, id));
        }
        resource_id
            .starts_with("mqtt:")
            .then_some((Self::Connector, resource_id))
    }

    /// The label naming the resource.
    pub fn label(self) -> &'static str {
        match self {
            Self::Rule => "rule",
            Self::Action => "action",
            Self::Source => "source",
            Self::Connector => "connector",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Monotonic; its family name ends in `_total`.
    Counter,
    Gauge,
    /// Latency in seconds with [`super::histogram::BUCKETS`].
    Histogram,
}

/// One Prometheus family.
#[derive(Debug, Clone, Copy)]
pub struct FamilySpec {
    pub kind: ResourceKind,
    /// The internal name; for [`LAG`] only its prefix (`lag.<topic>.<partition>`).
    pub metric: &'static str,
    /// The full family name as a query writes it (counters with `_total`).
    pub name: &'static str,
    pub metric_type: MetricType,
    pub help: &'static str,
}

impl FamilySpec {
    /// The name to register: the Prometheus client appends `_total` to counters itself.
    pub fn registered_name(&self) -> &'static str {
        match self.metric_type {
            Counter => self.name.strip_suffix("_total").unwrap_or(self.name),
            Gauge | Histogram => self.name,
        }
    }
}

use MetricType::{Counter, Gauge, Histogram};
use ResourceKind::{Action, Connector, Rule, Source};

const fn row(
    kind: ResourceKind,
    metric: &'static str,
    name: &'static str,
    metric_type: MetricType,
    help: &'static str,
) -> FamilySpec {
    FamilySpec {
        kind,
        metric,
        name,
        metric_type,
        help,
    }
}

/// The internal name prefix of a source's per-partition consumer lag gauges.
pub const LAG: &str = "lag";

/// Every family a worker exports. EMQX's names where EMQX has the quantity.
#[rustfmt::skip]
pub static FAMILIES: &[FamilySpec] = &[
    // Rules (EMQX: emqx_rule_*).
    row(Rule, "matched", "tributary_rule_matched_total", Counter, "Messages that matched the rule's FROM"),
    row(Rule, "passed", "tributary_rule_passed_total", Counter, "Messages that passed the rule's WHERE and produced output"),
    row(Rule, "failed", "tributary_rule_failed_total", Counter, "Messages the rule failed on (no result or an exception)"),
    row(Rule, "failed.exception", "tributary_rule_failed_exception_total", Counter, "Messages whose evaluation raised an error (a bad payload, a failing function)"),
    row(Rule, "failed.no_result", "tributary_rule_failed_no_result_total", Counter, "Messages the rule's WHERE filtered out"),
    row(Rule, "actions.total", "tributary_rule_actions_total", Counter, "Actions the rule started (one per output row and action)"),
    row(Rule, "actions.success", "tributary_rule_actions_success_total", Counter, "Actions of the rule that succeeded"),
    row(Rule, "actions.failed", "tributary_rule_actions_failed_total", Counter, "Actions of the rule that failed"),
    row(Rule, "actions.failed.unknown", "tributary_rule_actions_failed_unknown_total", Counter, "Actions of the rule that failed for a reason other than the action being out of service"),
    row(Rule, "actions.discarded", "tributary_rule_actions_discarded_total", Counter, "Actions of the rule not run because the action does not exist or is disabled"),
    row(Rule, "inflight", "tributary_rule_inflight", Gauge, "Messages of the rule received and not yet acknowledged to the MQTT broker"),
    // Kafka producer actions (EMQX: emqx_action_*).
    row(Action, "matched", "tributary_action_matched_total", Counter, "Records handed to the action"),
    row(Action, "success", "tributary_action_success_total", Counter, "Records Kafka acknowledged"),
    row(Action, "failed", "tributary_action_failed_total", Counter, "Records that failed for good (unknown topic, too large, refused, not renderable)"),
    row(Action, "retried", "tributary_action_retried_total", Counter, "Sync-mode records produced again after a retriable failure"),
    row(Action, "dropped", "tributary_action_dropped_total", Counter, "Records dropped from the buffer (queue full, expired, action stopped)"),
    row(Action, "dropped.queue_full", "tributary_action_dropped_queue_full_total", Counter, "Records dropped because the action's buffer was full"),
    row(Action, "dropped.expired", "tributary_action_dropped_expired_total", Counter, "Async records librdkafka gave up on (message timeout)"),
    row(Action, "dropped.resource_stopped", "tributary_action_dropped_resource_stopped_total", Counter, "Buffered records dropped because the action stopped"),
    row(Action, "dropped.too_large", "tributary_action_dropped_too_large_total", Counter, "Records larger than the broker accepts"),
    row(Action, "dead_lettered", "tributary_action_dead_lettered_total", Counter, "Failed records written to the action's dead-letter topic"),
    row(Action, "buffer.recovered", "tributary_action_buffer_recovered_total", Counter, "Records found in the disk buffer at start and sent"),
    row(Action, "buffer.corrupt_tails", "tributary_action_buffer_corrupt_tails_total", Counter, "Torn or corrupt segment tails cut off the disk buffer at start"),
    row(Action, "buffer.corrupt_bytes", "tributary_action_buffer_corrupt_bytes_total", Counter, "Bytes cut off the disk buffer's corrupt tails"),
    row(Action, "buffer.lost_in_memory", "tributary_action_buffer_lost_in_memory_total", Counter, "Records a hybrid buffer held in memory only when the worker died, lost (also counted as dropped)"),
    row(Action, "buffer.write_failures", "tributary_action_buffer_write_failures_total", Counter, "Failed writes to the disk buffer (a full disk pauses intake)"),
    row(Action, "inflight", "tributary_action_inflight", Gauge, "Records sent to Kafka and not yet acknowledged"),
    row(Action, "queuing", "tributary_action_queuing", Gauge, "Records waiting in the action's buffer or in librdkafka"),
    row(Action, "queuing_bytes", "tributary_action_queuing_bytes", Gauge, "Bytes waiting in the action's buffer"),
    row(Action, "buffer.disk_bytes", "tributary_action_buffer_disk_bytes", Gauge, "Bytes the action's disk buffer holds on disk"),
    row(Action, "buffer.memory_records", "tributary_action_buffer_memory_records", Gauge, "Records a hybrid buffer holds in memory only (a crash would lose them)"),
    row(Action, "buffer.memory_bytes", "tributary_action_buffer_memory_bytes", Gauge, "Bytes a hybrid buffer holds in memory only"),
    row(Action, "buffer.disk_full", "tributary_action_buffer_disk_full", Gauge, "1 while the disk buffer takes no records (disk or size limit full), else 0"),
    row(Action, "latency", "tributary_action_latency_seconds", Histogram, "End to end: from the MQTT message's arrival at the worker to Kafka's acknowledgement of its record"),
    row(Action, "delivery_latency", "tributary_action_delivery_latency_seconds", Histogram, "Kafka delivery: from handing a record to librdkafka to Kafka's acknowledgement"),
    // Kafka consumer sources.
    row(Source, "received", "tributary_source_received_total", Counter, "Records read from Kafka"),
    row(Source, "success", "tributary_source_success_total", Counter, "Records whose every publish was acknowledged (or that no mapping took)"),
    row(Source, "failed", "tributary_source_failed_total", Counter, "Records with at least one failure that retrying cannot fix"),
    row(Source, "failed.invalid_topic", "tributary_source_failed_invalid_topic_total", Counter, "Records whose rendered MQTT topic is not valid"),
    row(Source, "failed.render", "tributary_source_failed_render_total", Counter, "Records a template could not render"),
    row(Source, "failed.rule_exception", "tributary_source_failed_rule_exception_total", Counter, "Records a rule's evaluation failed on"),
    row(Source, "failed.kafka_produce", "tributary_source_failed_kafka_produce_total", Counter, "Records a rule's Kafka action failed to produce"),
    row(Source, "failed.too_large", "tributary_source_failed_too_large_total", Counter, "Records too large to publish"),
    row(Source, "failed.rejected", "tributary_source_failed_rejected_total", Counter, "Records the MQTT broker refused"),
    row(Source, "dropped", "tributary_source_dropped_total", Counter, "Records neither a topic mapping nor a rule took"),
    row(Source, "inflight", "tributary_source_inflight", Gauge, "Records read and not yet finished"),
    row(Source, LAG, "tributary_source_consumer_lag", Gauge, "Records behind the partition's high watermark, counted from where a restart would read (labels topic, partition)"),
    row(Source, "latency", "tributary_source_latency_seconds", Histogram, "From the Kafka record's timestamp to the MQTT broker's acknowledgement of its last publish"),
    // Connectors.
    row(Connector, "dropped.queue_full", "tributary_connector_dropped_queue_full_total", Counter, "MQTT messages dropped because a rule's inbox was full (QoS 0)"),
    row(Connector, "dropped.rule_unavailable", "tributary_connector_dropped_rule_unavailable_total", Counter, "MQTT messages acknowledged for a rule that is not running on this worker"),
    row(Connector, "unrouted", "tributary_connector_unrouted_total", Counter, "MQTT messages no running rule subscribes to (acknowledged, e.g. a deleted rule's backlog)"),
    row(Connector, STATUS, "tributary_connector_status", Gauge, "1 while the connector is connected, else 0 (connecting or disconnected), as EMQX's emqx_connector_status"),
];

/// The internal name of the connectors' status gauge (set by the status board, not by flows).
pub const STATUS: &str = "status";

/// Internal gauges Prometheus does not get: EMQX-style rates (`rate`, `rate_max`,
/// `rate_last5m`) that heartbeats carry for the API. Prometheus computes rates from the counters.
pub const NOT_EXPORTED: &[&str] = &["rate", "rate_max", "rate_last5m"];

/// The family of `metric` of a resource of `kind`, with the labels the metric name itself
/// carries (`lag.<topic>.<partition>`: topic and partition).
pub fn resolve(kind: ResourceKind, metric: &str) -> Option<(&'static FamilySpec, Vec<Label>)> {
    if let Some(spec) = spec(kind, metric) {
        return Some((spec, Vec::new()));
    }
    // Kafka topics may contain dots; partitions do not.
    let (topic, partition) = metric
        .strip_prefix(LAG)?
        .strip_prefix('.')?
        .rsplit_once('.')?;
    partition.parse::<i32>().ok()?;
    let spec = spec(kind, LAG)?;
    Some((
        spec,
        vec![
            ("topic", topic.to_owned()),
            ("partition", partition.to_owned()),
        ],
    ))
}

/// The row of exactly `metric` of a resource of `kind`.
pub fn spec(kind: ResourceKind, metric: &str) -> Option<&'static FamilySpec> {
    FAMILIES
        .iter()
        .find(|spec| spec.kind == kind && spec.metric == metric)
}

/// One label of a series: its name and value.
pub type Label = (&'static str, String);

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::Path;

    use regex::Regex;

    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let valid = Regex::new("^tributary_[a-z_]+$").unwrap();
        let mut names = HashSet::new();
        for spec in FAMILIES {
            assert!(valid.is_match(spec.name), "{}", spec.name);
            assert!(names.insert(spec.name), "{} twice", spec.name);
            assert!(!spec.help.is_empty(), "{} has no help", spec.name);
            let prefix = format!("tributary_{}_", spec.kind.label());
            assert!(
                spec.name.starts_with(&prefix),
                "{} is not {prefix}*",
                spec.name
            );
            // The e2e tests (tests/src/worker_metrics.rs) find a family by this rule.
            let mut derived = format!("{prefix}{}", spec.metric.replace('.', "_"));
            match spec.metric_type {
                Counter if !derived.ends_with("_total") => derived.push_str("_total"),
                Counter | Gauge => {}
                Histogram => derived.push_str("_seconds"),
            }
            if spec.metric != LAG {
                assert_eq!(spec.name, derived);
            }
        }
    }

    #[test]
    fn lag_gauges_carry_topic_and_partition() {
        let (spec, labels) = resolve(Source, "lag.site.a.telemetry.12").unwrap();
        assert_eq!(spec.name, "tributary_source_consumer_lag");
        assert_eq!(
            labels,
            [
                ("topic", "site.a.telemetry".to_owned()),
                ("partition", "12".to_owned())
            ]
        );
        assert!(resolve(Source, "lag.no-partition").is_none());
        assert!(resolve(Rule, "lag.t.0").is_none());
        assert_eq!(
            resolve(Rule, "matched").unwrap().0.name,
            "tributary_rule_matched_total"
        );
        assert_eq!(
            ResourceKind::of("action:kafka_producer:a:b"),
            Some((Action, "kafka_producer:a:b"))
        );
        assert_eq!(
            ResourceKind::of("mqtt:default"),
            Some((Connector, "mqtt:default"))
        );
        assert_eq!(ResourceKind::of("other:x"), None);
    }

    /// Every internal name the code counts or sets as a string literal (`inc("…")`,
    /// `counter("…")`, `set_gauge("…")`, `"failed.…"` reasons) has a row, for the kind of
    /// resource its file works with, or is a rate Prometheus does not get.
    #[test]
    fn every_metric_the_code_uses_has_a_family() {
        let call = Regex::new(
            r#"(?:\.inc|\.add|\.counter|\.histogram|set_gauge)\(\s*"([a-z_.]+)"|=> "((?:failed|dropped)\.[a-z_]+)""#,
        )
        .unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut unmapped = Vec::new();
        let mut seen = 0;
        for path in rust_files(&root) {
            let text = std::fs::read_to_string(&path).unwrap();
            for capture in call.captures_iter(&text) {
                let name = capture.get(1).or(capture.get(2)).unwrap().as_str();
                seen += 1;
                if NOT_EXPORTED.contains(&name) || name == "matched.rate" {
                    continue;
                }
                if !FAMILIES.iter().any(|spec| spec.metric == name) {
                    unmapped.push(format!("{}: {name}", path.display()));
                }
            }
        }
        assert!(
            seen > 30,
            "only {seen} metric names found: is the pattern stale?"
        );
        assert!(
            unmapped.is_empty(),
            "metrics without a family:\n{}",
            unmapped.join("\n")
        );
    }

    fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(rust_files(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
        files
    }
}
