//! Serving the REST API until shutdown.

use std::net::SocketAddr;

use actix_web::HttpServer;
use tokio_util::sync::CancellationToken;
use tributary_service::shutdown;

use crate::app;
use crate::state::AppState;

pub async fn serve_http(
    addr: SocketAddr,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let spec = app::openapi_json();
    let server = HttpServer::new(move || app::build(state.clone(), spec.clone()))
        .disable_signals()
        .bind(addr)?
        .run();
    tracing::info!(%addr, "REST API listening");
    shutdown::run_until_cancelled(server, shutdown).await
}
