//! What a worker runs: flows, fully resolved by the control plane (rule SQL with its actions and
//! connectors, or a source with its connectors and the rules that read it), so a worker needs no
//! other lookup. Travels as `Flow.spec_json` in the gRPC assignment.
//!
//! These carry connector secrets: never log them.

use serde::{Deserialize, Serialize};

use crate::resources::{
    KafkaConnectorConfig, KafkaConsumerParameters, KafkaProducerParameters, MqttConnectorConfig,
    RepublishArgs,
};

// Specs are built once per assignment and held a handful at a time; boxing the larger variant
// would only add indirection to every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FlowSpec {
    /// MQTT ingest: subscribe to the rule's topic filters, evaluate, run the actions.
    Rule(RuleFlowSpec),
    /// Kafka consumption: deliver records through topic mappings and to the rules that read it.
    Source(SourceFlowSpec),
}

/// A rule whose FROM names MQTT topic filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFlowSpec {
    pub rule_id: String,
    pub sql: String,
    /// The broker the rule subscribes on (the rule's `mqtt_connector`, else `default`);
    /// `republish` actions publish through it too.
    pub mqtt: NamedMqttConnector,
    pub actions: Vec<ResolvedAction>,
}

/// A Kafka consumer source, with the rules whose FROM names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFlowSpec {
    /// `kafka_consumer:<name>`
    pub source_id: String,
    pub name: String,
    pub connector_name: String,
    pub kafka: KafkaConnectorConfig,
    /// See [`NamedMqttConnector::starts`]; of the Kafka connector.
    #[serde(default)]
    pub connector_starts: u64,
    pub parameters: KafkaConsumerParameters,
    /// The broker topic mappings and `republish` actions publish through.
    pub mqtt: NamedMqttConnector,
    /// Rules whose FROM includes `$bridges/kafka_consumer:<name>` (or `$sources/...`).
    pub rules: Vec<RuleFlowSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedMqttConnector {
    pub name: String,
    pub config: MqttConnectorConfig,
    /// How many times `POST /connectors/{id}/start` restarted the connector. Workers key their
    /// clients by it as by the configuration, so a start gives every flow on the connector new
    /// clients (EMQX restarts the resource); a flow's version changes with it.
    #[serde(default)]
    pub starts: u64,
}

// Same reasoning as for `FlowSpec`: few, long-lived values.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResolvedAction {
    KafkaProducer(KafkaProducerAction),
    Republish(RepublishArgs),
    /// A stored action the rule names that does not exist or is disabled: as EMQX does, each
    /// output row counts it under the rule's `actions.total` and `actions.discarded`, and sends
    /// nothing.
    Discarded(DiscardedAction),
    /// EMQX's `console`: each output row is logged by the worker and counted a success.
    Console,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscardedAction {
    /// `<type>:<name>` as the rule names it.
    pub action_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KafkaProducerAction {
    /// `kafka_producer:<name>`, the id metrics are reported under.
    pub action_id: String,
    pub connector_name: String,
    pub connector: KafkaConnectorConfig,
    /// See [`NamedMqttConnector::starts`]; of the Kafka connector.
    #[serde(default)]
    pub connector_starts: u64,
    pub parameters: KafkaProducerParameters,
}

impl FlowSpec {
    /// The id a flow is reported under: `rule:<id>` or `source:kafka_consumer:<name>`.
    pub fn flow_id(&self) -> String {
        match self {
            Self::Rule(rule) => format!("rule:{}", rule.rule_id),
            Self::Source(source) => format!("source:{}", source.source_id),
        }
    }

    /// Every resource this flow reports metrics under (`rule:<id>`, `action:<type>:<name>`,
    /// `source:<type>:<name>`): while some running flow names a resource, its metrics are kept.
    pub fn metric_resources(&self) -> Vec<String> {
        match self {
            Self::Rule(rule) => rule.metric_resources(),
            Self::Source(source) => source.metric_resources(),
        }
    }
}

impl RuleFlowSpec {
    /// The rule and its Kafka actions (see [`FlowSpec::metric_resources`]).
    pub fn metric_resources(&self) -> Vec<String> {
        let actions = self.actions.iter().filter_map(|action| match action {
            ResolvedAction::KafkaProducer(kafka) => Some(format!("action:{}", kafka.action_id)),
            ResolvedAction::Republish(_)
            | ResolvedAction::Discarded(_)
            | ResolvedAction::Console => None,
        });
        std::iter::once(format!("rule:{}", self.rule_id))
            .chain(actions)
            .collect()
    }
}

impl SourceFlowSpec {
    /// The source, the rules that read it and their actions (see [`FlowSpec::metric_resources`]).
    pub fn metric_resources(&self) -> Vec<String> {
        std::iter::once(format!("source:{}", self.source_id))
            .chain(self.rules.iter().flat_map(RuleFlowSpec::metric_resources))
            .collect()
    }
}
