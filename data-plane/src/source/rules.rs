//! Rules whose FROM names this source (`$bridges/kafka_consumer:<name>`), applied to each record.
//! Their `republish` actions publish through the source's MQTT connection, so the record's offset
//! waits for those PUBACKs too.

use std::sync::Arc;

use tributary_protocol::assignment::{ResolvedAction, RuleFlowSpec};
use tributary_rules::{Event, Output, Rule};

use super::failure::{DeliveryFailure, check_topic};
use super::plan::{DeliveryPlan, PlannedPublish};
use crate::sink::republish::{RepublishError, RepublishTemplates};
use crate::telemetry::{MetricsHub, ResourceMetrics};

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
}

#[derive(Debug)]
enum RuleAction {
    Republish(RepublishTemplates),
    /// An action sources cannot run yet (`kafka_producer`): every output fails it, counted.
    Unsupported(String),
}

impl SourceRules {
    /// Compiles the rules; one that does not compile is logged and left out (the control plane
    /// validates SQL and templates on write, so this only guards against version skew).
    pub fn compile(specs: &[RuleFlowSpec], hub: &MetricsHub) -> Self {
        let rules = specs
            .iter()
            .filter_map(|spec| match compile_rule(spec, hub) {
                Ok(rule) => Some(rule),
                Err(reason) => {
                    tracing::error!(rule_id = %spec.rule_id, %reason, "rule reading a source does not compile; it is skipped");
                    None
                }
            })
            .collect();
        Self { rules }
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
                    let rendered = match action {
                        RuleAction::Republish(templates) => {
                            templates.render(row).map_err(render_failure)
                        }
                        RuleAction::Unsupported(action) => {
                            Err(DeliveryFailure::UnsupportedAction {
                                rule_id: rule.id.clone(),
                                action: action.clone(),
                            })
                        }
                    };
                    match rendered {
                        Ok(publish) => plan.publishes.push(PlannedPublish {
                            publish,
                            rule: Some(Arc::clone(&rule.metrics)),
                        }),
                        Err(failure) => {
                            rule.metrics.inc("actions.failed");
                            rule.metrics.inc("actions.failed.unknown");
                            plan.failures.push(failure);
                        }
                    }
                }
            }
        }
    }
}

fn compile_rule(spec: &RuleFlowSpec, hub: &MetricsHub) -> Result<SourceRule, String> {
    let rule = Rule::parse(&spec.sql).map_err(|e| e.to_string())?;
    let actions = spec
        .actions
        .iter()
        .map(|action| match action {
            ResolvedAction::Republish(args) => RepublishTemplates::compile(args)
                .map(RuleAction::Republish)
                .map_err(|e| e.to_string()),
            ResolvedAction::KafkaProducer(producer) => {
                Ok(RuleAction::Unsupported(producer.action_id.clone()))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(SourceRule {
        id: spec.rule_id.clone(),
        rule,
        actions,
        metrics: hub.resource(&format!("rule:{}", spec.rule_id)),
    })
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
