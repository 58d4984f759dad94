//! The statements the tables keyed by `(type, name)` share: `connectors`, `actions` and `sources`.
//! Table and column names are this crate's constants, never user input.

use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgExecutor};

/// What reading one row also locks until the transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLock {
    None,
    /// Keeps the row from being deleted while something that references it is saved.
    Shared,
    /// For changing or deleting the row.
    Exclusive,
}

impl RowLock {
    fn clause(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Shared => " FOR SHARE",
            Self::Exclusive => " FOR UPDATE",
        }
    }
}

pub async fn fetch<'c, Row>(
    executor: impl PgExecutor<'c>,
    table: &str,
    columns: &str,
    kind: &str,
    name: &str,
    lock: RowLock,
) -> Result<Option<Row>, sqlx::Error>
where
    Row: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    sqlx::query_as(&format!(
        "SELECT {columns} FROM {table} WHERE type = $1 AND name = $2{}",
        lock.clause()
    ))
    .bind(kind)
    .bind(name)
    .fetch_optional(executor)
    .await
}

/// `false` when there is no such row.
pub async fn set_enable<'c>(
    executor: impl PgExecutor<'c>,
    table: &str,
    kind: &str,
    name: &str,
    enable: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "UPDATE {table} SET enable = $3, updated_at = now() WHERE type = $1 AND name = $2"
    ))
    .bind(kind)
    .bind(name)
    .bind(enable)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// `false` when there is no such row.
pub async fn delete<'c>(
    executor: impl PgExecutor<'c>,
    table: &str,
    kind: &str,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "DELETE FROM {table} WHERE type = $1 AND name = $2"
    ))
    .bind(kind)
    .bind(name)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() > 0)
}
