//! The audit log: every change asked through the REST API (and every change a signed-in key was
//! refused) is written to PostgreSQL with who asked, when, from where, which resource, the
//! resource before and after (secrets masked) and the result; `GET /api/v5/audit` reads it.
//!
//! Modelled on EMQX's audit log (`emqx_audit_api`): the same field names (`source`,
//! `operation_id`, `operation_type`, `operation_result`, ...) and query parameters.

mod mask;
mod middleware;
mod snapshot;
mod target;

use clap::Args;

pub use mask::mask_secrets;
pub use middleware::record;
pub use target::Target;

/// How much of the audit log is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct AuditArgs {
    /// Keep at most this many audit log entries, the newest (0: no limit).
    #[arg(long, env = "TRIBUTARY_AUDIT_MAX_ROWS", default_value_t = 100_000)]
    pub audit_max_rows: u64,
    /// Delete audit log entries older than this many days (0: keep them however old).
    #[arg(long, env = "TRIBUTARY_AUDIT_MAX_DAYS", default_value_t = 90)]
    pub audit_max_days: u32,
}

impl Default for AuditArgs {
    fn default() -> Self {
        Self {
            audit_max_rows: 100_000,
            audit_max_days: 90,
        }
    }
}
