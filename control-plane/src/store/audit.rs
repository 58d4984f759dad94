//! The `audit_log` table: one row per change asked through the REST API.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgPool};

#[derive(Debug)]
pub struct NewAuditEntry<'a> {
    pub source: &'a str,
    pub source_ip: &'a str,
    pub http_method: &'a str,
    pub path: &'a str,
    pub operation_id: &'a str,
    pub operation_type: &'a str,
    pub resource_id: &'a str,
    pub http_status_code: i32,
    pub operation_result: &'a str,
    pub failure: &'a str,
    pub duration_ms: i64,
    pub request_body: Option<&'a Value>,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
}

/// Writes one entry and returns its id.
pub async fn insert(pool: &PgPool, entry: &NewAuditEntry<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO audit_log (source, source_ip, http_method, path, operation_id, operation_type,
             resource_id, http_status_code, operation_result, failure, duration_ms, request_body,
             before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(entry.source)
    .bind(entry.source_ip)
    .bind(entry.http_method)
    .bind(entry.path)
    .bind(entry.operation_id)
    .bind(entry.operation_type)
    .bind(entry.resource_id)
    .bind(entry.http_status_code)
    .bind(entry.operation_result)
    .bind(entry.failure)
    .bind(entry.duration_ms)
    .bind(entry.request_body.map(Json))
    .bind(entry.before.map(Json))
    .bind(entry.after.map(Json))
    .fetch_one(pool)
    .await
}

/// Deletes the entries beyond the newest `max_rows` (by id, so gaps left by failed inserts only
/// make it keep a few less) and those older than `max_days`; 0 turns either limit off.
pub async fn prune(
    pool: &PgPool,
    newest_id: i64,
    max_rows: u64,
    max_days: u32,
) -> Result<u64, sqlx::Error> {
    let oldest_kept = if max_rows == 0 {
        i64::MIN
    } else {
        newest_id.saturating_sub(i64::try_from(max_rows).unwrap_or(i64::MAX))
    };
    let done = sqlx::query(
        "DELETE FROM audit_log
         WHERE id <= $1 OR ($2 > 0 AND created_at < now() - make_interval(days => $2))",
    )
    .bind(oldest_kept)
    .bind(i32::try_from(max_days).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub source: String,
    pub source_ip: String,
    pub http_method: String,
    pub path: String,
    pub operation_id: String,
    pub operation_type: String,
    pub resource_id: String,
    pub http_status_code: i32,
    pub operation_result: String,
    pub failure: String,
    pub duration_ms: i64,
    /// The JSONB columns as text: PostgreSQL writes numbers exactly, and a huge one (read back
    /// from a float near `f64::MAX`) may not parse into `serde_json`'s numbers, so parsing is
    /// left to the reader, who can fall back.
    pub request_body: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Every field is an exact match when set; the times bound `created_at` inclusively.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub source: Option<String>,
    pub source_ip: Option<String>,
    pub operation_id: Option<String>,
    pub operation_type: Option<String>,
    pub resource_id: Option<String>,
    pub operation_result: Option<String>,
    pub http_status_code: Option<i32>,
    pub http_method: Option<String>,
    pub gte_created_at: Option<DateTime<Utc>>,
    pub lte_created_at: Option<DateTime<Utc>>,
}

const MATCHES: &str = "($1::text IS NULL OR source = $1)
    AND ($2::text IS NULL OR source_ip = $2)
    AND ($3::text IS NULL OR operation_id = $3)
    AND ($4::text IS NULL OR operation_type = $4)
    AND ($5::text IS NULL OR resource_id = $5)
    AND ($6::text IS NULL OR operation_result = $6)
    AND ($7::int IS NULL OR http_status_code = $7)
    AND ($8::text IS NULL OR http_method = $8)
    AND ($9::timestamptz IS NULL OR created_at >= $9)
    AND ($10::timestamptz IS NULL OR created_at <= $10)";

macro_rules! bind_filter {
    ($query:expr, $filter:expr) => {
        $query
            .bind(&$filter.source)
            .bind(&$filter.source_ip)
            .bind(&$filter.operation_id)
            .bind(&$filter.operation_type)
            .bind(&$filter.resource_id)
            .bind(&$filter.operation_result)
            .bind($filter.http_status_code)
            .bind(&$filter.http_method)
            .bind($filter.gte_created_at)
            .bind($filter.lte_created_at)
    };
}

/// The matching entries, newest first, `limit` of them after skipping `offset`, and how many
/// match in all.
pub async fn page(
    pool: &PgPool,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<AuditRow>, i64), sqlx::Error> {
    let sql = format!(
        "SELECT id, created_at, source, source_ip, http_method, path, operation_id,
             operation_type, resource_id, http_status_code, operation_result, failure,
             duration_ms, request_body::text AS request_body, before::text AS before,
             after::text AS after
         FROM audit_log WHERE {MATCHES} ORDER BY id DESC LIMIT $11 OFFSET $12"
    );
    let rows = bind_filter!(sqlx::query_as(&sql), filter)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
    let count_sql = format!("SELECT count(*) FROM audit_log WHERE {MATCHES}");
    let count = bind_filter!(sqlx::query_scalar(&count_sql), filter)
        .fetch_one(pool)
        .await?;
    Ok((rows, count))
}
