//! What one record turns into: the PUBLISHes to send (from its topic mapping and from the rules
//! reading the source), and the failures already known before anything is sent.

use std::sync::Arc;

use tributary_rules::{Event, KafkaRecord};

use super::failure::DeliveryFailure;
use super::mapping::Mappings;
use super::rules::SourceRules;
use crate::mqtt::client::OutboundPublish;
use crate::telemetry::ResourceMetrics;

#[derive(Debug, Default)]
pub struct DeliveryPlan {
    pub publishes: Vec<PlannedPublish>,
    pub failures: Vec<DeliveryFailure>,
    /// Whether a mapping or a rule took the record at all; a record nobody takes is dropped.
    pub taken: bool,
}

#[derive(Debug)]
pub struct PlannedPublish {
    pub publish: OutboundPublish,
    /// A rule action's publish also counts towards that rule's `actions.*` metrics.
    pub rule: Option<Arc<ResourceMetrics>>,
}

/// Plans records of one source.
#[derive(Debug)]
pub struct Planner {
    mappings: Mappings,
    rules: SourceRules,
}

impl Planner {
    pub fn new(mappings: Mappings, rules: SourceRules) -> Self {
        Self { mappings, rules }
    }

    pub fn plan(&self, record: KafkaRecord) -> DeliveryPlan {
        let mut plan = DeliveryPlan::default();
        if let Some(mapping) = self.mappings.for_topic(&record.topic) {
            plan.taken = true;
            match mapping.render(&record.to_json()) {
                Ok(publish) => plan.publishes.push(PlannedPublish {
                    publish,
                    rule: None,
                }),
                Err(failure) => plan.failures.push(failure),
            }
        }
        if !self.rules.is_empty() {
            self.rules.apply(&Event::KafkaRecord(record), &mut plan);
        }
        plan
    }
}
