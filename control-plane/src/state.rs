//! What every request handler can reach.

use std::path::PathBuf;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use sqlx::PgPool;

use crate::http::metrics::HttpMetrics;

/// Shared by all HTTP workers. Everything replicas must agree on lives in PostgreSQL, so this
/// holds only handles, never state of its own.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub http_metrics: HttpMetrics,
    /// Served at `/metrics`. Register other metrics before calling [`AppState::new`].
    pub registry: Arc<Registry>,
    /// The built web console served at `/console/` (`--console-dir`), if any.
    pub console_dir: Option<PathBuf>,
}

impl AppState {
    pub fn new(pool: PgPool, mut registry: Registry) -> Self {
        let http_metrics = HttpMetrics::register(&mut registry);
        Self {
            pool,
            http_metrics,
            registry: Arc::new(registry),
            console_dir: None,
        }
    }

    /// Serves the console built in `dir` at `/console/`.
    #[must_use]
    pub fn with_console_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.console_dir = dir;
        self
    }
}
