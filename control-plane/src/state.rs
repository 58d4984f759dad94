//! What every request handler can reach.

use std::path::PathBuf;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use sqlx::PgPool;

use crate::audit::AuditArgs;
use crate::health_check::HealthChecks;
use crate::http::metrics::HttpMetrics;

/// Shared by all HTTP workers. Everything replicas must agree on lives in PostgreSQL, so this
/// holds handles, and only state a replica may see differently from its peers for a moment (its
/// own connector health checks).
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub http_metrics: HttpMetrics,
    /// Served at `/metrics`. Register other metrics before calling [`AppState::new`].
    pub registry: Arc<Registry>,
    /// A built web console served at `/` instead of the embedded one (`--console-dir`).
    pub console_dir: Option<PathBuf>,
    /// This replica's health checks of connectors no live worker reports.
    pub health: HealthChecks,
    /// How much of the audit log is kept.
    pub audit: AuditArgs,
}

impl AppState {
    pub fn new(pool: PgPool, mut registry: Registry) -> Self {
        let http_metrics = HttpMetrics::register(&mut registry);
        Self {
            pool,
            http_metrics,
            registry: Arc::new(registry),
            console_dir: None,
            health: HealthChecks::new(),
            audit: AuditArgs::default(),
        }
    }

    /// Serves the console built in `dir` at `/` instead of the embedded one.
    #[must_use]
    pub fn with_console_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.console_dir = dir;
        self
    }

    /// Keeps the audit log within these limits instead of the defaults.
    #[must_use]
    pub fn with_audit_retention(mut self, audit: AuditArgs) -> Self {
        self.audit = audit;
        self
    }
}
