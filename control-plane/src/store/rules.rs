//! The `rules` table.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgExecutor, PgPool};

#[derive(Debug, Clone, FromRow)]
pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub sql: String,
    pub actions: Json<Value>,
    pub enable: bool,
    pub description: String,
    pub metadata: Json<Value>,
    pub mqtt_connector: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, name, sql, actions, enable, description, metadata, mqtt_connector, created_at, updated_at";

#[derive(Debug)]
pub struct NewRule<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub sql: &'a str,
    pub actions: &'a Value,
    pub enable: bool,
    pub description: &'a str,
    pub metadata: &'a Value,
    pub mqtt_connector: Option<&'a str>,
}

pub async fn list(pool: &PgPool) -> Result<Vec<RuleRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rules ORDER BY created_at DESC, id"
    ))
    .fetch_all(pool)
    .await
}

/// Every rule, read inside a transaction (to find the ones whose FROM names a source).
pub async fn list_in(conn: &mut PgConnection) -> Result<Vec<RuleRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM rules ORDER BY id"))
        .fetch_all(conn)
        .await
}

pub async fn get(pool: &PgPool, id: &str) -> Result<Option<RuleRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM rules WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Inserts; `None` when the id is taken.
pub async fn insert(
    conn: &mut PgConnection,
    new: &NewRule<'_>,
) -> Result<Option<RuleRow>, sqlx::Error> {
    let sql = format!(
        "INSERT INTO rules (id, name, sql, actions, enable, description, metadata, mqtt_connector)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
    );
    save(conn, &sql, new).await
}

pub async fn update(
    conn: &mut PgConnection,
    new: &NewRule<'_>,
) -> Result<Option<RuleRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE rules SET name = $2, sql = $3, actions = $4, enable = $5, description = $6,
         metadata = $7, mqtt_connector = $8, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    );
    save(conn, &sql, new).await
}

/// Runs an insert or update that takes `new`'s fields as `$1`..`$8` in column order.
async fn save(
    conn: &mut PgConnection,
    sql: &str,
    new: &NewRule<'_>,
) -> Result<Option<RuleRow>, sqlx::Error> {
    sqlx::query_as(sql)
        .bind(new.id)
        .bind(new.name)
        .bind(new.sql)
        .bind(Json(new.actions))
        .bind(new.enable)
        .bind(new.description)
        .bind(Json(new.metadata))
        .bind(new.mqtt_connector)
        .fetch_optional(conn)
        .await
}

pub async fn delete<'c>(executor: impl PgExecutor<'c>, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM rules WHERE id = $1")
        .bind(id)
        .execute(executor)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Ids of the rules whose `actions` reference a stored action (`kafka_producer:<name>`).
pub async fn using_action(
    conn: &mut PgConnection,
    action_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM rules WHERE actions @> jsonb_build_array($1::text) ORDER BY id",
    )
    .bind(action_id)
    .fetch_all(conn)
    .await
}

/// Removes a stored action from every rule referencing it (`also_delete_dep_actions`).
pub async fn remove_action(conn: &mut PgConnection, action_id: &str) -> Result<(), sqlx::Error> {
    // `jsonb - text` drops the matching string elements of an array and keeps inline actions.
    sqlx::query(
        "UPDATE rules SET actions = actions - $1::text, updated_at = now()
         WHERE actions @> jsonb_build_array($1::text)",
    )
    .bind(action_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ids of the rules subscribing through an `mqtt` connector (NULL means `default`).
pub async fn using_mqtt_connector(
    conn: &mut PgConnection,
    name: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM rules WHERE COALESCE(mqtt_connector, 'default') = $1 ORDER BY id",
    )
    .bind(name)
    .fetch_all(conn)
    .await
}

/// Reads a rule and locks it for a change.
pub async fn lock_exclusive(
    conn: &mut PgConnection,
    id: &str,
) -> Result<Option<RuleRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rules WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}
