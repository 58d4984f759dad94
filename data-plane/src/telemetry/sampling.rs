//! Gauges and rates sampled once a second, for every resource of a worker, by one task.
//!
//! Each rule flow and each Kafka action used to keep a one-second ticker of its own. With 1,000
//! rules on one action that is 2,000 wake-ups a second of tasks with nothing to do, charged to
//! whatever the worker does meanwhile (BENCHMARKS.md, scale). Now a flow or an action only
//! registers what it holds (a [`Sampled`]), and the hub's sampling task, started with the first
//! registration, reads them all at once.
//!
//! Several flows can run the same action (one [`crate::sink::kafka::KafkaSink`] each), so the
//! contributions to one resource's gauges are summed; a figure they share, such as the action's
//! disk buffer, is given once with [`Gauges::shared`].

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::metrics::{HubInner, ResourceMetrics};
use super::rates::RateMeter;

/// How often gauges and rates are sampled; the rates are per this interval, i.e. per second.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Something whose state some of a resource's gauges show: a flow's in-flight messages, an
/// action's queued records. Registered with [`ResourceMetrics::sampled_by`].
pub trait Sampled: Send + Sync {
    fn sample(&self, gauges: &mut Gauges);
}

/// The gauges of one resource at one sample, as its [`Sampled`]s give them.
#[derive(Debug, Default)]
pub struct Gauges {
    values: Vec<Contribution>,
}

#[derive(Debug)]
struct Contribution {
    name: &'static str,
    /// What each holder has of its own, summed.
    sum: f64,
    /// What the holders share (the same figure from each), counted once.
    shared: Option<f64>,
}

impl Gauges {
    /// Adds what this holder has of its own to gauge `name`.
    pub fn add(&mut self, name: &'static str, value: f64) {
        self.entry(name).sum += value;
    }

    /// Gives gauge `name`'s part that every holder of the resource shares; counted once.
    pub fn shared(&mut self, name: &'static str, value: f64) {
        self.entry(name).shared = Some(value);
    }

    fn entry(&mut self, name: &'static str) -> &mut Contribution {
        let index = match self.values.iter().position(|c| c.name == name) {
            Some(index) => index,
            None => {
                self.values.push(Contribution {
                    name,
                    sum: 0.0,
                    shared: None,
                });
                self.values.len() - 1
            }
        };
        &mut self.values[index]
    }

    fn totals(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.values
            .iter()
            .map(|c| (c.name, c.sum + c.shared.unwrap_or(0.0)))
    }
}

/// A resource's registered [`Sampled`]s and its rate of `matched`.
#[derive(Default)]
pub(super) struct Sampling {
    holders: Vec<Weak<dyn Sampled>>,
    rate: RateMeter,
}

impl std::fmt::Debug for Sampling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampling")
            .field("holders", &self.holders.len())
            .field("rate", &self.rate)
            .finish()
    }
}

impl Sampling {
    pub(super) fn add(&mut self, holder: Weak<dyn Sampled>) {
        self.holders.retain(|h| h.strong_count() > 0);
        self.holders.push(holder);
    }

    /// The live holders; `None` when every one is gone (the resource is left as it was).
    pub(super) fn live(&mut self) -> Option<Vec<Arc<dyn Sampled>>> {
        let live: Vec<Arc<dyn Sampled>> = self.holders.iter().filter_map(Weak::upgrade).collect();
        self.holders.retain(|h| h.strong_count() > 0);
        (!live.is_empty()).then_some(live)
    }

    pub(super) fn rate(&mut self) -> &mut RateMeter {
        &mut self.rate
    }
}

/// Samples one resource: its holders' gauges and the rate of its `matched` counter.
pub(super) fn sample(resource: &ResourceMetrics, holders: &[Arc<dyn Sampled>], rate: &RateMeter) {
    let mut gauges = Gauges::default();
    for holder in holders {
        holder.sample(&mut gauges);
    }
    for (name, value) in gauges.totals() {
        resource.set_gauge(name, value);
    }
    rate.report(resource);
}

/// The hub's sampling task: every [`SAMPLE_INTERVAL`] until the hub is dropped.
pub(super) async fn run(hub: Weak<HubInner>) {
    let mut ticker = tokio::time::interval(SAMPLE_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        for resource in hub.resources() {
            resource.sample();
        }
    }
}
