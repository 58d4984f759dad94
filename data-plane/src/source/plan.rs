//! What one record turns into: the actions to run (PUBLISHes from its topic mapping and the
//! rules' `republish` actions, records for the rules' `kafka_producer` actions), and the
//! failures already known before anything is sent.

use std::sync::Arc;

use serde_json::Value;
use tributary_connect::mqtt::OutboundPublish;
use tributary_rules::{Event, KafkaRecord};

use super::failure::DeliveryFailure;
use super::mapping::{CompiledMapping, Mappings};
use super::produce::SourceProducer;
use super::rules::SourceRules;
use crate::telemetry::RuleCounters;

#[derive(Debug, Default)]
pub struct DeliveryPlan {
    pub actions: Vec<PlannedAction>,
    pub failures: Vec<DeliveryFailure>,
    /// Whether a mapping or a rule took the record at all; a record nobody takes is dropped.
    pub taken: bool,
}

#[derive(Debug)]
pub struct PlannedAction {
    pub work: Work,
    /// A rule action also counts towards that rule's `actions.*` metrics.
    pub rule: Option<Arc<RuleCounters>>,
}

#[derive(Debug)]
pub enum Work {
    /// Through the source's MQTT connection.
    Publish(OutboundPublish),
    /// A rule output row for a `kafka_producer` action (the sink renders it).
    Produce {
        producer: SourceProducer,
        row: Value,
    },
}

/// Why a planned action did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionError {
    /// Final for this record: it can never succeed; its offset advances.
    Failed(DeliveryFailure),
    /// The source stopped first; the record stays uncommitted and is read again.
    Abandoned,
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
            map(mapping, &record, &mut plan);
        }
        if !self.rules.is_empty() {
            self.rules.apply(&Event::KafkaRecord(record), &mut plan);
        }
        plan
    }
}

/// The topic mapping's PUBLISH of one record. Its templates read the record in place: building
/// the record's JSON for them cost eight allocations per record.
fn map(mapping: &CompiledMapping, record: &KafkaRecord, plan: &mut DeliveryPlan) {
    plan.taken = true;
    match mapping.render(record) {
        Ok(publish) => plan.actions.push(PlannedAction {
            work: Work::Publish(publish),
            rule: None,
        }),
        Err(failure) => plan.failures.push(failure),
    }
}
