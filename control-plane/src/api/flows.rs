//! `GET /flows`: the topology of everything configured, for a flow designer.

use actix_web::{HttpResponse, get, web};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::placement::{LoadError, Topology, load_desired_state, place, topology};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(flows);
}

/// Nodes are MQTT topic filters and topics, Kafka topics, rules, actions, republish steps,
/// sources and connectors; `data` edges follow the messages, `uses` edges point at connectors.
/// Resources that are not running carry their `problems`.
#[utoipa::path(
    tag = "flows",
    responses((status = 200, body = Topology), (status = 500, body = ErrorBody))
)]
#[get("/flows")]
async fn flows(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let desired = load_desired_state(&state.pool)
        .await
        .map_err(|LoadError::Database(err)| ApiError::Database(err))?;
    let placement = place(&desired);
    Ok(HttpResponse::Ok().json(topology(&desired, &placement)))
}
