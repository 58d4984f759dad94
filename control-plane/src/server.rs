//! Serving the REST API until shutdown.

use std::net::SocketAddr;

use actix_web::HttpServer;
use tokio_util::sync::CancellationToken;
use tributary_service::shutdown;

use crate::app;
use crate::state::AppState;

/// Serves the REST API on `addr`, over HTTPS only when `tls` is given.
pub async fn serve_http(
    addr: SocketAddr,
    tls: Option<rustls::ServerConfig>,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let spec = app::openapi_json();
    let server = HttpServer::new(move || app::build(state.clone(), spec.clone())).disable_signals();
    let https = tls.is_some();
    let server = match tls {
        Some(config) => server.bind_rustls_0_23(addr, config)?,
        None => server.bind(addr)?,
    }
    .run();
    tracing::info!(%addr, https, "REST API listening");
    shutdown::run_until_cancelled(server, shutdown).await
}
