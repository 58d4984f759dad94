//! `/connectors`: named connections to Kafka clusters and MQTT brokers.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tributary_protocol::resources::ConnectorType;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::connector_config::ConnectorConfig;
use super::{envelope, ids};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::metrics::{StatusView, WorkerRecord, aggregate_status, live_workers};
use crate::state::AppState;
use crate::store::bridges::{self, BridgeTable};
use crate::store::{connectors, rules};
use crate::validation::names;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(remove)
        .service(set_enable);
}

/// A connector as the API shows it: the envelope plus its type's fields, secrets masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorView {
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    pub name: String,
    pub enable: bool,
    pub description: String,
    #[serde(flatten)]
    pub config: ConnectorConfig,
    /// `status`, `status_reason` and `node_status[]` as the live workers report them.
    #[serde(flatten)]
    pub status: StatusView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ConnectorView {
    fn from_row(row: &connectors::ConnectorRow, workers: &[WorkerRecord]) -> ApiResult<Self> {
        let kind = connector_type(&row.kind)?;
        Ok(Self {
            kind,
            name: row.name.clone(),
            enable: row.enable,
            description: row.description.clone(),
            config: ConnectorConfig::from_stored(kind, &row.config.0)?.masked(),
            status: aggregate_status(&format!("{}:{}", row.kind, row.name), workers),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn connector_type(text: &str) -> ApiResult<ConnectorType> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|_| ApiError::Internal(format!("unknown stored connector type `{text}`")))
}

/// A validated connector body from a request (its `Debug` masks secrets, see the protocol crate).
#[derive(Debug)]
pub struct ConnectorInput {
    pub kind: ConnectorType,
    pub name: String,
    pub enable: Option<bool>,
    pub description: String,
    pub config: ConnectorConfig,
}

/// Parses and validates a full connector body (type and name included), as create and probe take.
pub fn parse_new(body: Value) -> ApiResult<ConnectorInput> {
    let (envelope, fields) = envelope::split(body)?;
    let kind_text = envelope
        .kind
        .ok_or_else(|| ApiError::invalid("type", "is required"))?;
    let kind: ConnectorType =
        serde_json::from_value(Value::String(kind_text.clone())).map_err(|_| {
            ApiError::invalid(
                "type",
                format!("`{kind_text}` is not one of kafka_producer, kafka_consumer, mqtt"),
            )
        })?;
    let name = envelope
        .name
        .ok_or_else(|| ApiError::invalid("name", "is required"))?;
    names::check("name", &name).map_err(|e| ApiError::Invalid(vec![e]))?;
    let config = ConnectorConfig::decode(kind, fields)?;
    envelope::reject_if_any(config.validate())?;
    Ok(ConnectorInput {
        kind,
        name,
        enable: envelope.enable,
        description: envelope.description.unwrap_or_default(),
        config,
    })
}

#[utoipa::path(
    operation_id = "list_connectors",
    tag = "connectors",
    responses((status = 200, description = "All connectors", body = [ConnectorView]))
)]
#[get("/connectors")]
async fn list(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let rows = connectors::list(&state.pool).await?;
    let workers = live_workers(&state.pool).await?;
    let views = rows
        .iter()
        .map(|row| ConnectorView::from_row(row, &workers))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(
    operation_id = "create_connector",
    tag = "connectors",
    request_body(content = ConnectorView, description = "`type`, `name` and the type's fields; `created_at`/`updated_at` are ignored"),
    responses(
        (status = 201, body = ConnectorView),
        (status = 400, description = "Invalid field, or `ALREADY_EXISTS`", body = ErrorBody),
    )
)]
#[post("/connectors")]
async fn create(state: web::Data<AppState>, body: web::Json<Value>) -> ApiResult<HttpResponse> {
    let input = parse_new(body.into_inner())?;
    envelope::reject_if_any(input.config.masked_fields())?;
    let config = input.config.to_json()?;
    let new = connectors::NewConnector {
        kind: input.kind.as_str(),
        name: &input.name,
        enable: input.enable.unwrap_or(true),
        description: &input.description,
        config: &config,
    };
    let row = connectors::insert(&state.pool, &new)
        .await?
        .ok_or_else(|| ApiError::AlreadyExists {
            kind: "connector",
            id: format!("{}:{}", input.kind.as_str(), input.name),
        })?;
    tracing::info!(connector = %format!("{}:{}", row.kind, row.name), "connector created");
    Ok(HttpResponse::Created().json(ConnectorView::from_row(
        &row,
        &live_workers(&state.pool).await?,
    )?))
}

