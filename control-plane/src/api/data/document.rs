//! The configuration document `GET /data/export` writes and `POST /data/import` reads: every
//! connector, action, source and rule, each in the body its create endpoint takes, so any item
//! can also be POSTed on its own.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tributary_protocol::resources::ConnectorType;
use utoipa::ToSchema;

use super::sealing::{self, Sealer, SecretsEncryption};
use crate::api::bridges::{BridgeKind, BridgeResourceOptions};
use crate::api::connector_config::ConnectorConfig;
use crate::error::{ApiError, ApiResult};
use crate::store::bridges::BridgeRow;
use crate::store::connectors::ConnectorRow;
use crate::store::rules::{NewRule, RuleRow};

/// The document's layout; bumped when it changes incompatibly, refused when unknown.
pub const FORMAT_VERSION: u32 = 1;

/// Every connector, action, source and rule. Sections left out are empty.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowDocument {
    /// The layout of this document: `1`.
    pub format_version: u32,
    /// Present when the connectors' secrets are sealed with a passphrase (`enc:v1:...`
    /// values); importing the document needs the same passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_encryption: Option<SecretsEncryption>,
    /// `POST /connectors` bodies. Secrets are `******` unless exported with
    /// `include_secrets=true` (in clear) or a passphrase (sealed); on import `******` keeps the
    /// stored secret.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub connectors: Vec<Value>,
    /// `POST /actions` bodies.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<Value>,
    /// `POST /sources` bodies.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub sources: Vec<Value>,
    /// `POST /rules` bodies; `id` is required here, so that applying a document again updates
    /// the same rules.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<Value>,
}

pub fn connector_type(text: &str) -> ApiResult<ConnectorType> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|_| ApiError::Internal(format!("unknown stored connector type `{text}`")))
}

/// A connector's body; `config` is what is stored (secrets included) or what would be.
pub fn connector_item(
    kind: ConnectorType,
    name: &str,
    enable: bool,
    description: &str,
    config: &ConnectorConfig,
) -> ApiResult<Value> {
    let mut item = Map::new();
    item.insert("type".to_owned(), json!(kind.as_str()));
    item.insert("name".to_owned(), json!(name));
    item.insert("enable".to_owned(), json!(enable));
    item.insert("description".to_owned(), json!(description));
    if let Value::Object(fields) = config.to_json()? {
        item.extend(fields);
    }
    Ok(Value::Object(item))
}

/// How an export writes connector secrets.
#[derive(Debug, Clone, Copy)]
pub enum SecretsOut<'a> {
    /// `******`, which an import reads as "keep the stored secret".
    Masked,
    Clear,
    /// Sealed with a passphrase's key (see `sealing`).
    Sealed(&'a Sealer),
}

/// A stored connector's body, its secrets written as `secrets` says.
pub fn stored_connector(row: &ConnectorRow, secrets: SecretsOut<'_>) -> ApiResult<Value> {
    let kind = connector_type(&row.kind)?;
    let mut config = ConnectorConfig::from_stored(kind, &row.config.0)?;
    match secrets {
        SecretsOut::Masked => config = config.masked(),
        SecretsOut::Clear => {}
        SecretsOut::Sealed(sealer) => {
            let mut failure = None;
            config.for_each_secret(&mut |field, value| match sealer
                .seal(value, &sealing::context(kind.as_str(), &row.name, field))
            {
                Ok(sealed) => *value = sealed,
                Err(error) => failure = Some(error),
            });
            if let Some(error) = failure {
                return Err(error);
            }
        }
    }
    connector_item(kind, &row.name, row.enable, &row.description, &config)
}

/// An action's or source's body, its parts already as JSON.
#[derive(Debug)]
pub struct BridgeItem<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub enable: bool,
    pub description: &'a str,
    pub connector: &'a str,
    pub parameters: &'a Value,
    pub resource_opts: &'a Value,
    pub tags: &'a Value,
}

impl BridgeItem<'_> {
    pub fn to_value(&self) -> Value {
        json!({
            "type": self.kind,
            "name": self.name,
            "enable": self.enable,
            "description": self.description,
            "connector": self.connector,
            "parameters": self.parameters,
            "resource_opts": self.resource_opts,
            "tags": self.tags,
        })
    }
}

/// A stored action's or source's body, its parts decoded and encoded again so that it compares
/// equal with the same body read from a document (defaults filled in the same way).
pub fn stored_bridge<K: BridgeKind>(row: &BridgeRow) -> ApiResult<Value> {
    let parameters = normalized::<K::Parameters>(row, "parameters", &row.parameters.0)?;
    let resource_opts =
        normalized::<BridgeResourceOptions>(row, "resource_opts", &row.resource_opts.0)?;
    Ok(BridgeItem {
        kind: &row.kind,
        name: &row.name,
        enable: row.enable,
        description: &row.description,
        connector: &row.connector,
        parameters: &parameters,
        resource_opts: &resource_opts,
        tags: &row.tags.0,
    }
    .to_value())
}

fn normalized<T: DeserializeOwned + Serialize>(
    row: &BridgeRow,
    what: &str,
    stored: &Value,
) -> ApiResult<Value> {
    let decoded: T = serde_json::from_value(stored.clone()).map_err(|e| {
        ApiError::Internal(format!(
            "stored `{}:{}` {what} does not decode: {e}",
            row.kind, row.name
        ))
    })?;
    to_json(&decoded)
}

/// A rule's body, as its row would be written. An absent MQTT connector is written `default`,
/// as `GET /rules` shows it.
pub fn rule_item(rule: &NewRule<'_>) -> Value {
    json!({
        "id": rule.id,
        "name": rule.name,
        "sql": rule.sql,
        "actions": rule.actions,
        "enable": rule.enable,
        "description": rule.description,
        "metadata": rule.metadata,
        "mqtt_connector": rule.mqtt_connector.unwrap_or("default"),
    })
}

pub fn stored_rule(row: &RuleRow) -> Value {
    rule_item(&NewRule {
        id: &row.id,
        name: &row.name,
        sql: &row.sql,
        actions: &row.actions.0,
        enable: row.enable,
        description: &row.description,
        metadata: &row.metadata.0,
        mqtt_connector: row.mqtt_connector.as_deref(),
    })
}

pub fn to_json<T: Serialize>(value: &T) -> ApiResult<Value> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("serializing: {e}")))
}
