//! The admin endpoint: `/healthz` for orchestrators and `/metrics` in Prometheus text format.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::shutdown;

/// Answers whether the process is healthy, and why not.
pub type HealthCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

struct AdminState {
    registry: Arc<Registry>,
    health: HealthCheck,
}

/// Serves `/healthz` and `/metrics` on `addr` until `shutdown` is cancelled.
pub async fn serve(
    addr: SocketAddr,
    registry: Arc<Registry>,
    health: HealthCheck,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let state = web::Data::new(AdminState { registry, health });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?
    .run();
    tracing::info!(%addr, "admin endpoint listening");
    shutdown::run_until_cancelled(server, shutdown).await
}

async fn healthz(state: web::Data<AdminState>) -> HttpResponse {
    match (state.health)() {
        Ok(()) => HttpResponse::Ok().json(status_body("ok", None)),
        Err(reason) => {
            HttpResponse::ServiceUnavailable().json(status_body("unhealthy", Some(&reason)))
        }
    }
}

fn status_body(
    status: &str,
    reason: Option<&str>,
) -> std::collections::BTreeMap<&'static str, String> {
    let mut body = std::collections::BTreeMap::new();
    body.insert("status", status.to_owned());
    if let Some(reason) = reason {
        body.insert("reason", reason.to_owned());
    }
    body
}

async fn metrics(state: web::Data<AdminState>) -> HttpResponse {
    metrics_response(&state.registry)
}

/// `/metrics`: the registry in the OpenMetrics text format. Public so that other HTTP listeners
/// (the control plane's API) serve it the same way.
pub fn metrics_response(registry: &Registry) -> HttpResponse {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, registry) {
        Ok(()) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(err) => {
            tracing::error!(error = %err, "encoding metrics failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}
