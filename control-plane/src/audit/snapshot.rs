//! A resource as the audit log records it before and after a change: its create body, as
//! `GET /data/export` writes it, with secrets masked by their types. Runtime state (status,
//! metrics) is left out: the log is about configuration.

use serde_json::{Value, json};
use tributary_protocol::resources::ConnectorType;

use super::Target;
use crate::api::actions::KafkaProducerAction;
use crate::api::api_keys::ApiKeyView;
use crate::api::bridges::{self, BridgeKind};
use crate::api::data::document;
use crate::api::ids;
use crate::api::sources::KafkaConsumerSource;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

/// The resource's recorded form; `None` when it does not exist (yet, or any more) or the
/// change names no single resource. A lookup that fails is logged and recorded as `None`: the
/// audit must not fail the request it describes.
pub async fn take(state: &AppState, target: &Target) -> Option<Value> {
    match lookup(state, target).await {
        Ok(found) => found,
        Err(err) => {
            tracing::warn!(kind = %target.kind, id = %target.id, error = %err, "audit: cannot read the resource");
            None
        }
    }
}

async fn lookup(state: &AppState, target: &Target) -> ApiResult<Option<Value>> {
    let pool = &state.pool;
    if target.kind == "data" {
        return whole_configuration(state).await.map(Some);
    }
    if target.id.is_empty() {
        return Ok(None);
    }
    let id = target.id.as_str();
    Ok(match target.kind.as_str() {
        "connectors" => {
            let Ok((kind, name)) = ids::parse::<ConnectorType>("connector", id) else {
                return Ok(None);
            };
            match store::connectors::get(pool, kind.as_str(), &name).await? {
                Some(row) => Some(document::stored_connector(
                    &row,
                    document::SecretsOut::Masked,
                )?),
                None => None,
            }
        }
        "actions" => bridge::<KafkaProducerAction>(state, id).await?,
        "sources" => bridge::<KafkaConsumerSource>(state, id).await?,
        "rules" => store::rules::get(pool, id)
            .await?
            .map(|row| document::stored_rule(&row)),
        "api_key" => match store::api_keys::get(pool, id).await? {
            Some(row) => Some(to_json(&ApiKeyView::from(row))?),
            None => None,
        },
        _ => None,
    })
}

async fn bridge<K: BridgeKind>(state: &AppState, id: &str) -> ApiResult<Option<Value>> {
    let Ok(name) = bridges::parse_id::<K>(id) else {
        return Ok(None);
    };
    match store::bridges::get(&state.pool, K::TABLE, K::TYPE, &name).await? {
        Some(row) => Ok(Some(document::stored_bridge::<K>(&row)?)),
        None => Ok(None),
    }
}

/// Everything an import may change, secrets masked.
async fn whole_configuration(state: &AppState) -> ApiResult<Value> {
    let pool = &state.pool;
    let connectors = store::connectors::list(pool)
        .await?
        .iter()
        .map(|row| document::stored_connector(row, document::SecretsOut::Masked))
        .collect::<ApiResult<Vec<_>>>()?;
    let actions = store::bridges::list(pool, KafkaProducerAction::TABLE)
        .await?
        .iter()
        .map(document::stored_bridge::<KafkaProducerAction>)
        .collect::<ApiResult<Vec<_>>>()?;
    let sources = store::bridges::list(pool, KafkaConsumerSource::TABLE)
        .await?
        .iter()
        .map(document::stored_bridge::<KafkaConsumerSource>)
        .collect::<ApiResult<Vec<_>>>()?;
    let rules: Vec<Value> = store::rules::list(pool)
        .await?
        .iter()
        .map(document::stored_rule)
        .collect();
    Ok(json!({"connectors": connectors, "actions": actions, "sources": sources, "rules": rules}))
}

fn to_json<T: serde::Serialize>(value: &T) -> ApiResult<Value> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("serializing: {e}")))
}
