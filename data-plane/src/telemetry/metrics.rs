//! Per-resource counters, gauges and latency histograms.
//!
//! Every resource (`rule:<id>`, `action:kafka_producer:<name>`, `source:kafka_consumer:<name>`,
//! `mqtt:<name>`) gets one [`ResourceMetrics`]; hot paths keep the handle and bump atomics, no
//! lock. Flows name metrics as EMQX's API does (`matched`, `dropped.queue_full`); heartbeats carry
//! those names and Prometheus gets each in its own family (see [`super::families`]), labelled with
//! the resource. Counters are monotonic for Prometheus; a reset requested through the API only
//! moves the baseline that heartbeats subtract, so Prometheus never sees a counter go backwards.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::families::{self, FAMILIES, FamilySpec, Label, MetricType, ResourceKind};
use super::histogram::LatencyHistogram;
use super::sampling::{self, Sampled, Sampling};

/// A series' labels: the resource's (`rule="r1"`), then those of the metric itself (`topic`).
type Labels = Vec<Label>;
type GaugeValue = Gauge<f64, AtomicU64>;

/// All resources' metrics on this worker.
#[derive(Debug, Clone, Default)]
pub struct MetricsHub {
    inner: Arc<HubInner>,
}

#[derive(Debug, Default)]
pub(super) struct HubInner {
    resources: Mutex<BTreeMap<String, Arc<ResourceMetrics>>>,
    families: FamilyTable,
    /// Whether the sampling task runs (started with the first [`ResourceMetrics::sampled_by`]).
    sampling: AtomicBool,
}

impl HubInner {
    /// Every resource, as of now.
    pub(super) fn resources(&self) -> Vec<Arc<ResourceMetrics>> {
        let resources = self
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        resources.values().cloned().collect()
    }

    /// Starts the hub's sampling task once, when a runtime is there to run it.
    fn start_sampling(self: &Arc<Self>) {
        if self.sampling.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current()
            && !self.sampling.swap(true, Ordering::AcqRel)
        {
            runtime.spawn(sampling::run(Arc::downgrade(self)));
        }
    }
}

/// One Prometheus family per row of [`FAMILIES`], in its order.
#[derive(Debug)]
struct FamilyTable {
    families: Vec<(&'static FamilySpec, AnyFamily)>,
}

#[derive(Debug, Clone)]
enum AnyFamily {
    Counter(Family<Labels, Counter>),
    Gauge(Family<Labels, GaugeValue>),
    Histogram(Family<Labels, LatencyHistogram>),
}

impl Default for FamilyTable {
    fn default() -> Self {
        let families = FAMILIES
            .iter()
            .map(|spec| {
                let family = match spec.metric_type {
                    MetricType::Counter => AnyFamily::Counter(Family::default()),
                    MetricType::Gauge => AnyFamily::Gauge(Family::default()),
                    MetricType::Histogram => AnyFamily::Histogram(Family::default()),
                };
                (spec, family)
            })
            .collect();
        Self { families }
    }
}

impl FamilyTable {
    fn get(&self, spec: &'static FamilySpec) -> Option<&AnyFamily> {
        self.families
            .iter()
            .find(|(s, _)| std::ptr::eq(*s, spec))
            .map(|(_, family)| family)
    }

