//! The `api_keys` table.

use sqlx::PgPool;

/// What signing in with an enabled, unexpired key needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActiveKey {
    pub secret_sha256: String,
    pub name: String,
    pub role: String,
}

/// The secret hash, name and role of an enabled, unexpired key.
pub async fn find_active(pool: &PgPool, api_key: &str) -> Result<Option<ActiveKey>, sqlx::Error> {
    sqlx::query_as(
        "SELECT secret_sha256, name, role FROM api_keys
         WHERE api_key = $1 AND enable AND (expired_at IS NULL OR expired_at > now())",
    )
    .bind(api_key)
    .fetch_optional(pool)
    .await
}

pub async fn upsert_bootstrap(
    pool: &PgPool,
    api_key: &str,
    secret_sha256: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (api_key, secret_sha256, name, description, role)
         VALUES ($1, $2, 'bootstrap-' || $1, 'created from --bootstrap-api-key', 'administrator')
         ON CONFLICT (api_key) DO UPDATE
         SET secret_sha256 = EXCLUDED.secret_sha256, enable = TRUE, role = 'administrator'",
    )
    .bind(api_key)
    .bind(secret_sha256)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub api_key: String,
    pub name: String,
    pub description: String,
    pub enable: bool,
    pub expired_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub role: String,
}

const COLUMNS: &str = "api_key, name, description, enable, expired_at, created_at, role";

pub async fn list(pool: &PgPool) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys ORDER BY created_at, name"
    ))
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &PgPool, name: &str) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE name = $1"))
        .bind(name)
        .fetch_optional(pool)
        .await
}

#[derive(Debug)]
pub struct NewApiKey<'a> {
    pub api_key: &'a str,
    pub secret_sha256: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub enable: bool,
    pub expired_at: Option<chrono::DateTime<chrono::Utc>>,
    pub role: &'a str,
}

/// Inserts; `None` when the name is taken.
pub async fn insert(pool: &PgPool, new: &NewApiKey<'_>) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO api_keys (api_key, secret_sha256, name, description, enable, expired_at, role)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(new.api_key)
    .bind(new.secret_sha256)
    .bind(new.name)
    .bind(new.description)
    .bind(new.enable)
    .bind(new.expired_at)
    .bind(new.role)
    .fetch_optional(pool)
    .await
}

/// The fields a `PUT` may change; `None` keeps the stored value.
#[derive(Debug, Default)]
pub struct ApiKeyUpdate<'a> {
    pub enable: Option<bool>,
    pub description: Option<&'a str>,
    /// `Some(None)` removes the expiry.
    pub expired_at: Option<Option<chrono::DateTime<chrono::Utc>>>,
    pub role: Option<&'a str>,
}

pub async fn update(
    pool: &PgPool,
    name: &str,
    changes: &ApiKeyUpdate<'_>,
) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE api_keys SET enable = COALESCE($2, enable), description = COALESCE($3, description),
         expired_at = CASE WHEN $4 THEN $5 ELSE expired_at END, role = COALESCE($6, role)
         WHERE name = $1 RETURNING {COLUMNS}"
    ))
    .bind(name)
    .bind(changes.enable)
    .bind(changes.description)
    .bind(changes.expired_at.is_some())
    .bind(changes.expired_at.flatten())
    .bind(changes.role)
    .fetch_optional(pool)
    .await
}

pub async fn delete(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM api_keys WHERE name = $1")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
