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
}

// Same reasoning as for `FlowSpec`: few, long-lived values.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResolvedAction {
    KafkaProducer(KafkaProducerAction),
    Republish(RepublishArgs),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KafkaProducerAction {
    /// `kafka_producer:<name>`, the id metrics are reported under.
    pub action_id: String,
    pub connector_name: String,
    pub connector: KafkaConnectorConfig,
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
}
