//! Lookups of stored connectors and actions by id, resolved into the typed configs flows carry.
//! Every failure is a sentence naming the resource, shown to users as the reason a flow is not
//! placed.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use tributary_protocol::assignment::{KafkaProducerAction, NamedMqttConnector};
use tributary_protocol::resources::{ActionType, ConnectorType, KafkaConnectorConfig};

use super::desired_state::{ActionRow, ConnectorRow, DesiredState};

/// Why a connector with `resource_opts.start_after_created` false does not run yet.
pub fn not_started(connector_id: &str) -> String {
    format!(
        "connector `{connector_id}` is stopped: its resource_opts.start_after_created is false and \
         it was not started since it was created, updated or enabled \
         (POST /api/v5/connectors/{connector_id}/start starts it)"
    )
}

/// The connector rules and sources use when they name none.
pub const DEFAULT_MQTT_CONNECTOR: &str = "default";

pub struct Catalog<'a> {
    connectors: HashMap<(&'a str, &'a str), &'a ConnectorRow>,
    actions: HashMap<(&'a str, &'a str), &'a ActionRow>,
}

impl<'a> Catalog<'a> {
    pub fn new(state: &'a DesiredState) -> Self {
        Self {
            connectors: state
                .connectors
                .iter()
                .map(|row| ((row.kind.as_str(), row.name.as_str()), row))
                .collect(),
            actions: state
                .actions
                .iter()
                .map(|row| ((row.kind.as_str(), row.name.as_str()), row))
                .collect(),
        }
    }

    pub fn mqtt_connector(&self, name: Option<&str>) -> Result<NamedMqttConnector, String> {
        let name = name.unwrap_or(DEFAULT_MQTT_CONNECTOR);
        let (config, starts) = self.enabled_connector(ConnectorType::Mqtt, name)?;
        Ok(NamedMqttConnector {
            name: name.to_owned(),
            config,
            starts,
        })
    }

    /// The connector's configuration and how many times `start` restarted it.
    pub fn kafka_connector(
        &self,
        kind: ConnectorType,
        name: &str,
    ) -> Result<(KafkaConnectorConfig, u64), String> {
        self.enabled_connector(kind, name)
    }

    /// Resolves `"<type>:<name>"` from a rule's `actions` list; `None` when the user disabled the
    /// action (the rule runs without it).
    pub fn action(&self, action_id: &str) -> Result<Option<KafkaProducerAction>, String> {
        let kafka_producer = ActionType::KafkaProducer.as_str();
        let Some((kind, name)) = action_id.split_once(':') else {
            return Err(format!(
                "action `{action_id}` is not of the form `<type>:<name>`"
            ));
        };
        if kind != kafka_producer {
            return Err(format!("action `{action_id}` has an unknown type `{kind}`"));
        }
        let Some(row) = self.actions.get(&(kind, name)) else {
            return Err(format!("action `{action_id}` does not exist"));
        };
        if !row.enable {
            return Ok(None);
        }
        let parameters = parse_body(&row.parameters)
            .map_err(|err| format!("action `{action_id}` has invalid parameters: {err}"))?;
        let (connector, connector_starts) = self
            .enabled_connector(ConnectorType::KafkaProducer, &row.connector)
            .map_err(|reason| format!("action `{action_id}` cannot run: {reason}"))?;
        Ok(Some(KafkaProducerAction {
            action_id: format!("{kafka_producer}:{name}"),
            connector_name: row.connector.clone(),
            connector,
            connector_starts,
            parameters,
        }))
    }

    /// Whether `"<type>:<name>"` names a stored action (enabled or not).
    pub fn action_exists(&self, action_id: &str) -> bool {
        action_id
            .split_once(':')
            .is_some_and(|key| self.actions.contains_key(&key))
    }

    fn enabled_connector<T: DeserializeOwned>(
        &self,
        kind: ConnectorType,
        name: &str,
    ) -> Result<(T, u64), String> {
        let id = format!("{}:{name}", kind.as_str());
        let Some(row) = self.connectors.get(&(kind.as_str(), name)) else {
            return Err(format!("connector `{id}` does not exist"));
        };
        if !row.enable {
            return Err(format!("connector `{id}` is disabled"));
        }
        if !row.started {
            return Err(not_started(&id));
        }
        // serde's message may quote a field's value, and connector configs hold secrets.
        let config = parse_body(&row.config).map_err(|_| {
            format!("connector `{id}` has a stored config this version cannot read")
        })?;
        Ok((config, u64::try_from(row.starts).unwrap_or(0)))
    }
}

// Stored bodies were validated when written; this guards against rows written by an older
// version or by hand, so one bad row never takes down the placement of everything else.
fn parse_body<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, serde_json::Error> {
    T::deserialize(value)
}
