//! The `actions` and `sources` tables, which share one shape: a typed body (`parameters`) on top of
//! a named connector of the same type.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};

use super::keyed_by_type_and_name::{self as keyed, RowLock};

/// Which of the two tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeTable {
    Actions,
    Sources,
}

impl BridgeTable {
    fn name(self) -> &'static str {
        match self {
            Self::Actions => "actions",
            Self::Sources => "sources",
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct BridgeRow {
    #[sqlx(rename = "type")]
    pub kind: String,
    pub name: String,
    pub connector: String,
    pub enable: bool,
    pub description: String,
    pub parameters: Json<Value>,
    pub resource_opts: Json<Value>,
    /// EMQX's labels, a JSON array of strings.
    pub tags: Json<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "type, name, connector, enable, description, parameters, resource_opts, tags, \
                       created_at, updated_at";

#[derive(Debug)]
pub struct NewBridge<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub connector: &'a str,
    pub enable: bool,
    pub description: &'a str,
    pub parameters: &'a Value,
    pub resource_opts: &'a Value,
    pub tags: &'a Value,
}

pub async fn list(pool: &PgPool, table: BridgeTable) -> Result<Vec<BridgeRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {} ORDER BY created_at, type, name",
        table.name()
    ))
    .fetch_all(pool)
    .await
}

/// Every action or source, read inside a transaction, by type and name (so that exports diff well).
pub async fn list_in(
    conn: &mut PgConnection,
    table: BridgeTable,
) -> Result<Vec<BridgeRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {} ORDER BY type, name",
        table.name()
    ))
    .fetch_all(conn)
    .await
}

pub async fn get(
    pool: &PgPool,
    table: BridgeTable,
    kind: &str,
    name: &str,
) -> Result<Option<BridgeRow>, sqlx::Error> {
    keyed::fetch(pool, table.name(), COLUMNS, kind, name, RowLock::None).await
}

/// See [`super::connectors::lock_shared`]: keeps the row alive while a referencing row is saved.
pub async fn lock_shared(
    conn: &mut PgConnection,
    table: BridgeTable,
    kind: &str,
    name: &str,
) -> Result<Option<BridgeRow>, sqlx::Error> {
    keyed::fetch(conn, table.name(), COLUMNS, kind, name, RowLock::Shared).await
}

pub async fn lock_exclusive(
    conn: &mut PgConnection,
    table: BridgeTable,
    kind: &str,
    name: &str,
) -> Result<Option<BridgeRow>, sqlx::Error> {
    keyed::fetch(conn, table.name(), COLUMNS, kind, name, RowLock::Exclusive).await
}

/// Inserts; `None` when one of that type and name already exists.
pub async fn insert(
    conn: &mut PgConnection,
    table: BridgeTable,
    new: &NewBridge<'_>,
) -> Result<Option<BridgeRow>, sqlx::Error> {
    let sql = format!(
        "INSERT INTO {} (type, name, connector, enable, description, parameters, resource_opts, tags)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING {COLUMNS}",
        table.name()
    );
    save(conn, &sql, new).await
}

pub async fn update(
    conn: &mut PgConnection,
    table: BridgeTable,
    new: &NewBridge<'_>,
) -> Result<Option<BridgeRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE {} SET connector = $3, enable = $4, description = $5, parameters = $6,
         resource_opts = $7, tags = $8, updated_at = now() WHERE type = $1 AND name = $2
         RETURNING {COLUMNS}",
        table.name()
    );
    save(conn, &sql, new).await
}

/// Runs an insert or update that takes `new`'s fields as `$1`..`$8` in column order.
async fn save(
    conn: &mut PgConnection,
    sql: &str,
    new: &NewBridge<'_>,
) -> Result<Option<BridgeRow>, sqlx::Error> {
    sqlx::query_as(sql)
        .bind(new.kind)
        .bind(new.name)
        .bind(new.connector)
        .bind(new.enable)
        .bind(new.description)
        .bind(Json(new.parameters))
        .bind(Json(new.resource_opts))
        .bind(Json(new.tags))
        .fetch_optional(conn)
        .await
}

pub async fn set_enable(
    pool: &PgPool,
    table: BridgeTable,
    kind: &str,
    name: &str,
    enable: bool,
) -> Result<bool, sqlx::Error> {
    keyed::set_enable(pool, table.name(), kind, name, enable).await
}

pub async fn delete(
    conn: &mut PgConnection,
    table: BridgeTable,
    kind: &str,
    name: &str,
) -> Result<bool, sqlx::Error> {
    keyed::delete(conn, table.name(), kind, name).await
}

/// `<type>:<name>` of the actions or sources using a connector.
pub async fn using_connector(
    conn: &mut PgConnection,
    table: BridgeTable,
    kind: &str,
    connector: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT type || ':' || name FROM {} WHERE type = $1 AND connector = $2 ORDER BY name",
        table.name()
    ))
    .bind(kind)
    .bind(connector)
    .fetch_all(conn)
    .await
}

/// Sources whose topic mappings publish through an `mqtt` connector (absent means `default`).
pub async fn sources_publishing_through(
    conn: &mut PgConnection,
    mqtt_connector: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT type || ':' || name FROM sources
         WHERE COALESCE(parameters->>'mqtt_connector', 'default') = $1 ORDER BY name",
    )
    .bind(mqtt_connector)
    .fetch_all(conn)
    .await
}
