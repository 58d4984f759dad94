//! `GET /status` (no authentication): whether this control plane can do its job, for operators
//! and load balancers.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::state::AppState;
use crate::store::{revision, workers};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(status);
}

/// Named apart from the resources' `StatusView` in the OpenAPI document: two schemas of one name
/// would collapse into one.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ControlPlaneStatus)]
pub struct StatusView {
    /// Always `up`: this process answered.
    pub control_plane: &'static str,
    /// `reachable` or `unreachable`.
    pub database: &'static str,
    /// Workers holding a valid lease; absent when the database is unreachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_workers: Option<i64>,
    /// The global configuration revision; absent when the database is unreachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_revision: Option<i64>,
}

#[utoipa::path(
    tag = "status",
    security(()),
    responses(
        (status = 200, body = StatusView, example = json!({"control_plane": "up", "database": "reachable", "live_workers": 2, "config_revision": 42})),
        (status = 503, description = "The database is unreachable", body = StatusView)
    )
)]
#[get("/status")]
async fn status(state: web::Data<AppState>) -> HttpResponse {
    match read(&state).await {
        Ok((live_workers, config_revision)) => HttpResponse::Ok().json(StatusView {
            control_plane: "up",
            database: "reachable",
            live_workers: Some(live_workers),
            config_revision: Some(config_revision),
        }),
        Err(err) => {
            tracing::warn!(error = %err, "status: database unreachable");
            HttpResponse::ServiceUnavailable().json(StatusView {
                control_plane: "up",
                database: "unreachable",
                live_workers: None,
                config_revision: None,
            })
        }
    }
}

async fn read(state: &AppState) -> Result<(i64, i64), sqlx::Error> {
    let live_workers = workers::live_count(&state.pool).await?;
    let config_revision = revision::current(&state.pool).await?;
    Ok((live_workers, config_revision))
}