#[utoipa::path(
    operation_id = "get_connector",
    tag = "connectors",
    params(("id" = String, Path, description = "`<type>:<name>`, e.g. `kafka_producer:my_kafka`")),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody))
)]
#[get("/connectors/{id}")]
async fn read(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let (kind, name) = ids::parse::<ConnectorType>(&id)?;
    let row = connectors::get(&state.pool, kind.as_str(), &name)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(ConnectorView::from_row(
        &row,
        &live_workers(&state.pool).await?,
    )?))
}

#[utoipa::path(
    operation_id = "update_connector",
    tag = "connectors",
    params(("id" = String, Path, description = "`<type>:<name>`")),
    request_body(content = ConnectorView, description = "The type's fields (`type` and `name` may be omitted). Secrets sent as `******` keep their stored value."),
    responses((status = 200, body = ConnectorView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[put("/connectors/{id}")]
async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let (kind, name) = ids::parse::<ConnectorType>(&id)?;
    let (envelope, fields) = envelope::split(body.into_inner())?;
    envelope::check_same("type", envelope.kind.as_deref(), kind.as_str())?;
    envelope::check_same("name", envelope.name.as_deref(), &name)?;
    let mut config = ConnectorConfig::decode(kind, fields)?;
    envelope::reject_if_any(config.validate())?;

    let mut tx = state.pool.begin().await?;
    let stored = connectors::lock_exclusive(&mut tx, kind.as_str(), &name)
        .await?
        .ok_or_else(|| not_found(&id))?;
    config.keep_masked_from(&ConnectorConfig::from_stored(kind, &stored.config.0)?);
    let config = config.to_json()?;
    let new = connectors::NewConnector {
        kind: kind.as_str(),
        name: &name,
        enable: envelope.enable.unwrap_or(stored.enable),
        description: envelope.description.as_deref().unwrap_or(""),
        config: &config,
    };
    let row = connectors::update(&mut tx, &new)
        .await?
        .ok_or_else(|| not_found(&id))?;
    tx.commit().await?;
    tracing::info!(connector = %id, "connector updated");
    Ok(HttpResponse::Ok().json(ConnectorView::from_row(
        &row,
        &live_workers(&state.pool).await?,
    )?))
}

#[utoipa::path(
    operation_id = "delete_connector",
    tag = "connectors",
    params(("id" = String, Path, description = "`<type>:<name>`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Still used by actions, sources or rules (listed)", body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[delete("/connectors/{id}")]
async fn remove(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let (kind, name) = ids::parse::<ConnectorType>(&id)?;
    let mut tx = state.pool.begin().await?;
    connectors::lock_exclusive(&mut tx, kind.as_str(), &name)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let dependents = match kind {
        ConnectorType::KafkaProducer => {
            bridges::using_connector(&mut tx, BridgeTable::Actions, kind.as_str(), &name).await?
        }
        ConnectorType::KafkaConsumer => {
            bridges::using_connector(&mut tx, BridgeTable::Sources, kind.as_str(), &name).await?
        }
        ConnectorType::Mqtt => {
            let mut users: Vec<String> = rules::using_mqtt_connector(&mut tx, &name)
                .await?
                .into_iter()
                .map(|id| format!("rule:{id}"))
                .collect();
            users.extend(bridges::sources_publishing_through(&mut tx, &name).await?);
            users
        }
    };
    if !dependents.is_empty() {
        return Err(ApiError::InUse {
            kind: "connector",
            id: id.into_inner(),
            dependents,
        });
    }
    connectors::delete(&mut tx, kind.as_str(), &name).await?;
    tx.commit().await?;
    tracing::info!(connector = %id, "connector deleted");
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    operation_id = "set_enable_connector",
    tag = "connectors",
    params(
        ("id" = String, Path, description = "`<type>:<name>`"),
        ("enable" = bool, Path, description = "`true` or `false`"),
    ),
    responses((status = 204, description = "Done"), (status = 404, body = ErrorBody))
)]
#[put("/connectors/{id}/enable/{enable}")]
async fn set_enable(
    state: web::Data<AppState>,
    path: web::Path<(String, bool)>,
) -> ApiResult<HttpResponse> {
    let (id, enable) = path.into_inner();
    let (kind, name) = ids::parse::<ConnectorType>(&id)?;
    if !connectors::set_enable(&state.pool, kind.as_str(), &name, enable).await? {
        return Err(not_found(&id));
    }
    tracing::info!(connector = %id, enable, "connector enable changed");
    Ok(HttpResponse::NoContent().finish())
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound {
        kind: "connector",
        id: id.to_owned(),
    }
}
