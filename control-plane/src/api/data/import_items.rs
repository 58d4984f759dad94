//! Applying one item of an import inside its transaction: create it when missing, update it when
//! it differs from what is stored, leave it alone when equal. Validation is the create
//! endpoints'; `******` secrets keep the stored ones, as `PUT /connectors/{id}` does.

use serde_json::Value;
use sqlx::PgConnection;
use tributary_protocol::resources::FieldError;

use super::diff;
use super::document::{self, BridgeItem, to_json};
use super::import::{Change, ItemChange};
use crate::api::bridges::{self, BridgeKind};
use crate::api::connector_config::ConnectorConfig;
use crate::api::connectors::parse_new;
use crate::api::{envelope, rule_body};
use crate::error::{ApiError, ApiResult};
use crate::store::bridges::{self as bridge_store, NewBridge};
use crate::store::connectors::{self, NewConnector};
use crate::store::rules::{self, NewRule};
use crate::validation::references;

/// What a change is, decided by comparing the stored body with the wanted one.
fn change_of(stored: Option<&Value>, wanted: &Value) -> (Change, Vec<String>) {
    match stored {
        None => (Change::Create, Vec::new()),
        Some(stored) => {
            let fields = diff::changed_fields(stored, wanted);
            if fields.is_empty() {
                (Change::Unchanged, fields)
            } else {
                (Change::Update, fields)
            }
        }
    }
}

pub async fn connector(conn: &mut PgConnection, item: Value) -> ApiResult<ItemChange> {
    let mut input = parse_new(item)?;
    let id = format!("{}:{}", input.kind.as_str(), input.name);
    let stored = connectors::lock_exclusive(conn, input.kind.as_str(), &input.name).await?;
    if let Some(row) = &stored {
        input
            .config
            .keep_masked_from(&ConnectorConfig::from_stored(input.kind, &row.config.0)?);
    }
    envelope::reject_if_any(input.config.masked_fields())?;
    let enable = input.enable.unwrap_or(true);
    let wanted = document::connector_item(
        input.kind,
        &input.name,
        enable,
        &input.description,
        &input.config,
    )?;
    let stored_item = stored
        .as_ref()
        .map(|row| document::stored_connector(row, document::SecretsOut::Clear))
        .transpose()?;
    let (change, fields) = change_of(stored_item.as_ref(), &wanted);
    let config = input.config.to_json()?;
    let new = NewConnector {
        kind: input.kind.as_str(),
        name: &input.name,
        enable,
        description: &input.description,
        config: &config,
    };
    match change {
        Change::Create => {
            connectors::insert(&mut *conn, &new).await?;
        }
        Change::Update => {
            connectors::update(conn, &new).await?;
        }
        Change::Unchanged | Change::Delete => {}
    }
    Ok(ItemChange::new("connector", id, change, fields))
}

pub async fn bridge<K: BridgeKind>(conn: &mut PgConnection, item: Value) -> ApiResult<ItemChange> {
    let input = bridges::parse::<K>(item, None)?;
    let id = format!("{}:{}", K::TYPE, input.name);
    references::connector(conn, "connector", K::CONNECTOR_TYPE, &input.connector).await?;
    K::check_references(conn, &input.parameters).await?;
    let stored = bridge_store::lock_exclusive(conn, K::TABLE, K::TYPE, &input.name).await?;
    let parameters = to_json(&input.parameters)?;
    let resource_opts = to_json(&input.resource_opts)?;
    let tags = to_json(&input.tags)?;
    let enable = input.enable.unwrap_or(true);
    let wanted = BridgeItem {
        kind: K::TYPE,
        name: &input.name,
        enable,
        description: &input.description,
        connector: &input.connector,
        parameters: &parameters,
        resource_opts: &resource_opts,
        tags: &tags,
    }
    .to_value();
    let stored_item = stored
        .as_ref()
        .map(document::stored_bridge::<K>)
        .transpose()?;
    let (change, fields) = change_of(stored_item.as_ref(), &wanted);
    let new = NewBridge {
        kind: K::TYPE,
        name: &input.name,
        connector: &input.connector,
        enable,
        description: &input.description,
        parameters: &parameters,
        resource_opts: &resource_opts,
        tags: &tags,
    };
    match change {
        Change::Create => {
            bridge_store::insert(conn, K::TABLE, &new).await?;
        }
        Change::Update => {
            bridge_store::update(conn, K::TABLE, &new).await?;
        }
        Change::Unchanged | Change::Delete => {}
    }
    Ok(ItemChange::new(K::NOUN, id, change, fields))
}

/// A rule; `disabled` is set when an enabled rule is being disabled (its metrics are reset
/// after commit, as `PUT /rules/{id}` does).
pub async fn rule(conn: &mut PgConnection, item: Value) -> ApiResult<(ItemChange, bool)> {
    let mut body = rule_body::decode(item)?;
    let id = body.id.take().ok_or_else(|| {
        ApiError::Invalid(vec![FieldError::new(
            "id",
            "is required in an import, so that applying the document again updates the same rule",
        )])
    })?;
    let rule = body.into_new_rule(id)?;
    rule.check_references(conn).await?;
    let stored = rules::lock_exclusive(conn, &rule.id).await?;
    let actions = to_json(&rule.actions)?;
    let metadata = Value::Object(rule.metadata.clone());
    let new = NewRule {
        id: &rule.id,
        name: &rule.name,
        sql: &rule.sql,
        actions: &actions,
        enable: rule.enable,
        description: &rule.description,
        metadata: &metadata,
        mqtt_connector: rule.mqtt_connector.as_deref(),
    };
    let wanted = document::rule_item(&new);
    let stored_item = stored.as_ref().map(document::stored_rule);
    let (change, fields) = change_of(stored_item.as_ref(), &wanted);
    match change {
        Change::Create => {
            rules::insert(conn, &new).await?;
        }
        Change::Update => {
            rules::update(conn, &new).await?;
        }
        Change::Unchanged | Change::Delete => {}
    }
    let disabled = stored.is_some_and(|row| row.enable) && !rule.enable;
    Ok((
        ItemChange::new("rule", rule.id.clone(), change, fields),
        disabled,
    ))
}
