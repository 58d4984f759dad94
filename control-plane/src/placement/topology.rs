//! The desired state as a graph for a flow designer: MQTT topic filters, Kafka topics, rules,
//! actions, sources and connectors as nodes; data paths and "uses" relations as edges. Resources
//! that are not (fully) placed carry the reasons.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use tributary_protocol::resources::{InlineAction, RuleActionRef};
use tributary_rules::{Rule, RuleInput};

use super::catalog::DEFAULT_MQTT_CONNECTOR;
use super::desired_state::DesiredState;
use super::place::Placement;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Topology {
    pub revision: u64,
    pub nodes: Vec<TopologyNode>,
    pub edges: Vec<TopologyEdge>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TopologyNode {
    /// `rule:<id>`, `action:<type>:<name>`, `source:<type>:<name>`, `connector:<type>:<name>`,
    /// `mqtt_topic_filter:<filter>`, `mqtt_topic:<template>`, `kafka_topic:<topic>` or
    /// `republish:<rule id>:<index>`.
    pub id: String,
    pub kind: NodeKind,
    pub label: String,
    /// False for disabled resources; always true for topics.
    pub enable: bool,
    /// Why the resource is not running, or runs without some of its actions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    MqttTopicFilter,
    MqttTopic,
    KafkaTopic,
    Rule,
    Action,
    Republish,
    Source,
    Connector,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct TopologyEdge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Messages flow from `from` to `to`.
    Data,
    /// `from` connects through the connector `to`.
    Uses,
}

#[derive(Default)]
struct Graph {
    nodes: BTreeMap<String, TopologyNode>,
    edges: BTreeSet<TopologyEdge>,
}

impl Graph {
    fn node(&mut self, id: String, kind: NodeKind, label: &str, enable: bool) -> String {
        self.nodes
            .entry(id.clone())
            .or_insert_with(|| TopologyNode {
                id: id.clone(),
                kind,
                label: label.to_owned(),
                enable,
                problems: Vec::new(),
            });
        id
    }

    fn topic(&mut self, kind: NodeKind, topic: &str) -> String {
        let prefix = match kind {
            NodeKind::MqttTopicFilter => "mqtt_topic_filter",
            NodeKind::MqttTopic => "mqtt_topic",
            _ => "kafka_topic",
        };
        self.node(format!("{prefix}:{topic}"), kind, topic, true)
    }

    fn edge(&mut self, from: &str, to: &str, kind: EdgeKind) {
        self.edges.insert(TopologyEdge {
            from: from.to_owned(),
            to: to.to_owned(),
            kind,
        });
    }
}

/// Builds the graph of `state`, annotated with `placement`'s problems.
pub fn topology(state: &DesiredState, placement: &Placement) -> Topology {
    let mut graph = Graph::default();
    for connector in &state.connectors {
        let id = format!("connector:{}:{}", connector.kind, connector.name);
        graph.node(id, NodeKind::Connector, &connector.name, connector.enable);
    }
    for action in &state.actions {
        let id = graph.node(
            format!("action:{}:{}", action.kind, action.name),
            NodeKind::Action,
            &action.name,
            action.enable,
        );
        graph.edge(
            &id,
            &format!("connector:{}:{}", action.kind, action.connector),
            EdgeKind::Uses,
        );
        if let Some(topic) = text(&action.parameters, "topic") {
            let topic = graph.topic(NodeKind::KafkaTopic, topic);
            graph.edge(&id, &topic, EdgeKind::Data);
        }
    }
    for source in &state.sources {
        let id = graph.node(
            format!("source:{}:{}", source.kind, source.name),
            NodeKind::Source,
            &source.name,
            source.enable,
        );
        graph.edge(
            &id,
            &format!("connector:{}:{}", source.kind, source.connector),
            EdgeKind::Uses,
        );
        let mqtt = text(&source.parameters, "mqtt_connector").unwrap_or(DEFAULT_MQTT_CONNECTOR);
        graph.edge(&id, &format!("connector:mqtt:{mqtt}"), EdgeKind::Uses);
        if let Some(topic) = text(&source.parameters, "topic") {
            let topic = graph.topic(NodeKind::KafkaTopic, topic);
            graph.edge(&topic, &id, EdgeKind::Data);
        }
        let mappings = source
            .parameters
            .get("topic_mapping")
            .and_then(Value::as_array);
        for mapping in mappings.into_iter().flatten() {
            if let (Some(kafka), Some(mqtt)) =
                (text(mapping, "kafka_topic"), text(mapping, "mqtt_topic"))
            {
                let kafka = graph.topic(NodeKind::KafkaTopic, kafka);
                let mqtt = graph.topic(NodeKind::MqttTopic, mqtt);
                graph.edge(&kafka, &id, EdgeKind::Data);
                graph.edge(&id, &mqtt, EdgeKind::Data);
            }
        }
    }
    for rule in &state.rules {
        add_rule(&mut graph, rule);
    }
    for problem in &placement.problems {
        if let Some(node) = graph.nodes.get_mut(&problem.resource_id) {
            node.problems.push(problem.reason.clone());
        }
    }
    Topology {
        revision: state.revision,
        nodes: graph.nodes.into_values().collect(),
        edges: graph.edges.into_iter().collect(),
    }
}

fn add_rule(graph: &mut Graph, rule: &super::desired_state::RuleRow) {
    let id = graph.node(
        format!("rule:{}", rule.id),
        NodeKind::Rule,
        &rule.id,
        rule.enable,
    );
    let mqtt = rule
        .mqtt_connector
        .as_deref()
        .unwrap_or(DEFAULT_MQTT_CONNECTOR);
    graph.edge(&id, &format!("connector:mqtt:{mqtt}"), EdgeKind::Uses);
    // A rule whose SQL does not parse still appears; its problem says why it has no inputs.
    let inputs = Rule::parse(&rule.sql)
        .map(|parsed| parsed.inputs().to_vec())
        .unwrap_or_default();
    for input in inputs {
        match input {
            RuleInput::TopicFilter(filter) => {
                let filter = graph.topic(NodeKind::MqttTopicFilter, &filter);
                graph.edge(&filter, &id, EdgeKind::Data);
            }
            RuleInput::KafkaSource(name) => {
                graph.edge(
                    &format!("source:kafka_consumer:{name}"),
                    &id,
                    EdgeKind::Data,
                );
            }
            RuleInput::Event(_) => {}
        }
    }
    let references: Vec<RuleActionRef> =
        serde_json::from_value(rule.actions.clone()).unwrap_or_default();
    for (index, reference) in references.into_iter().enumerate() {
        match reference {
            RuleActionRef::Stored(action_id) => {
                graph.edge(&id, &format!("action:{action_id}"), EdgeKind::Data);
            }
            RuleActionRef::Inline(InlineAction::Republish(args)) => {
                let republish = graph.node(
                    format!("republish:{}:{index}", rule.id),
                    NodeKind::Republish,
                    "republish",
                    rule.enable,
                );
                let topic = graph.topic(NodeKind::MqttTopic, &args.topic);
                graph.edge(&id, &republish, EdgeKind::Data);
                graph.edge(&republish, &topic, EdgeKind::Data);
            }
            // Only the worker's log: nothing downstream to draw.
            RuleActionRef::Inline(InlineAction::Console(_)) => {}
        }
    }
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}
