//! `/actions`: stored sinks (`kafka_producer`) that rules send their output to.

use actix_web::web::Query;
use actix_web::{HttpResponse, delete, get, web};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use tributary_protocol::resources::{ConnectorType, FieldError, KafkaProducerParameters};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::bridge_endpoints::bridge_endpoints;
use super::bridges::{self, BridgeKind, bridge_view};
use super::relations::Relations;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::bridges::BridgeTable;
use crate::store::rules;
use crate::validation::{buffer_mode, templates};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(remove)
        .service(set_enable)
        .service(operate)
        .service(operate_on_node)
        .service(summary)
        .service(action_types);
}

#[derive(Debug)]
pub struct KafkaProducerAction;

impl BridgeKind for KafkaProducerAction {
    const NOUN: &'static str = "action";
    const TABLE: BridgeTable = BridgeTable::Actions;
    const TYPE: &'static str = "kafka_producer";
    const CONNECTOR_TYPE: ConnectorType = ConnectorType::KafkaProducer;
    /// EMQX 5.0 bodies name a producer's parameters `kafka`.
    const PARAMETERS_ALIAS: Option<&'static str> = Some("kafka");
    type Parameters = KafkaProducerParameters;

    /// Templates, and (as EMQX refuses them) `disk` and `hybrid` buffers with a templated topic.
    fn template_errors(parameters: &KafkaProducerParameters) -> Vec<FieldError> {
        let mut errors = templates::kafka_producer(parameters);
        errors.extend(buffer_mode::kafka_producer(parameters));
        errors
    }

    async fn check_references(_: &mut PgConnection, _: &KafkaProducerParameters) -> ApiResult<()> {
        Ok(())
    }

    async fn dependents(conn: &mut PgConnection, name: &str) -> ApiResult<Vec<String>> {
        let ids = rules::using_action(conn, &format!("{}:{name}", Self::TYPE)).await?;
        Ok(ids.into_iter().map(|id| format!("rule:{id}")).collect())
    }

    fn rules_using(relations: &Relations, name: &str) -> Vec<String> {
        relations.rules_using_action(&format!("{}:{name}", Self::TYPE))
    }

    async fn detach_dependents(conn: &mut PgConnection, name: &str) -> ApiResult<bool> {
        rules::remove_action(conn, &format!("{}:{name}", Self::TYPE)).await?;
        Ok(true)
    }
}

bridge_view!(
    /// A `kafka_producer` action as the API shows it.
    ActionView,
    KafkaProducerParameters,
    type_pattern: "^kafka_producer$"
);

/// Unknown keys are refused (400 naming them) rather than ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    /// Also remove this action from the rules that reference it (otherwise such a delete is refused).
    #[serde(default)]
    pub also_delete_dep_actions: bool,
}

bridge_endpoints! {
    kind: KafkaProducerAction,
    view: ActionView,
    tag: "actions",
    id_format: "`kafka_producer:<name>`",
    collection_path: "/actions",
    item_path: "/actions/{id}",
    enable_path: "/actions/{id}/enable/{enable}",
    operation_path: "/actions/{id}/{operation}",
    node_operation_path: "/nodes/{node}/actions/{id}/{operation}",
    summary_path: "/actions_summary",
    operation_ids: {
        list: "list_actions",
        create: "create_action",
        read: "get_action",
        update: "update_action",
        set_enable: "set_enable_action",
        operate: "operate_action",
        operate_on_node: "operate_action_on_node",
        summary: "actions_summary",
    },
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

/// An action type this server supports.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
pub struct ActionType(&'static str);

#[utoipa::path(operation_id = "list_action_types", tag = "actions", responses((status = 200, body = [ActionType], example = json!(["kafka_producer"]))))]
#[get("/action_types")]
async fn action_types() -> HttpResponse {
    HttpResponse::Ok().json([ActionType(KafkaProducerAction::TYPE)])
}
