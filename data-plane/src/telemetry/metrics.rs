//! Per-resource counters and gauges.
//!
//! Every resource (`rule:<id>`, `action:kafka_producer:<name>`, `source:kafka_consumer:<name>`)
//! gets one [`ResourceMetrics`]; hot paths keep the handle and bump atomics, no lock. Counters are
//! monotonic for Prometheus; a reset requested through the API only moves the baseline that
//! heartbeats subtract, so Prometheus never sees a counter go backwards.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    resource: String,
    metric: String,
}

/// All resources' metrics on this worker.
#[derive(Debug, Clone, Default)]
pub struct MetricsHub {
    inner: Arc<HubInner>,
}

#[derive(Debug, Default)]
struct HubInner {
    resources: Mutex<BTreeMap<String, Arc<ResourceMetrics>>>,
    counters: Family<Labels, Counter>,
    gauges: Family<Labels, Gauge<f64, AtomicU64>>,
}

impl MetricsHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the Prometheus families (`tributary_resource_total`, `tributary_resource_gauge`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "tributary_resource",
            "Events per resource (rule, action, source) and metric name",
            self.inner.counters.clone(),
        );
        registry.register(
            "tributary_resource_gauge",
            "Point-in-time values per resource (inflight, queuing, rates, consumer lag)",
            self.inner.gauges.clone(),
        );
    }

    /// The metrics of one resource, created on first use.
    pub fn resource(&self, resource_id: &str) -> Arc<ResourceMetrics> {
        let mut resources = self
            .inner
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        resources
            .entry(resource_id.to_owned())
            .or_insert_with(|| {
                Arc::new(ResourceMetrics {
                    id: resource_id.to_owned(),
                    hub: Arc::clone(&self.inner),
                    counters: Mutex::default(),
                    gauges: Mutex::default(),
                })
            })
            .clone()
    }

    /// Every resource's current metrics, for heartbeats.
    pub fn snapshot(&self) -> Vec<ResourceSnapshot> {
        let resources = self
            .inner
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        resources.values().map(|r| r.snapshot()).collect()
    }

    /// Moves the baseline of `resource_id`'s counters to their current values.
    pub fn reset(&self, resource_id: &str) {
        self.resource(resource_id).reset();
    }
}

/// One resource's counters and gauges.
#[derive(Debug)]
pub struct ResourceMetrics {
    id: String,
    hub: Arc<HubInner>,
    counters: Mutex<HashMap<&'static str, CounterCell>>,
    gauges: Mutex<HashMap<String, Gauge<f64, AtomicU64>>>,
}

#[derive(Debug, Clone)]
struct CounterCell {
    counter: Counter,
    baseline: Arc<AtomicU64>,
}

/// A counter handle for hot paths: cloning is cheap and `inc` is one atomic add.
pub type CounterHandle = Counter;

impl ResourceMetrics {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The handle of counter `name` (e.g. `matched`, `dropped.queue_full`), for hot paths.
    pub fn counter(&self, name: &'static str) -> CounterHandle {
        self.with_cell(name, |cell| cell.counter.clone())
    }

    pub fn inc(&self, name: &'static str) {
        self.with_cell(name, |cell| cell.counter.inc());
    }

    pub fn add(&self, name: &'static str, n: u64) {
        self.with_cell(name, |cell| cell.counter.inc_by(n));
    }

    /// The current value of counter `name` since the last reset.
    pub fn get(&self, name: &'static str) -> u64 {
        self.with_cell(name, |cell| {
            cell.counter
                .get()
                .saturating_sub(cell.baseline.load(Ordering::Relaxed))
        })
    }

    pub fn set_gauge(&self, name: impl Into<String>, value: f64) {
        let name = name.into();
        let mut gauges = self.gauges.lock().unwrap_or_else(PoisonError::into_inner);
        let gauge = gauges.entry(name.clone()).or_insert_with(|| {
            self.hub
                .gauges
                .get_or_create(&Labels {
                    resource: self.id.clone(),
                    metric: name,
                })
                .clone()
        });
        gauge.set(value);
    }

    /// Runs `f` on the cell of `name` under the lock, without cloning its handles: counters are
    /// bumped several times per message, and each clone is two atomic reference counts more.
    fn with_cell<T>(&self, name: &'static str, f: impl FnOnce(&CounterCell) -> T) -> T {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let cell = counters.entry(name).or_insert_with(|| CounterCell {
            counter: self
                .hub
                .counters
                .get_or_create(&Labels {
                    resource: self.id.clone(),
                    metric: name.to_owned(),
                })
                .clone(),
            baseline: Arc::default(),
        });
        f(cell)
    }

    fn reset(&self) {
        let counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        for cell in counters.values() {
            cell.baseline.store(cell.counter.get(), Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> ResourceSnapshot {
        let counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let gauges = self.gauges.lock().unwrap_or_else(PoisonError::into_inner);
        ResourceSnapshot {
            resource_id: self.id.clone(),
            counters: counters
                .iter()
                .map(|(name, cell)| {
                    let value = cell
                        .counter
                        .get()
                        .saturating_sub(cell.baseline.load(Ordering::Relaxed));
                    ((*name).to_owned(), value)
                })
                .collect(),
            gauges: gauges.iter().map(|(k, g)| (k.clone(), g.get())).collect(),
        }
    }
}

/// A resource's metrics at one moment, as heartbeats carry them.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSnapshot {
    pub resource_id: String,
    pub counters: BTreeMap<String, u64>,
    pub gauges: BTreeMap<String, f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_accumulate_and_reset_moves_the_baseline() {
        let hub = MetricsHub::new();
        let rule = hub.resource("rule:r1");
        rule.inc("matched");
        rule.add("matched", 2);
        let handle = rule.counter("passed");
        handle.inc();
        assert_eq!(rule.get("matched"), 3);

        hub.reset("rule:r1");
        rule.inc("matched");
        let snapshot = hub.snapshot();
        assert_eq!(snapshot.len(), 1);
        assert_eq!(snapshot[0].counters.get("matched"), Some(&1));
        assert_eq!(snapshot[0].counters.get("passed"), Some(&0));
    }

    #[test]
    fn prometheus_sees_monotonic_counters_and_gauges() {
        let hub = MetricsHub::new();
        let mut registry = Registry::default();
        hub.register(&mut registry);
        let action = hub.resource("action:kafka_producer:s1");
        action.add("success", 5);
        action.set_gauge("inflight", 7.0);
        hub.reset("action:kafka_producer:s1");

        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains(
            r#"tributary_resource_total{resource="action:kafka_producer:s1",metric="success"} 5"#
        ), "{text}");
        assert!(text.contains(r#"metric="inflight"} 7.0"#), "{text}");
    }
}
