//! `GET .../metrics` and `PUT .../metrics/reset` for rules, actions and sources: worker reports
//! summed over live workers, per worker in `node_metrics`.

use actix_web::{HttpResponse, get, put, web};
use serde::Serialize;
use tributary_protocol::resources::{ActionType, SourceType};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::ids;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::bridges::{self, BridgeTable};
use crate::store::metric_resets;
use crate::store::rules;
use crate::worker_reports::{self, MetricsView};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(rule_metrics)
        .service(reset_rule_metrics)
        .service(action_metrics)
        .service(reset_action_metrics)
        .service(source_metrics)
        .service(reset_source_metrics);
}

/// A rule's metrics, with its id as EMQX gives it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleMetricsView {
    /// The rule's id.
    pub id: String,
    #[serde(flatten)]
    pub metrics: MetricsView,
}

#[utoipa::path(
    tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 200, body = RuleMetricsView), (status = 404, body = ErrorBody))
)]
#[get("/rules/{id}/metrics")]
async fn rule_metrics(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    existing_rule(&state, &id).await?;
    Ok(HttpResponse::Ok().json(RuleMetricsView {
        metrics: worker_reports::rule_metrics(&state.pool, &id).await?,
        id: id.into_inner(),
    }))
}

#[utoipa::path(
    tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 204, description = "Reset; workers zero their counters on their next assignment"), (status = 404, body = ErrorBody))
)]
#[put("/rules/{id}/metrics/reset")]
async fn reset_rule_metrics(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    existing_rule(&state, &id).await?;
    metric_resets::reset(&state.pool, &format!("rule:{id}")).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "actions",
    params(("id" = String, Path, description = "`kafka_producer:<name>`")),
    responses((status = 200, body = MetricsView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/actions/{id}/metrics")]
async fn action_metrics(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = existing_bridge::<ActionType>(&state, BridgeTable::Actions, "action", &id).await?;
    Ok(HttpResponse::Ok().json(worker_reports::action_metrics(&state.pool, &id).await?))
}

#[utoipa::path(
    tag = "actions",
    params(("id" = String, Path, description = "`kafka_producer:<name>`")),
    responses((status = 204, description = "Reset"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[put("/actions/{id}/metrics/reset")]
async fn reset_action_metrics(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = existing_bridge::<ActionType>(&state, BridgeTable::Actions, "action", &id).await?;
    metric_resets::reset(&state.pool, &format!("action:{id}")).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "sources",
    params(("id" = String, Path, description = "`kafka_consumer:<name>`")),
    responses((status = 200, body = MetricsView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[get("/sources/{id}/metrics")]
async fn source_metrics(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = existing_bridge::<SourceType>(&state, BridgeTable::Sources, "source", &id).await?;
    Ok(HttpResponse::Ok().json(worker_reports::source_metrics(&state.pool, &id).await?))
}

#[utoipa::path(
    tag = "sources",
    params(("id" = String, Path, description = "`kafka_consumer:<name>`")),
    responses((status = 204, description = "Reset"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[put("/sources/{id}/metrics/reset")]
async fn reset_source_metrics(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = existing_bridge::<SourceType>(&state, BridgeTable::Sources, "source", &id).await?;
    metric_resets::reset(&state.pool, &format!("source:{id}")).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn existing_rule(state: &AppState, id: &str) -> ApiResult<()> {
    match rules::get(&state.pool, id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound {
            kind: "rule",
            id: id.to_owned(),
        }),
    }
}

/// Checks `<type>:<name>` names a stored action or source; returns the id in canonical form.
async fn existing_bridge<T>(
    state: &AppState,
    table: BridgeTable,
    noun: &'static str,
    id: &str,
) -> ApiResult<String>
where
    T: serde::de::DeserializeOwned,
{
    let (_, name) = ids::parse::<T>(noun, id)?;
    let kind = id.split_once(':').map_or("", |(kind, _)| kind);
    match bridges::get(&state.pool, table, kind, &name).await? {
        Some(_) => Ok(format!("{kind}:{name}")),
        None => Err(ApiError::NotFound {
            kind: noun,
            id: id.to_owned(),
        }),
    }
}
