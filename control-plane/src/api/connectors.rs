//! `/connectors`: named connections to Kafka clusters and MQTT brokers.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tributary_protocol::resources::ConnectorType;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::connector_config::ConnectorConfig;
use super::connector_schema::{self, ConnectorBody, ConnectorUpdateBody};
use super::operations::{self, Operation};
use super::relations::Relations;
use super::{connector_start, envelope, ids};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::bridges::{self, BridgeTable};
use crate::store::{connectors, rules};
use crate::validation::names;
use crate::worker_reports::StatusView;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(remove)
        .service(set_enable)
        .service(operate)
        .service(operate_on_node);
}

/// A connector as the API shows it: the envelope plus its type's fields, secrets masked. Its
/// OpenAPI schema is written in `connector_schema.rs`.
#[derive(Debug, Serialize)]
pub struct ConnectorView {
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    pub name: String,
    pub enable: bool,
    pub description: String,
    #[serde(flatten)]
    pub config: ConnectorConfig,
    /// `status`, `status_reason` and `node_status[]` as the live workers report them; when none
    /// runs it, the control plane's own health check (`node_status` empty); `stopped` when
    /// disabled.
    #[serde(flatten)]
    pub status: StatusView,
    /// Names of the actions on it (read-only, ignored in requests).
    pub actions: Vec<String>,
    /// Names of the sources on it; for an `mqtt` connector, of the sources publishing through
    /// it (read-only, ignored in requests).
    pub sources: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl utoipa::PartialSchema for ConnectorView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        connector_schema::view_schema()
    }
}

impl ToSchema for ConnectorView {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        connector_schema::view_schemas(schemas);
    }
}