    fn remove(&self, spec: &'static FamilySpec, labels: &Labels) {
        match self.get(spec) {
            Some(AnyFamily::Counter(f)) => f.remove(labels),
            Some(AnyFamily::Gauge(f)) => f.remove(labels),
            Some(AnyFamily::Histogram(f)) => f.remove(labels),
            None => false,
        };
    }
}

impl MetricsHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers every family of [`FAMILIES`] that flows fill (the connectors' status is the
    /// status board's).
    pub fn register(&self, registry: &mut Registry) {
        for (spec, family) in &self.inner.families.families {
            let (name, help) = (spec.registered_name(), spec.help);
            match family {
                AnyFamily::Counter(f) => registry.register(name, help, f.clone()),
                AnyFamily::Gauge(f) if spec.metric != families::STATUS => {
                    registry.register(name, help, f.clone());
                }
                AnyFamily::Gauge(_) => {}
                AnyFamily::Histogram(f) => registry.register(name, help, f.clone()),
            }
        }
    }

    /// The metrics of one resource, created on first use. A new resource's counters start at
    /// zero in Prometheus at once, so that queries and alerts see the series before any event.
    pub fn resource(&self, resource_id: &str) -> Arc<ResourceMetrics> {
        let mut resources = self
            .inner
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        resources
            .entry(resource_id.to_owned())
            .or_insert_with(|| {
                let resource = ResourceMetrics {
                    id: resource_id.to_owned(),
                    kind: ResourceKind::of(resource_id)
                        .map(|(kind, label)| (kind, label.to_owned())),
                    hub: Arc::clone(&self.inner),
                    counters: Mutex::default(),
                    gauges: Mutex::default(),
                    histograms: Mutex::default(),
                    sampling: Mutex::default(),
                };
                resource.create_counter_series();
                Arc::new(resource)
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
    /// A resource this worker has no metrics for has nothing to reset.
    pub fn reset(&self, resource_id: &str) {
        let resource = self
            .inner
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(resource_id)
            .cloned();
        if let Some(resource) = resource {
            resource.reset();
        }
    }

    /// Forgets every resource `keep` refuses, with its Prometheus series: a long-lived worker's
    /// metrics follow what it runs, not every rule it ever ran. Returns how many were removed.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) -> usize {
        let removed: Vec<Arc<ResourceMetrics>> = {
            let mut resources = self
                .inner
                .resources
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let gone: Vec<String> = resources.keys().filter(|id| !keep(id)).cloned().collect();
            gone.iter().filter_map(|id| resources.remove(id)).collect()
        };
        for resource in &removed {
            resource.unregister();
        }
        removed.len()
    }
}

/// One resource's counters, gauges and histograms.
#[derive(Debug)]
pub struct ResourceMetrics {
    id: String,
    /// The kind of resource and its label value; `None` for an id of no known kind, whose
    /// metrics only heartbeats carry.
    kind: Option<(ResourceKind, String)>,
    hub: Arc<HubInner>,
    counters: Mutex<HashMap<&'static str, CounterCell>>,
    gauges: Mutex<HashMap<String, GaugeValue>>,
    histograms: Mutex<HashMap<&'static str, LatencyHistogram>>,
    sampling: Mutex<Sampling>,
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

    pub fn set_gauge(&self, name: &str, value: f64) {
        let mut gauges = self.gauges.lock().unwrap_or_else(PoisonError::into_inner);
        // Looked up before an owned name is made: sampling sets every gauge every second.
        if let Some(gauge) = gauges.get(name) {
            gauge.set(value);
            return;
        }
        let gauge = match self.series(name) {
            Some((spec, labels)) => match self.hub.families.get(spec) {
                Some(AnyFamily::Gauge(family)) => family.get_or_create(&labels).clone(),
                _ => GaugeValue::default(),
            },
            None => GaugeValue::default(),
        };
        gauge.set(value);
        gauges.insert(name.to_owned(), gauge);
    }

    /// Samples `holder` into this resource's gauges every second, with the rate of `matched`,
    /// for as long as the caller keeps `holder` (see [`super::sampling`]).
    pub fn sampled_by<S: Sampled + 'static>(&self, holder: &Arc<S>) {
        let holder: Arc<dyn Sampled> = Arc::clone(holder) as Arc<dyn Sampled>;
        self.sampling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add(Arc::downgrade(&holder));
        self.hub.start_sampling();
    }

    /// One sample: the live holders' gauges and the rate of `matched`. A resource nothing holds
    /// any more keeps its last figures.
    pub(super) fn sample(&self) {
        let mut sampling = self.sampling.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(holders) = sampling.live() else {
            return;
        };
        let matched = self.get("matched");
        let rate = sampling.rate();
        rate.observe(matched);
        sampling::sample(self, &holders, rate);
    }

    /// The handle of latency histogram `name` (`latency`, `delivery_latency`), for hot paths.
    pub fn histogram(&self, name: &'static str) -> LatencyHistogram {
        let mut histograms = self
            .histograms
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        histograms
            .entry(name)
            .or_insert_with(|| match self.series(name) {
                Some((spec, labels)) => match self.hub.families.get(spec) {
                    Some(AnyFamily::Histogram(family)) => family.get_or_create(&labels).clone(),
                    _ => LatencyHistogram::default(),
                },
                None => LatencyHistogram::default(),
            })
            .clone()
    }

    /// The family and labels of this resource's metric `name`; `None` (logged once per
    /// resource and name, when created) for a metric Prometheus does not get.
    fn series(&self, name: &str) -> Option<(&'static FamilySpec, Labels)> {
        let series = self.known_series(name);
        if series.is_none() && self.kind.is_some() && !families::NOT_EXPORTED.contains(&name) {
            tracing::warn!(resource = %self.id, metric = name, "metric without a Prometheus family");
        }
        series
    }

    fn known_series(&self, name: &str) -> Option<(&'static FamilySpec, Labels)> {
        let (kind, id) = self.kind.as_ref()?;
        let (spec, extra) = families::resolve(*kind, name)?;
        let mut labels = vec![(kind.label(), id.clone())];
        labels.extend(extra);
        Some((spec, labels))
    }

    /// Runs `f` on the cell of `name` under the lock, without cloning its handles: counters are
    /// bumped several times per message, and each clone is two atomic reference counts more.
    fn with_cell<T>(&self, name: &'static str, f: impl FnOnce(&CounterCell) -> T) -> T {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let cell = counters.entry(name).or_insert_with(|| CounterCell {
            counter: self.counter_series(name),
            baseline: Arc::default(),
        });
        f(cell)
    }

    fn counter_series(&self, name: &str) -> Counter {
        match self.series(name) {
            Some((spec, labels)) => match self.hub.families.get(spec) {
                Some(AnyFamily::Counter(family)) => family.get_or_create(&labels).clone(),
                _ => Counter::default(),
            },
            None => Counter::default(),
        }
    }

    /// Puts every counter of this kind of resource in Prometheus, at zero. Not in the
    /// heartbeats: those carry what the flow counted, as before.
    fn create_counter_series(&self) {
        let Some((kind, _)) = &self.kind else { return };
        for spec in FAMILIES.iter().filter(|s| s.kind == *kind) {
            if spec.metric_type == MetricType::Counter {
                self.counter_series(spec.metric);
            }
        }
    }

    /// Removes this resource's series from the Prometheus families.
    fn unregister(&self) {
        let Some((kind, _)) = &self.kind else { return };
        // Every counter series was created with the resource, gauges and histograms with use.
        for spec in FAMILIES.iter().filter(|s| s.kind == *kind) {
            if spec.metric_type == MetricType::Counter
                && let Some((spec, labels)) = self.known_series(spec.metric)
            {
                self.hub.families.remove(spec, &labels);
            }
        }
        let gauges = self.gauges.lock().unwrap_or_else(PoisonError::into_inner);
        let histograms = self
            .histograms
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let used = gauges.keys().map(String::as_str);
        for name in used.chain(histograms.keys().copied()) {
            if let Some((spec, labels)) = self.known_series(name) {
                self.hub.families.remove(spec, &labels);
            }
        }
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
mod tests;
