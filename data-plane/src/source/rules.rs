//! Rules whose FROM names this source (`$bridges/kafka_consumer:<name>`), applied to each record.
//! Their `republish` actions publish through the source's MQTT connection and their
//! `kafka_producer` actions produce through the worker's Kafka sink, so the record's offset waits
//! for those acknowledgements too.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tributary_connect::republish::{RepublishError, RepublishTemplates};
use tributary_protocol::assignment::{KafkaProducerAction, ResolvedAction, RuleFlowSpec};
use tributary_rules::{Event, Output, Rule};

use super::error::SourceError;
use super::failure::{DeliveryFailure, check_topic};
use super::plan::{ActionError, DeliveryPlan, PlannedAction, Work};
use super::produce::SourceProducer;
use crate::flow::FlowEnv;
use crate::telemetry::{ResourceMetrics, RuleCounters};

#[derive(Debug, Default)]
pub struct SourceRules {
    rules: Vec<SourceRule>,
}

#[derive(Debug)]
struct SourceRule {
    id: String,
    rule: Rule,
    actions: Vec<RuleAction>,
    metrics: Arc<ResourceMetrics>,
    /// Its `actions.success` and `actions.failed`, also counted by the Kafka actions of records
    /// nobody awaits.
    counters: Arc<RuleCounters>,
}

#[derive(Debug)]
enum RuleAction {
    Republish(RepublishTemplates),
    KafkaProducer(SourceProducer),
    /// A stored action that does not exist or is disabled: counted as discarded.
    Discard,
    /// EMQX's `console`: the row goes to the log.
    Console,
}

impl SourceRules {
    /// Compiles the rules and starts their Kafka producers (which stop with `stop`). A rule
    /// whose SQL or templates do not compile is logged and left out (the control plane validates
    /// them on write, so this only guards against version skew); a producer that cannot start
    /// stops the source, so that no record passes it by.
    pub fn compile(
        specs: &[RuleFlowSpec],
        env: &FlowEnv,
        stop: &CancellationToken,
    ) -> Result<Self, SourceError> {
        let mut rules = Vec::with_capacity(specs.len());
        for spec in specs {
            rules.extend(compile_rule(spec, env, stop)?);
        }
        Ok(Self { rules })
    }

