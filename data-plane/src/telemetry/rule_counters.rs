//! A rule's counters of what became of its actions' records (`actions.success`,
//! `actions.failed`), shared by everything that learns an outcome: the rule's flow for records it
//! awaits, and a Kafka action's delivery reports for `async` records nobody awaits.

use std::sync::Arc;

use super::ResourceMetrics;
use super::metrics::CounterHandle;

#[derive(Debug)]
pub struct RuleCounters {
    metrics: Arc<ResourceMetrics>,
    /// Bumped once per record: a handle, without the lookup by name.
    success: CounterHandle,
}

impl RuleCounters {
    pub fn new(metrics: Arc<ResourceMetrics>) -> Self {
        Self {
            success: metrics.counter("actions.success"),
            metrics,
        }
    }

    pub fn succeeded(&self) {
        self.success.inc();
    }

    /// A record that will never succeed. EMQX counts every such action failure as `unknown` too.
    pub fn failed(&self) {
        self.metrics.inc("actions.failed");
        self.metrics.inc("actions.failed.unknown");
    }
}
