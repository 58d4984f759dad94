//! The placement function: desired state in, the flows every live worker runs out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tributary_protocol::assignment::FlowSpec;

use super::catalog::Catalog;
use super::desired_state::DesiredState;
use super::rule_flows::{parse_enabled_rules, resolve_rule};
use super::source_flows::resolve_source;
use super::version::flow_version;

/// The outcome of placing one configuration revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub revision: u64,
    /// Sorted by flow id.
    pub flows: Vec<PlacedFlow>,
    /// Why resources are not running (or run without some of their actions), sorted.
    pub problems: Vec<PlacementProblem>,
    pub metric_resets: BTreeMap<String, u64>,
}

/// One flow, ready to send: its spec, serialised once, and the version derived from it.
#[derive(Clone, PartialEq)]
pub struct PlacedFlow {
    /// `rule:<id>` or `source:kafka_consumer:<name>`.
    pub id: String,
    pub version: String,
    pub spec: FlowSpec,
    /// Carries connector secrets: never log it.
    pub spec_json: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct PlacementProblem {
    /// `rule:<id>`, `action:<type>:<name>` or `source:<type>:<name>`.
    pub resource_id: String,
    pub reason: String,
}

impl Placement {
    /// The reasons recorded for one resource, e.g. to explain why a rule is not running.
    pub fn problems_of<'a>(&'a self, resource_id: &'a str) -> impl Iterator<Item = &'a str> {
        self.problems
            .iter()
            .filter(move |problem| problem.resource_id == resource_id)
            .map(|problem| problem.reason.as_str())
    }
}

// The spec holds secrets; show only what identifies the flow.
impl std::fmt::Debug for PlacedFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlacedFlow")
            .field("id", &self.id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Collects placement problems, deduplicated (an action shared by many rules is reported once).
#[derive(Debug, Default)]
pub struct Problems(BTreeSet<PlacementProblem>);

impl Problems {
    pub fn add(&mut self, resource_id: String, reason: String) {
        self.0.insert(PlacementProblem {
            resource_id,
            reason,
        });
    }
}

/// Places every enabled rule that reads MQTT topics and every enabled source (with the rules that
/// read it). Pure: the same desired state always yields the same flows and versions.
pub fn place(state: &DesiredState) -> Placement {
    let catalog = Catalog::new(state);
    let mut problems = Problems::default();
    let rules = parse_enabled_rules(&state.rules, &mut problems);
    let mut flows = Vec::new();

    for rule in &rules {
        if rule.reads_topics()
            && let Some(spec) = resolve_rule(&catalog, rule, &mut problems)
        {
            flows.push(FlowSpec::Rule(spec));
        }
        if !rule.reads_topics() && rule.sources_read().next().is_none() {
            problems.add(
                rule.resource_id(),
                "not running: FROM names neither an MQTT topic filter nor a Kafka source"
                    .to_owned(),
            );
        }
        for source_name in rule.sources_read() {
            let source = state
                .sources
                .iter()
                .find(|source| source.name == source_name);
            let missing = match source {
                None => Some("does not exist"),
                Some(source) if !source.enable => Some("is disabled"),
                Some(_) => None,
            };
            if let Some(missing) = missing {
                problems.add(
                    rule.resource_id(),
                    format!("source `kafka_consumer:{source_name}` in FROM {missing}"),
                );
            }
        }
    }

    for source in state.sources.iter().filter(|source| source.enable) {
        if let Some(spec) = resolve_source(&catalog, source, &rules, &mut problems) {
            flows.push(FlowSpec::Source(spec));
        }
    }

    let mut placed: Vec<PlacedFlow> = flows
        .into_iter()
        .filter_map(|spec| seal(spec, &mut problems))
        .collect();
    placed.sort_by(|a, b| a.id.cmp(&b.id));
    Placement {
        revision: state.revision,
        flows: placed,
        problems: problems.0.into_iter().collect(),
        metric_resets: state.metric_resets.clone(),
    }
}

fn seal(spec: FlowSpec, problems: &mut Problems) -> Option<PlacedFlow> {
    let id = spec.flow_id();
    match serde_json::to_string(&spec) {
        Ok(spec_json) => Some(PlacedFlow {
            version: flow_version(&spec_json),
            id,
            spec,
            spec_json,
        }),
        // Only a non-string map key could fail here; report it rather than drop it silently.
        Err(err) => {
            problems.add(
                id,
                format!("not running: its spec cannot be serialised: {err}"),
            );
            None
        }
    }
}
