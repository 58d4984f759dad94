//! The `api_keys` table.

use sqlx::PgPool;

/// The secret hash of an enabled, unexpired key.
pub async fn find_active_hash(pool: &PgPool, api_key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT secret_sha256 FROM api_keys
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
        "INSERT INTO api_keys (api_key, secret_sha256, name, description)
         VALUES ($1, $2, 'bootstrap-' || $1, 'created from --bootstrap-api-key')
         ON CONFLICT (api_key) DO UPDATE SET secret_sha256 = EXCLUDED.secret_sha256, enable = TRUE",
    )
    .bind(api_key)
    .bind(secret_sha256)
    .execute(pool)
    .await?;
    Ok(())
}
