//! The `connectors` table. Configurations are stored whole (secrets included) as JSONB.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgExecutor, PgPool};

use super::keyed_by_type_and_name::{self as keyed, RowLock};

#[derive(Debug, Clone, FromRow)]
pub struct ConnectorRow {
    #[sqlx(rename = "type")]
    pub kind: String,
    pub name: String,
    pub enable: bool,
    pub description: String,
    pub config: Json<Value>,
    /// False while `resource_opts.start_after_created` is false and no `start` was asked since it
    /// was created, updated or enabled.
    pub started: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const TABLE: &str = "connectors";
const COLUMNS: &str = "type, name, enable, description, config, started, created_at, updated_at";

/// `started` for a connector just saved with `config` (`$5`): EMQX starts it unless
/// `resource_opts.start_after_created` is false.
const STARTED_AFTER_SAVE: &str =
    "COALESCE(($5::jsonb -> 'resource_opts' ->> 'start_after_created')::boolean, TRUE)";

pub async fn list(pool: &PgPool) -> Result<Vec<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connectors ORDER BY created_at, type, name"
    ))
    .fetch_all(pool)
    .await
}

pub async fn get(
    pool: &PgPool,
    kind: &str,
    name: &str,
) -> Result<Option<ConnectorRow>, sqlx::Error> {
    keyed::fetch(pool, TABLE, COLUMNS, kind, name, RowLock::None).await
}

/// Reads a connector and locks it against deletion until the transaction ends, so that whatever
/// is saved referencing it cannot be orphaned by a concurrent delete (on any replica).
pub async fn lock_shared(
    conn: &mut PgConnection,
    kind: &str,
    name: &str,
) -> Result<Option<ConnectorRow>, sqlx::Error> {
    keyed::fetch(conn, TABLE, COLUMNS, kind, name, RowLock::Shared).await
}

/// Reads a connector and locks it for a change or a delete.
pub async fn lock_exclusive(
    conn: &mut PgConnection,
    kind: &str,
    name: &str,
) -> Result<Option<ConnectorRow>, sqlx::Error> {
    keyed::fetch(conn, TABLE, COLUMNS, kind, name, RowLock::Exclusive).await
}

/// Carries the configuration with its secrets: `Debug` leaves it out.
pub struct NewConnector<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub enable: bool,
    pub description: &'a str,
    pub config: &'a Value,
}

/// Inserts; `None` when a connector of that type and name already exists.
pub async fn insert<'c>(
    executor: impl PgExecutor<'c>,
    new: &NewConnector<'_>,
) -> Result<Option<ConnectorRow>, sqlx::Error> {
    let sql = format!(
        "INSERT INTO connectors (type, name, enable, description, config, started)
         VALUES ($1, $2, $3, $4, $5, {STARTED_AFTER_SAVE})
         ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
    );
    save(executor, &sql, new).await
}

pub async fn update(
    conn: &mut PgConnection,
    new: &NewConnector<'_>,
) -> Result<Option<ConnectorRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE connectors SET enable = $3, description = $4, config = $5,
             started = {STARTED_AFTER_SAVE}, updated_at = now()
         WHERE type = $1 AND name = $2 RETURNING {COLUMNS}"
    );
    save(conn, &sql, new).await
}

/// Runs an insert or update that takes `new`'s fields as `$1`..`$5` in column order.
async fn save<'c>(
    executor: impl PgExecutor<'c>,
    sql: &str,
    new: &NewConnector<'_>,
) -> Result<Option<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(sql)
        .bind(new.kind)
        .bind(new.name)
        .bind(new.enable)
        .bind(new.description)
        .bind(Json(new.config))
        .fetch_optional(executor)
        .await
}

/// Enables or disables; `false` when there is no such connector. Enabling a disabled connector
/// starts it unless `resource_opts.start_after_created` is false, as creating it does.
pub async fn set_enable(
    pool: &PgPool,
    kind: &str,
    name: &str,
    enable: bool,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE connectors SET enable = $3,
             started = CASE WHEN $3 AND NOT enable
                 THEN COALESCE((config -> 'resource_opts' ->> 'start_after_created')::boolean, TRUE)
                 ELSE started END,
             updated_at = now()
         WHERE type = $1 AND name = $2",
    )
    .bind(kind)
    .bind(name)
    .bind(enable)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// `POST .../start` of a connector that is not running well: marks it started and bumps `starts`,
/// so workers give its flows new clients. `false` when there is no such connector.
pub async fn restart(pool: &PgPool, kind: &str, name: &str) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE connectors SET starts = starts + 1, started = TRUE WHERE type = $1 AND name = $2",
    )
    .bind(kind)
    .bind(name)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() > 0)
}

pub async fn delete(conn: &mut PgConnection, kind: &str, name: &str) -> Result<bool, sqlx::Error> {
    keyed::delete(conn, TABLE, kind, name).await
}

/// Every connector, read inside a transaction, by type and name (so that exports diff well).
pub async fn list_in(conn: &mut PgConnection) -> Result<Vec<ConnectorRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM connectors ORDER BY type, name"
    ))
    .fetch_all(conn)
    .await
}

impl std::fmt::Debug for NewConnector<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewConnector")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("enable", &self.enable)
            .finish_non_exhaustive()
    }
}
