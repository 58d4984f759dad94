//! Serving the REST API until shutdown.

use std::net::SocketAddr;

use actix_web::HttpServer;
use tokio_util::sync::CancellationToken;

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
    let handle = server.handle();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        handle.stop(true).await;
    });
    tracing::info!(%addr, "REST API listening");
    server.await
}