    /// Every Kafka producer of the rules, to flush at shutdown.
    pub fn producers(&self) -> Vec<SourceProducer> {
        self.rules
            .iter()
            .flat_map(|rule| &rule.actions)
            .filter_map(|action| match action {
                RuleAction::KafkaProducer(producer) => Some(producer.clone()),
                RuleAction::Republish(_) | RuleAction::Discard | RuleAction::Console => None,
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Applies every rule reading the source to one record, adding to `plan`.
    pub fn apply(&self, event: &Event, plan: &mut DeliveryPlan) {
        for rule in &self.rules {
            if !rule.rule.matches_input(event) {
                continue;
            }
            plan.taken = true;
            rule.metrics.inc("matched");
            let rows = match rule.rule.evaluate(event) {
                Ok(Output::NoMatch) => {
                    rule.metrics.inc("failed.no_result");
                    continue;
                }
                Ok(output) => output.into_rows(),
                Err(error) => {
                    rule.metrics.inc("failed");
                    rule.metrics.inc("failed.exception");
                    tracing::debug!(rule_id = %rule.id, %error, "rule failed on a Kafka record");
                    plan.failures.push(DeliveryFailure::RuleFailed {
                        rule_id: rule.id.clone(),
                        error,
                    });
                    continue;
                }
            };
            rule.metrics.inc("passed");
            for row in &rows {
                for action in &rule.actions {
                    rule.metrics.inc("actions.total");
                    let work = match action {
                        // Not created yet, or disabled: EMQX's `discard`.
                        RuleAction::Discard => {
                            rule.metrics.inc("actions.discarded");
                            continue;
                        }
                        RuleAction::Console => {
                            tracing::info!(rule_id = %rule.id, output = %row.to_json(), "console action");
                            rule.counters.succeeded();
                            continue;
                        }
                        RuleAction::Republish(templates) => templates
                            .render(row)
                            .map(Work::Publish)
                            .map_err(render_failure),
                        RuleAction::KafkaProducer(producer) => Ok(Work::Produce {
                            producer: producer.clone(),
                            row: row.to_json(),
                        }),
                    };
                    match work {
                        Ok(work) => plan.actions.push(PlannedAction {
                            work,
                            rule: Some(Arc::clone(&rule.counters)),
                        }),
                        Err(failure) => {
                            rule.counters.failed();
                            plan.failures.push(failure);
                        }
                    }
                }
            }
        }
    }
}

/// Counts how a rule's action ended under the rule's `actions.*` metrics. An abandoned action
/// (shutdown) is not counted: its record is read again.
pub fn count_action(rule: Option<&RuleCounters>, result: &Result<(), ActionError>) {
    let Some(rule) = rule else { return };
    match result {
        Ok(()) => rule.succeeded(),
        Err(ActionError::Failed(_)) => rule.failed(),
        Err(ActionError::Abandoned) => {}
    }
}

/// An action whose configuration compiled.
enum Compiled<'a> {
    Ready(RuleAction),
    /// A producer, started once the whole rule compiled.
    ToStart(&'a KafkaProducerAction),
}

/// The rule, or None (logged) when its SQL or templates do not compile; `Err` when one of its
/// Kafka producers cannot start.
fn compile_rule(
    spec: &RuleFlowSpec,
    env: &FlowEnv,
    stop: &CancellationToken,
) -> Result<Option<SourceRule>, SourceError> {
    let skip = |reason: String| {
        tracing::error!(rule_id = %spec.rule_id, %reason, "rule reading a source does not compile; it is skipped");
        Ok(None)
    };
    let rule = match Rule::parse(&spec.sql) {
        Ok(rule) => rule,
        Err(error) => return skip(error.to_string()),
    };
    // Templates first, so that a skipped rule starts no producer.
    let mut compiled = Vec::with_capacity(spec.actions.len());
    for action in &spec.actions {
        compiled.push(match action {
            ResolvedAction::Republish(args) => match RepublishTemplates::compile(args) {
                Ok(templates) => Compiled::Ready(RuleAction::Republish(templates)),
                Err(error) => return skip(error.to_string()),
            },
            ResolvedAction::KafkaProducer(producer) => Compiled::ToStart(producer),
            ResolvedAction::Discarded(_) => Compiled::Ready(RuleAction::Discard),
            ResolvedAction::Console => Compiled::Ready(RuleAction::Console),
        });
    }
    let mut actions = Vec::with_capacity(compiled.len());
    for action in compiled {
        actions.push(match action {
            Compiled::Ready(action) => action,
            Compiled::ToStart(producer) => RuleAction::KafkaProducer(
                SourceProducer::start(producer, env, stop.child_token()).map_err(|source| {
                    SourceError::KafkaAction {
                        action: producer.action_id.clone(),
                        source,
                    }
                })?,
            ),
        });
    }
    let metrics = env.metrics.resource(&format!("rule:{}", spec.rule_id));
    Ok(Some(SourceRule {
        id: spec.rule_id.clone(),
        rule,
        actions,
        metrics: Arc::clone(&metrics),
        counters: Arc::new(RuleCounters::new(metrics)),
    }))
}

fn render_failure(error: RepublishError) -> DeliveryFailure {
    match error {
        RepublishError::Rendered {
            field: "topic",
            value,
        } => check_topic(&value)
            .err()
            .unwrap_or(DeliveryFailure::Unrenderable {
                reason: format!("republish topic `{value}`"),
            }),
        other => DeliveryFailure::Unrenderable {
            reason: other.to_string(),
        },
    }
}
