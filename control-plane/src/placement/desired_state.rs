//! The desired state as stored: the rows placement reads, loaded in one consistent snapshot.

use std::collections::BTreeMap;

use serde_json::Value;
use sqlx::PgPool;

use crate::store::revision;

/// A stored connector. `config` is the type-specific body, secrets included.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct ConnectorRow {
    #[sqlx(rename = "type")]
    pub kind: String,
    pub name: String,
    pub enable: bool,
    pub config: Value,
    /// See `store::connectors::ConnectorRow::started`.
    pub started: bool,
    /// How many times `start` restarted it; flows carry it so workers build new clients.
    pub starts: i64,
}

/// A stored action (sink); `connector` names a connector of the same type.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ActionRow {
    #[sqlx(rename = "type")]
    pub kind: String,
    pub name: String,
    pub connector: String,
    pub enable: bool,
    pub parameters: Value,
}

/// A stored source; `connector` names a connector of the same type.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SourceRow {
    #[sqlx(rename = "type")]
    pub kind: String,
    pub name: String,
    pub connector: String,
    pub enable: bool,
    pub parameters: Value,
}

/// A stored rule. `actions` is the JSON list of `RuleActionRef`s as the API accepted it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RuleRow {
    pub id: String,
    pub sql: String,
    pub actions: Value,
    pub enable: bool,
    /// `None` means the `mqtt` connector named `default`.
    pub mqtt_connector: Option<String>,
}

/// Everything placement needs, as of one configuration revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredState {
    pub revision: u64,
    pub connectors: Vec<ConnectorRow>,
    pub actions: Vec<ActionRow>,
    pub sources: Vec<SourceRow>,
    pub rules: Vec<RuleRow>,
    /// Resource id to how many times its metrics were reset.
    pub metric_resets: BTreeMap<String, u64>,
}

// Connector configs carry passwords: show which connector, never its config.
impl std::fmt::Debug for ConnectorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorRow")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("enable", &self.enable)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// External: the database is unreachable or failing.
    #[error("reading the desired state from PostgreSQL failed")]
    Database(#[from] sqlx::Error),
}

/// Reads the whole desired state in one repeatable-read transaction, so the revision matches the
/// rows exactly even while the API is writing.
pub async fn load_desired_state(pool: &PgPool) -> Result<DesiredState, LoadError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let revision = revision::current(&mut *tx).await?;
    let connectors = sqlx::query_as::<_, ConnectorRow>(
        "SELECT type, name, enable, config, started, starts FROM connectors",
    )
    .fetch_all(&mut *tx)
    .await?;
    let actions = sqlx::query_as::<_, ActionRow>(
        "SELECT type, name, connector, enable, parameters FROM actions",
    )
    .fetch_all(&mut *tx)
    .await?;
    let sources = sqlx::query_as::<_, SourceRow>(
        "SELECT type, name, connector, enable, parameters FROM sources",
    )
    .fetch_all(&mut *tx)
    .await?;
    let rules = sqlx::query_as::<_, RuleRow>(
        "SELECT id, sql, actions, enable, mqtt_connector FROM rules ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let resets: Vec<(String, i64)> =
        sqlx::query_as("SELECT resource_id, generation FROM metric_resets")
            .fetch_all(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(DesiredState {
        revision: non_negative(revision),
        connectors,
        actions,
        sources,
        rules,
        metric_resets: resets
            .into_iter()
            .map(|(id, generation)| (id, non_negative(generation)))
            .collect(),
    })
}

// BIGINT columns that only ever count up from zero or one.
fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
