//! The global configuration revision: one row, bumped by a trigger on every configuration change
//! (see `migrations/`). Workers compare it with the revision they applied.

use sqlx::PgExecutor;

/// The current revision; inside a transaction, the one of its snapshot.
pub async fn current<'e>(db: impl PgExecutor<'e>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT revision FROM config_revision")
        .fetch_one(db)
        .await
}
