//! The `metric_resets` table. Workers never zero their counters (Prometheus must see them grow);
//! a reset bumps a per-resource generation that reaches workers in their next assignment, and
//! they move the baseline their heartbeats subtract.

use sqlx::PgPool;

/// Resets `resource_id`'s metrics (`rule:<id>`, `action:<type>:<name>`, `source:<type>:<name>`)
/// and returns its new generation.
///
/// The stored reports of the resource are dropped in the same transaction so the API shows zero
/// right away instead of the old totals until every worker has heartbeated again.
pub async fn reset(pool: &PgPool, resource_id: &str) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let generation: i64 = sqlx::query_scalar(
        "INSERT INTO metric_resets (resource_id, generation) VALUES ($1, 1) \
         ON CONFLICT (resource_id) DO UPDATE SET generation = metric_resets.generation + 1 \
         RETURNING generation",
    )
    .bind(resource_id)
    .fetch_one(&mut *tx)
    .await?;
    // The trigger has bumped the revision by now (it runs after the statement, in this
    // transaction); workers that have not applied it yet still report pre-reset totals.
    sqlx::query(
        "UPDATE metric_resets SET revision = (SELECT revision FROM config_revision) \
         WHERE resource_id = $1",
    )
    .bind(resource_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE workers SET metrics = COALESCE( \
             (SELECT jsonb_agg(m) FROM jsonb_array_elements(metrics) AS m \
              WHERE m->>'resource_id' <> $1), '[]'::jsonb) \
         WHERE metrics @> jsonb_build_array(jsonb_build_object('resource_id', $1::text))",
    )
    .bind(resource_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(u64::try_from(generation).unwrap_or(0))
}

/// Resources reset at a revision the worker has not applied yet: its counters for them are still
/// the pre-reset totals.
pub async fn pending_after(
    pool: &PgPool,
    applied_revision: u64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT resource_id FROM metric_resets WHERE revision > $1")
        .bind(i64::try_from(applied_revision).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await
}
