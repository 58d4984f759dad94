//! `/actions`: stored sinks (`kafka_producer`) that rules send their output to.

use actix_web::web::Query;
use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use tributary_protocol::resources::{ConnectorType, FieldError, KafkaProducerParameters};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::bridges::{self, BridgeKind, bridge_view};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::bridges::BridgeTable;
use crate::store::rules;
use crate::validation::templates;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(remove)
        .service(set_enable)
        .service(action_types);
}

#[derive(Debug)]
pub struct KafkaProducerAction;

impl BridgeKind for KafkaProducerAction {
    const NOUN: &'static str = "action";
    const TABLE: BridgeTable = BridgeTable::Actions;
    const TYPE: &'static str = "kafka_producer";
    const CONNECTOR_TYPE: ConnectorType = ConnectorType::KafkaProducer;
    type Parameters = KafkaProducerParameters;

    fn template_errors(parameters: &KafkaProducerParameters) -> Vec<FieldError> {
        templates::kafka_producer(parameters)
    }

    async fn check_references(_: &mut PgConnection, _: &KafkaProducerParameters) -> ApiResult<()> {
        Ok(())
    }

    async fn dependents(conn: &mut PgConnection, name: &str) -> ApiResult<Vec<String>> {
        let ids = rules::using_action(conn, &format!("{}:{name}", Self::TYPE)).await?;
        Ok(ids.into_iter().map(|id| format!("rule:{id}")).collect())
    }

    async fn detach_dependents(conn: &mut PgConnection, name: &str) -> ApiResult<bool> {
        rules::remove_action(conn, &format!("{}:{name}", Self::TYPE)).await?;
        Ok(true)
    }
}

bridge_view!(
    /// A `kafka_producer` action as the API shows it.
    ActionView,
    KafkaProducerParameters
);

#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    /// Also remove this action from the rules that reference it (otherwise such a delete is refused).
    #[serde(default)]
    pub also_delete_dep_actions: bool,
}

#[utoipa::path(operation_id = "list_actions", tag = "actions", responses((status = 200, body = [ActionView])))]
#[get("/actions")]
async fn list(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        bridges::list::<KafkaProducerAction>(&state)
            .await?
            .into_iter()
            .map(ActionView::from)
            .collect::<Vec<_>>(),
    ))
}

#[utoipa::path(
    operation_id = "create_action",
    tag = "actions",
    request_body(content = ActionView, description = "`type`, `name`, `connector`, `parameters`, optional `enable`, `description`, `resource_opts`"),
    responses((status = 201, body = ActionView), (status = 400, description = "Invalid field, unknown connector, or `ALREADY_EXISTS`", body = ErrorBody))
)]
#[post("/actions")]
async fn create(state: web::Data<AppState>, body: web::Json<Value>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(ActionView::from(
        bridges::create::<KafkaProducerAction>(&state, body.into_inner()).await?,
    )))
}

#[utoipa::path(
    operation_id = "get_action",
    tag = "actions",
    params(("id" = String, Path, description = "`kafka_producer:<name>`")),
    responses((status = 200, body = ActionView), (status = 404, body = ErrorBody))
)]
#[get("/actions/{id}")]
async fn read(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ActionView::from(
        bridges::read::<KafkaProducerAction>(&state, &id).await?,
    )))
}

#[utoipa::path(
    operation_id = "update_action",
    tag = "actions",
    params(("id" = String, Path, description = "`kafka_producer:<name>`")),
    request_body(content = ActionView, description = "`connector`, `parameters`, optional `enable`, `description`, `resource_opts`"),
    responses((status = 200, body = ActionView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[put("/actions/{id}")]
async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ActionView::from(
        bridges::update::<KafkaProducerAction>(&state, &id, body.into_inner()).await?,
    )))
}

#[utoipa::path(
    operation_id = "delete_action",
    tag = "actions",
    params(
        ("id" = String, Path, description = "`kafka_producer:<name>`"),
        ("also_delete_dep_actions" = Option<bool>, Query, description = "Also remove this action from the rules that reference it (otherwise such a delete is refused)"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Still referenced by rules (listed)", body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[delete("/actions/{id}")]
async fn remove(
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: Query<DeleteQuery>,
) -> ApiResult<HttpResponse> {
    bridges::delete::<KafkaProducerAction>(&state, &id, query.also_delete_dep_actions).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    operation_id = "set_enable_action",
    tag = "actions",
    params(("id" = String, Path, description = "`kafka_producer:<name>`"), ("enable" = bool, Path)),
    responses((status = 204, description = "Done"), (status = 404, body = ErrorBody))
)]
#[put("/actions/{id}/enable/{enable}")]
async fn set_enable(
    state: web::Data<AppState>,
    path: web::Path<(String, bool)>,
) -> ApiResult<HttpResponse> {
    let (id, enable) = path.into_inner();
    bridges::set_enable::<KafkaProducerAction>(&state, &id, enable).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An action type this server supports.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
pub struct ActionType(&'static str);

#[utoipa::path(operation_id = "list_action_types", tag = "actions", responses((status = 200, body = [ActionType], example = json!(["kafka_producer"]))))]
#[get("/action_types")]
async fn action_types() -> HttpResponse {
    HttpResponse::Ok().json([ActionType(KafkaProducerAction::TYPE)])
}