impl ConnectorView {
    fn from_row(row: &connectors::ConnectorRow, relations: &Relations) -> ApiResult<Self> {
        let kind = connector_type(&row.kind)?;
        let id = format!("{}:{}", row.kind, row.name);
        let (actions, sources) = relations.connector_children(&row.kind, &row.name);
        Ok(Self {
            kind,
            name: row.name.clone(),
            enable: row.enable,
            description: row.description.clone(),
            config: ConnectorConfig::from_stored(kind, &row.config.0)?.masked(),
            status: relations.connector_status(&id, row.enable),
            actions,
            sources,
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
    let (envelope, fields) = envelope::split(envelope::without_connector_children(body))?;
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
    let relations = Relations::load(&state).await?;
    let views = rows
        .iter()
        .map(|row| ConnectorView::from_row(row, &relations))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(
    operation_id = "create_connector",
    tag = "connectors",
    request_body(content = ConnectorBody),
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
    let id = format!("{}:{}", row.kind, row.name);
    tracing::info!(connector = %id, "connector created");
    // Checked at once, in the background, like EMQX starts a connector as it is created
    // (unless resource_opts.start_after_created is false: then it stays stopped).
    if row.enable && row.started {
        state.health.check_now(&id, input.config);
    }
    Ok(HttpResponse::Created().json(ConnectorView::from_row(
        &row,
        &Relations::load(&state).await?,
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
    let (kind, name) = ids::parse::<ConnectorType>("connector", &id)?;
    let row = connectors::get(&state.pool, kind.as_str(), &name)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(ConnectorView::from_row(
        &row,
        &Relations::load(&state).await?,
    )?))
}

#[utoipa::path(
    operation_id = "update_connector",
    tag = "connectors",
    params(("id" = String, Path, description = "`<type>:<name>`")),
    request_body(content = ConnectorUpdateBody),
    responses((status = 200, body = ConnectorView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[put("/connectors/{id}")]
async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let (kind, name) = ids::parse::<ConnectorType>("connector", &id)?;
    let (envelope, fields) =
        envelope::split(envelope::without_connector_children(body.into_inner()))?;
    envelope::check_same("type", envelope.kind.as_deref(), kind.as_str())?;
    envelope::check_same("name", envelope.name.as_deref(), &name)?;
    let mut config = ConnectorConfig::decode(kind, fields)?;
    envelope::reject_if_any(config.validate())?;

    let mut tx = state.pool.begin().await?;
    let stored = connectors::lock_exclusive(&mut tx, kind.as_str(), &name)
        .await?
        .ok_or_else(|| not_found(&id))?;
    config.keep_masked_from(&ConnectorConfig::from_stored(kind, &stored.config.0)?);
    let config_json = config.to_json()?;
    let new = connectors::NewConnector {
        kind: kind.as_str(),
        name: &name,
        enable: envelope.enable.unwrap_or(stored.enable),
        description: envelope.description.as_deref().unwrap_or(""),
        config: &config_json,
    };
    let row = connectors::update(&mut tx, &new)
        .await?
        .ok_or_else(|| not_found(&id))?;
    tx.commit().await?;
    tracing::info!(connector = %id, "connector updated");
    if row.enable && row.started {
        state.health.check_now(&id, config);
    } else {
        state.health.forget(&id);
    }
    Ok(HttpResponse::Ok().json(ConnectorView::from_row(
        &row,
        &Relations::load(&state).await?,
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
    let (kind, name) = ids::parse::<ConnectorType>("connector", &id)?;
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
    state.health.forget(&id);
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
    let (kind, name) = ids::parse::<ConnectorType>("connector", &id)?;
    if !connectors::set_enable(&state.pool, kind.as_str(), &name, enable).await? {
        return Err(not_found(&id));
    }
    tracing::info!(connector = %id, enable, "connector enable changed");
    if enable {
        check_stored(&state, kind, &name).await?;
    } else {
        state.health.forget(&id);
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    operation_id = "operate_connector",
    tag = "connectors",
    params(
        ("id" = String, Path, description = "`<type>:<name>`"),
        ("operation" = inline(Operation), Path, description = "`start`, EMQX's only operation. A connector that is not connected (or waits for its first start: `resource_opts.start_after_created` false) is restarted: workers give the flows on it new clients. Then it is health-checked at once and the answer waits for the outcome, at most its `resource_opts.start_timeout`."),
    ),
    responses(
        (status = 204, description = "It is connected"),
        (status = 400, description = "It is disabled (`Forbidden operation, connector not enabled`), the operation is not `start`, or it did not connect (`reason` says why, or that `start_timeout` passed)", body = ErrorBody),
        (status = 404, description = "No such connector, or a malformed id", body = ErrorBody),
    )
)]
#[post("/connectors/{id}/{operation}")]
async fn operate(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, operation) = path.into_inner();
    operations::check(&request, &operation)?;
    let (kind, name) = ids::parse::<ConnectorType>("connector", &id)?;
    tracing::info!(connector = %id, "connector start asked");
    connector_start::start(&state, kind, &name, None).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    operation_id = "operate_connector_on_node",
    tag = "connectors",
    params(
        ("node" = String, Path, description = "A live worker's name (EMQX's nodes are Tributary's workers; `GET /workers` lists them)"),
        ("id" = String, Path, description = "`<type>:<name>`"),
        ("operation" = inline(Operation), Path, description = "`start`, as on `/connectors/{id}/{operation}`; whether the connector needs a restart is what this worker reports. A restart applies on every worker: they run each connector together."),
    ),
    responses(
        (status = 204, description = "It is connected"),
        (status = 400, description = "It is disabled, the operation is not `start`, or it did not connect (`reason` says why)", body = ErrorBody),
        (status = 404, description = "No live worker of that name (`field` is `node`), no such connector, or a malformed id", body = ErrorBody),
    )
)]
#[post("/nodes/{node}/connectors/{id}/{operation}")]
async fn operate_on_node(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> ApiResult<HttpResponse> {
    let (node, id, operation) = path.into_inner();
    operations::check(&request, &operation)?;
    let (kind, name) = ids::parse::<ConnectorType>("connector", &id)?;
    tracing::info!(connector = %id, %node, "connector start asked on a node");
    connector_start::start(&state, kind, &name, Some(&node)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Health-checks the stored connector now, in the background (it was just enabled).
async fn check_stored(state: &AppState, kind: ConnectorType, name: &str) -> ApiResult<()> {
    if let Some(row) = connectors::get(&state.pool, kind.as_str(), name).await?
        && row.enable
        && row.started
    {
        let config = ConnectorConfig::from_stored(kind, &row.config.0)?;
        state
            .health
            .check_now(&format!("{}:{name}", kind.as_str()), config);
    }
    Ok(())
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound {
        kind: "connector",
        id: id.to_owned(),
    }
}
