//! Who uses whom, as the views show it: the rules sending to an action or reading a source, the
//! actions and sources on a connector, and whether a resource is stopped because it or its
//! connector is disabled. Read once per request from the stored rows.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use tributary_rules::RuleInput;

use crate::error::ApiResult;
use crate::health_check::Health;
use crate::state::AppState;
use crate::store::bridges::{self, BridgeTable};
use crate::store::rules::RuleRow;
use crate::store::workers::{self, WorkerRecord};
use crate::store::{connectors, rules};
use crate::worker_reports::{ResourceStatus, StatusView, aggregate_status};

/// What one rule refers to.
#[derive(Debug)]
struct RuleLinks {
    id: String,
    /// Stored actions (`kafka_producer:<name>`).
    actions: Vec<String>,
    /// Names of the `kafka_consumer` sources in its FROM.
    sources: Vec<String>,
}

impl RuleLinks {
    fn of(row: &RuleRow) -> Self {
        let actions = row
            .actions
            .0
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        // Stored rules were parsed when saved; one that no longer parses reads no source.
        let sources = tributary_rules::Rule::parse(&row.sql)
            .map(|rule| {
                rule.inputs()
                    .iter()
                    .filter_map(|input| match input {
                        RuleInput::KafkaSource(name) => Some(name.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            id: row.id.clone(),
            actions,
            sources,
        }
    }
}

/// An action or source as its connector lists it.
#[derive(Debug)]
struct Child {
    name: String,
    connector: String,
    enable: bool,
    /// A source's `parameters.mqtt_connector` (absent means `default`).
    mqtt_connector: Option<String>,
}

#[derive(Debug)]
pub struct Relations {
    rules: Vec<RuleLinks>,
    actions: Vec<Child>,
    sources: Vec<Child>,
    /// `<type>:<name>` of the disabled connectors.
    disabled_connectors: HashSet<String>,
    /// `<type>:<name>` of the enabled connectors waiting for a `start`
    /// (`resource_opts.start_after_created` false).
    unstarted_connectors: HashSet<String>,
    workers: Vec<WorkerRecord>,
    /// This replica's health checks, for connectors no live worker reports.
    health: HashMap<String, Health>,
}

impl Relations {
    pub async fn load(state: &AppState) -> ApiResult<Self> {
        let pool = &state.pool;
        let rules = rules::list(pool).await?.iter().map(RuleLinks::of).collect();
        let child = |row: &bridges::BridgeRow| Child {
            name: row.name.clone(),
            connector: row.connector.clone(),
            enable: row.enable,
            mqtt_connector: row
                .parameters
                .0
                .get("mqtt_connector")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        let actions = bridges::list(pool, BridgeTable::Actions).await?;
        let sources = bridges::list(pool, BridgeTable::Sources).await?;
        let stored = connectors::list(pool).await?;
        let ids = |keep: fn(&connectors::ConnectorRow) -> bool| {
            stored
                .iter()
                .filter(|c| keep(c))
                .map(|c| format!("{}:{}", c.kind, c.name))
                .collect::<HashSet<String>>()
        };
        let disabled_connectors = ids(|c| !c.enable);
        let unstarted_connectors = ids(|c| c.enable && !c.started);
        Ok(Self {
            rules,
            actions: actions.iter().map(child).collect(),
            sources: sources.iter().map(child).collect(),
            disabled_connectors,
            unstarted_connectors,
            workers: workers::live(pool).await?,
            health: state.health.snapshot(),
        })
    }

    /// Ids of the rules sending to the stored action `action_id` (`kafka_producer:<name>`).
    pub fn rules_using_action(&self, action_id: &str) -> Vec<String> {
        self.rule_ids(|rule| rule.actions.iter().any(|a| a == action_id))
    }

    /// Ids of the rules whose FROM reads the source `name`.
    pub fn rules_reading_source(&self, name: &str) -> Vec<String> {
        self.rule_ids(|rule| rule.sources.iter().any(|s| s == name))
    }

    fn rule_ids(&self, keep: impl Fn(&RuleLinks) -> bool) -> Vec<String> {
        let mut ids: Vec<String> = self
            .rules
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Names of the actions and of the sources on a connector, sorted, as EMQX lists a
    /// connector's channels. An `mqtt` connector lists the sources publishing through it.
    pub fn connector_children(&self, kind: &str, name: &str) -> (Vec<String>, Vec<String>) {
        let names = |children: &[Child], keep: &dyn Fn(&Child) -> bool| {
            let mut names: Vec<String> = children
                .iter()
                .filter(|c| keep(c))
                .map(|c| c.name.clone())
                .collect();
            names.sort();
            names
        };
        match kind {
            "kafka_producer" => (names(&self.actions, &|c| c.connector == name), vec![]),
            "kafka_consumer" => (vec![], names(&self.sources, &|c| c.connector == name)),
            _ => (
                vec![],
                names(&self.sources, &|c| {
                    c.mqtt_connector.as_deref().unwrap_or("default") == name
                }),
            ),
        }
    }

    pub fn connector_enabled(&self, connector_id: &str) -> bool {
        !self.disabled_connectors.contains(connector_id)
    }

    /// A connector's status: `stopped` when disabled, otherwise what the live workers report,
    /// or when none runs it, this replica's health check (`connecting` until one ends).
    pub fn connector_status(&self, connector_id: &str, enable: bool) -> StatusView {
        if enable {
            self.enabled_connector_status(connector_id)
        } else {
            StatusView::stopped()
        }
    }

    /// An action's or source's status: `stopped` when it or its connector is disabled, otherwise
    /// its connector's.
    pub fn bridge_status(&self, enable: bool, connector_id: &str) -> StatusView {
        if enable && self.connector_enabled(connector_id) {
            self.enabled_connector_status(connector_id)
        } else {
            StatusView::stopped()
        }
    }

    /// The status of the stored action `action_id` (`kafka_producer:<name>`), as a rule's
    /// `action_details` shows it; `None` when there is no such action.
    pub fn action_status(&self, action_id: &str) -> Option<ResourceStatus> {
        let ("kafka_producer", name) = action_id.split_once(':')? else {
            return None;
        };
        let action = self.actions.iter().find(|a| a.name == name)?;
        let connector_id = format!("kafka_producer:{}", action.connector);
        Some(self.bridge_status(action.enable, &connector_id).status)
    }

    fn enabled_connector_status(&self, connector_id: &str) -> StatusView {
        if self.unstarted_connectors.contains(connector_id) {
            // EMQX leaves it stopped until started; say how to start it.
            return StatusView {
                status_reason: Some(crate::placement::not_started(connector_id)),
                ..StatusView::stopped()
            };
        }
        // Not checked here yet (created on another replica a moment ago): the sweep checks it
        // within a second.
        let checked = self.health.get(connector_id).unwrap_or(&Health::Checking);
        aggregate_status(connector_id, &self.workers, Some(checked))
    }
}
