//! `/healthz` (the database answers) and `/metrics` (Prometheus text) on the HTTP listener.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&state.pool)
        .await
    {
        Ok(_) => HttpResponse::Ok().json(json!({"status": "ok"})),
        Err(err) => {
            tracing::warn!(error = %err, "health check: database unreachable");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unhealthy", "reason": "database unreachable"}))
        }
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    tributary_service::admin::metrics_response(&state.registry)
}
