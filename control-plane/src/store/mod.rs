//! PostgreSQL storage of everything users configure, and of what workers register and report. PostgreSQL is the single source of truth:
//! several control-plane replicas may share one database, so nothing here is cached in memory.

pub mod api_keys;
pub mod audit;
pub mod bridges;
pub mod connectors;
pub mod keyed_by_type_and_name;
pub mod metric_resets;
pub mod revision;
pub mod rules;
pub mod workers;

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// Connects and applies the migrations (sqlx serializes concurrent migrators with an advisory
/// lock, so replicas may start together).
pub async fn connect_and_migrate(database_url: &str) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect(database_url)
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("../migrations").run(pool).await
}

/// Serialises imports (on every replica) for the rest of the transaction, so that two imports
/// never interleave their creates and prunes. Ordinary API changes lock only the rows they touch.
pub async fn lock_for_import(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    // An arbitrary constant that is this lock's alone: "tributar" in ASCII.
    sqlx::query("SELECT pg_advisory_xact_lock(8390884927342928242)")
        .execute(conn)
        .await?;
    Ok(())
}
