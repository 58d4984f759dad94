//! Rules: parsed once to learn what they read, then resolved (MQTT connector, actions) into the
//! `RuleFlowSpec` both MQTT rule flows and Kafka source flows embed.

use tributary_protocol::assignment::{DiscardedAction, ResolvedAction, RuleFlowSpec};
use tributary_protocol::resources::{InlineAction, RuleActionRef};
use tributary_rules::{Rule, RuleInput};

use super::catalog::Catalog;
use super::desired_state::RuleRow;
use super::place::Problems;

/// An enabled rule whose SQL parsed.
pub struct ParsedRule<'a> {
    pub row: &'a RuleRow,
    pub inputs: Vec<RuleInput>,
}

impl ParsedRule<'_> {
    pub fn resource_id(&self) -> String {
        rule_resource_id(&self.row.id)
    }

    pub fn reads_topics(&self) -> bool {
        self.inputs
            .iter()
            .any(|input| matches!(input, RuleInput::TopicFilter(_)))
    }

    pub fn reads_source(&self, source_name: &str) -> bool {
        self.inputs
            .iter()
            .any(|input| matches!(input, RuleInput::KafkaSource(name) if name == source_name))
    }

    pub fn sources_read(&self) -> impl Iterator<Item = &str> {
        self.inputs.iter().filter_map(|input| match input {
            RuleInput::KafkaSource(name) => Some(name.as_str()),
            _ => None,
        })
    }
}

pub fn rule_resource_id(rule_id: &str) -> String {
    format!("rule:{rule_id}")
}

/// Parses every enabled rule; a rule whose SQL does not parse is reported and left out.
pub fn parse_enabled_rules<'a>(
    rules: &'a [RuleRow],
    problems: &mut Problems,
) -> Vec<ParsedRule<'a>> {
    rules
        .iter()
        .filter(|row| row.enable)
        .filter_map(|row| match Rule::parse(&row.sql) {
            Ok(rule) => Some(ParsedRule {
                row,
                inputs: rule.inputs().to_vec(),
            }),
            Err(err) => {
                problems.add(
                    rule_resource_id(&row.id),
                    format!(
                        "SQL does not parse (line {}, column {}): {}",
                        err.line, err.column, err.message
                    ),
                );
                None
            }
        })
        .collect()
}

/// Resolves a rule's MQTT connector and actions. `None` when the rule cannot run at all; actions
/// that cannot run are left out (and reported) while the rest of the rule keeps running.
pub fn resolve_rule(
    catalog: &Catalog<'_>,
    rule: &ParsedRule<'_>,
    problems: &mut Problems,
) -> Option<RuleFlowSpec> {
    let row = rule.row;
    let mqtt = match catalog.mqtt_connector(row.mqtt_connector.as_deref()) {
        Ok(mqtt) => mqtt,
        Err(reason) => {
            problems.add(rule.resource_id(), format!("not running: {reason}"));
            return None;
        }
    };
    let references: Vec<RuleActionRef> = match serde_json::from_value(row.actions.clone()) {
        Ok(references) => references,
        Err(err) => {
            problems.add(
                rule.resource_id(),
                format!("not running: its stored actions cannot be read: {err}"),
            );
            return None;
        }
    };
    let mut actions = Vec::with_capacity(references.len());
    for reference in references {
        match reference {
            RuleActionRef::Inline(InlineAction::Republish(args)) => {
                actions.push(ResolvedAction::Republish(args));
            }
            RuleActionRef::Inline(InlineAction::Console(_)) => {
                actions.push(ResolvedAction::Console);
            }
            RuleActionRef::Stored(action_id) => match catalog.action(&action_id) {
                Ok(Some(action)) => {
                    actions.push(ResolvedAction::KafkaProducer(action));
                }
                // Disabled, or not created yet: EMQX counts it discarded for each output row.
                Ok(None) => actions.push(ResolvedAction::Discarded(DiscardedAction { action_id })),
                Err(reason) => {
                    let exists = catalog.action_exists(&action_id);
                    if exists {
                        problems.add(format!("action:{action_id}"), reason.clone());
                    }
                    problems.add(rule.resource_id(), format!("action skipped: {reason}"));
                    if !exists {
                        actions.push(ResolvedAction::Discarded(DiscardedAction { action_id }));
                    }
                }
            },
        }
    }
    Some(RuleFlowSpec {
        rule_id: row.id.clone(),
        sql: row.sql.clone(),
        mqtt,
        actions,
    })
}
