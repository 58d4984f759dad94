//! Kafka consumer sources: the source's connectors and parameters plus every rule that names the
//! source in FROM.

use tributary_protocol::assignment::SourceFlowSpec;
use tributary_protocol::resources::{ConnectorType, KafkaConsumerParameters, SourceType};

use super::catalog::Catalog;
use super::desired_state::SourceRow;
use super::place::Problems;
use super::rule_flows::{ParsedRule, resolve_rule};

pub fn source_resource_id(kind: &str, name: &str) -> String {
    format!("source:{kind}:{name}")
}

/// Resolves one enabled source; `None` (with the reason reported) when it cannot run.
pub fn resolve_source(
    catalog: &Catalog<'_>,
    row: &SourceRow,
    rules: &[ParsedRule<'_>],
    problems: &mut Problems,
) -> Option<SourceFlowSpec> {
    let resource_id = source_resource_id(&row.kind, &row.name);
    let kafka_consumer = SourceType::KafkaConsumer.as_str();
    if row.kind != kafka_consumer {
        problems.add(resource_id, format!("unknown source type `{}`", row.kind));
        return None;
    }
    let parameters: KafkaConsumerParameters = match serde_json::from_value(row.parameters.clone()) {
        Ok(parameters) => parameters,
        Err(err) => {
            problems.add(
                resource_id,
                format!("not running: its stored parameters cannot be read: {err}"),
            );
            return None;
        }
    };
    let resolved = catalog
        .kafka_connector(ConnectorType::KafkaConsumer, &row.connector)
        .and_then(|kafka| {
            let mqtt = catalog.mqtt_connector(parameters.mqtt_connector.as_deref())?;
            Ok((kafka, mqtt))
        });
    let ((kafka, connector_starts), mqtt) = match resolved {
        Ok(connectors) => connectors,
        Err(reason) => {
            problems.add(resource_id, format!("not running: {reason}"));
            return None;
        }
    };
    let rules = rules
        .iter()
        .filter(|rule| rule.reads_source(&row.name))
        .filter_map(|rule| resolve_rule(catalog, rule, problems))
        .collect();
    Some(SourceFlowSpec {
        source_id: format!("{kafka_consumer}:{}", row.name),
        name: row.name.clone(),
        connector_name: row.connector.clone(),
        kafka,
        connector_starts,
        parameters,
        mqtt,
        rules,
    })
}
