//! What actions and sources share: a typed `parameters` body on a named connector of the matching
//! type. The endpoints over these functions are defined once in `bridge_endpoints.rs` and
//! instantiated per type in `actions.rs` and `sources.rs`.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use tributary_protocol::resources::{ConnectorType, FieldError, Validate};
use tributary_protocol::units::{HumanDuration, Timeout};
use utoipa::ToSchema;

use super::envelope;
use super::relations::Relations;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::bridges::{self, BridgeRow, BridgeTable, NewBridge};
use crate::validation::{names, references};
use crate::worker_reports::StatusView;

/// The type-specific parts of actions and sources.
// Only this crate's handlers call these, on actix's per-thread runtimes: no `Send` bound needed.
#[allow(async_fn_in_trait)]
pub trait BridgeKind {
    /// `action` or `source`, for messages.
    const NOUN: &'static str;
    const TABLE: BridgeTable;
    /// The only type today (`kafka_producer` / `kafka_consumer`).
    const TYPE: &'static str;
    const CONNECTOR_TYPE: ConnectorType;
    /// Another name EMQX takes for `parameters` in request bodies; reads always say `parameters`.
    const PARAMETERS_ALIAS: Option<&'static str> = None;
    type Parameters: DeserializeOwned + Serialize + Validate + Clone;

    /// Checks templates inside the parameters (paths relative to `parameters`).
    fn template_errors(parameters: &Self::Parameters) -> Vec<FieldError>;

    /// Checks references other than the connector, inside the saving transaction.
    async fn check_references(
        conn: &mut PgConnection,
        parameters: &Self::Parameters,
    ) -> ApiResult<()>;

    /// What still uses `<TYPE>:<name>`, read inside the deleting transaction.
    async fn dependents(conn: &mut PgConnection, name: &str) -> ApiResult<Vec<String>>;

    /// Ids of the rules using the one named `name`.
    fn rules_using(relations: &Relations, name: &str) -> Vec<String>;

    /// Removes references to it before deletion (`also_delete_dep_actions=true`); `false` when
    /// dependents cannot be detached automatically.
    async fn detach_dependents(conn: &mut PgConnection, name: &str) -> ApiResult<bool>;
}

/// `resource_opts` of actions and sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BridgeResourceOptions {
    /// How often workers check the connection behind this action or source.
    pub health_check_interval: HumanDuration,
    /// EMQX's limit on one health check (`60s` by default, or `infinity`). Accepted and stored;
    /// Tributary does not apply it: the status shown is the connector's, as workers report it.
    pub health_check_timeout: Timeout,
    /// EMQX's random delay added to each health check interval (`0ms`). Accepted and stored;
    /// Tributary does not apply it.
    pub health_check_interval_jitter: HumanDuration,
    /// How soon EMQX retries buffered requests after a failure; EMQX derives it from
    /// `health_check_interval` when absent. Accepted and stored; Tributary does not apply it:
    /// its producers retry on librdkafka's schedule.
    pub resume_interval: Option<HumanDuration>,
}

impl Default for BridgeResourceOptions {
    fn default() -> Self {
        Self {
            health_check_interval: HumanDuration::from_secs(15),
            health_check_timeout: Timeout::After(HumanDuration::from_secs(60)),
            health_check_interval_jitter: HumanDuration::from_millis(0),
            resume_interval: None,
        }
    }
}

/// An action or source as stored, with its parameters decoded. Shown through the per-type views
/// that [`bridge_view!`] defines, so the OpenAPI document names each type's parameters.
#[derive(Debug)]
pub struct BridgeView<P> {
    pub kind: String,
    pub name: String,
    pub enable: bool,
    pub description: String,
    pub connector: String,
    pub parameters: P,
    pub resource_opts: BridgeResourceOptions,
    pub tags: Vec<String>,
    /// Ids of the rules that send to it (an action) or read it (a source).
    pub rules: Vec<String>,
    /// Its connector's status (as the live workers report it, or when none runs it, as the
    /// control plane's health check finds it); `stopped` when disabled.
    pub status: StatusView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Defines the response (and request) schema of one bridge type.
macro_rules! bridge_view {
    ($(#[$doc:meta])* $view:ident, $parameters:ty, type_pattern: $type_pattern:literal) => {
        $(#[$doc])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $view {
            #[serde(rename = "type")]
            #[schema(pattern = $type_pattern)]
            pub kind: String,
            /// Letters, digits, `_`, `.` and `-`, starting with a letter or digit.
            #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length = 128)]
            pub name: String,
            pub enable: bool,
            pub description: String,
            /// Name of a connector of the same type.
            #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length = 128)]
            pub connector: String,
            pub parameters: $parameters,
            pub resource_opts: $crate::api::bridges::BridgeResourceOptions,
            /// Labels for people and tools, as in EMQX; stored and shown, not acted on.
            pub tags: Vec<String>,
            /// Ids of the rules that use it (read-only, ignored in requests).
            pub rules: Vec<String>,
            /// `status`, `status_reason` and `node_status[]`: its connector's, as the live
            /// workers report it, or when none runs it, as the control plane's health check
            /// finds it (`connecting` until the first check ends, `disconnected` with the
            /// reason); `stopped` when it or its connector is disabled.
            #[serde(flatten)]
            pub status: $crate::worker_reports::StatusView,
            pub created_at: chrono::DateTime<chrono::Utc>,
            pub updated_at: chrono::DateTime<chrono::Utc>,
        }

        impl From<$crate::api::bridges::BridgeView<$parameters>> for $view {
            fn from(v: $crate::api::bridges::BridgeView<$parameters>) -> Self {
                Self {
                    kind: v.kind,
                    name: v.name,
                    enable: v.enable,
                    description: v.description,
                    connector: v.connector,
                    parameters: v.parameters,
                    resource_opts: v.resource_opts,
                    tags: v.tags,
                    rules: v.rules,
                    status: v.status,
                    created_at: v.created_at,
                    updated_at: v.updated_at,
                }
            }
        }
    };
}
pub(crate) use bridge_view;

impl<P: DeserializeOwned> BridgeView<P> {
    pub fn from_row<K: BridgeKind>(row: &BridgeRow, relations: &Relations) -> ApiResult<Self> {
        let stored = |what: &str, err: serde_json::Error| {
            ApiError::Internal(format!(
                "stored {} `{}:{}` {what} does not decode: {err}",
                row.kind, row.kind, row.name
            ))
        };
        Ok(Self {
            kind: row.kind.clone(),
            name: row.name.clone(),
            enable: row.enable,
            description: row.description.clone(),
            connector: row.connector.clone(),
            parameters: serde_json::from_value(row.parameters.0.clone())
                .map_err(|e| stored("parameters", e))?,
            resource_opts: serde_json::from_value(row.resource_opts.0.clone())
                .map_err(|e| stored("resource_opts", e))?,
            tags: serde_json::from_value(row.tags.0.clone()).map_err(|e| stored("tags", e))?,
            rules: K::rules_using(relations, &row.name),
            status: relations.bridge_status(
                row.enable,
                &format!("{}:{}", K::CONNECTOR_TYPE.as_str(), row.connector),
            ),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BridgeFields<P> {
    connector: String,
    parameters: P,
    #[serde(default)]
    resource_opts: BridgeResourceOptions,
    #[serde(default)]
    tags: Vec<String>,
}

/// A validated body (everything that can be checked without the database).
#[derive(Debug)]
pub struct BridgeInput<P> {
    pub name: String,
    pub enable: Option<bool>,
    pub description: String,
    pub connector: String,
    pub parameters: P,
    pub resource_opts: BridgeResourceOptions,
    pub tags: Vec<String>,
}

/// Parses a body. `path_name` is the name from the path on updates (`type`/`name` then optional).
pub fn parse<K: BridgeKind>(
    body: Value,
    path_name: Option<&str>,
) -> ApiResult<BridgeInput<K::Parameters>> {
    let (envelope, fields) = envelope::split(body)?;
    match (&envelope.kind, path_name) {
        (None, None) => return Err(ApiError::invalid("type", "is required")),
        (Some(kind), _) if kind != K::TYPE => {
            return Err(ApiError::invalid(
                "type",
                format!("`{kind}` is not a {} type; use `{}`", K::NOUN, K::TYPE),
            ));
        }
        _ => {}
    }
    let name = match (envelope.name, path_name) {
        (Some(given), Some(expected)) => {
            envelope::check_same("name", Some(&given), expected)?;
            given
        }
        (None, Some(expected)) => expected.to_owned(),
        (Some(given), None) => given,
        (None, None) => return Err(ApiError::invalid("name", "is required")),
    };
    names::check("name", &name).map_err(|e| ApiError::Invalid(vec![e]))?;
    let mut fields = fields;
    if let Some(alias) = K::PARAMETERS_ALIAS
        && let Some(parameters) = fields.remove(alias)
    {
        if fields.contains_key("parameters") {
            return Err(ApiError::invalid(
                alias,
                format!("`{alias}` is another name for `parameters`: give one of them, not both"),
            ));
        }
        fields.insert("parameters".to_owned(), parameters);
    }
    let fields: BridgeFields<K::Parameters> = envelope::decode(Value::Object(fields))?;
    names::check("connector", &fields.connector).map_err(|e| ApiError::Invalid(vec![e]))?;
    let mut errors = envelope::within(
        "parameters",
        fields.parameters.validate().err().unwrap_or_default(),
    );
    errors.extend(envelope::within(
        "parameters",
        K::template_errors(&fields.parameters),
    ));
    if fields.resource_opts.health_check_interval.as_millis() < 1000 {
        errors.push(FieldError::new(
            "resource_opts.health_check_interval",
            "at least 1s",
        ));
    }
    envelope::reject_if_any(errors)?;
    Ok(BridgeInput {
        name,
        enable: envelope.enable,
        description: envelope.description.unwrap_or_default(),
        connector: fields.connector,
        parameters: fields.parameters,
        resource_opts: fields.resource_opts,
        tags: fields.tags,
    })
}

fn to_json<T: Serialize>(value: &T) -> ApiResult<Value> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("serializing: {e}")))
}

fn id_of<K: BridgeKind>(name: &str) -> String {
    format!("{}:{name}", K::TYPE)
}

fn not_found<K: BridgeKind>(name: &str) -> ApiError {
    ApiError::NotFound {
        kind: K::NOUN,
        id: id_of::<K>(name),
    }
}

/// Splits a path id, which must be of `K`'s type.
pub fn parse_id<K: BridgeKind>(id: &str) -> ApiResult<String> {
    match id.split_once(':') {
        Some((kind, name)) if kind == K::TYPE && !name.is_empty() => Ok(name.to_owned()),
        _ => Err(ApiError::BadId {
            kind: K::NOUN,
            id: id.to_owned(),
            reason: format!("write `{}:<name>`", K::TYPE),
        }),
    }
}

pub async fn list<K: BridgeKind>(state: &AppState) -> ApiResult<Vec<BridgeView<K::Parameters>>> {
    let relations = Relations::load(state).await?;
    bridges::list(&state.pool, K::TABLE)
        .await?
        .iter()
        .map(|row| BridgeView::from_row::<K>(row, &relations))
        .collect()
}

/// One line of `GET /actions_summary` or `/sources_summary`: what a list page shows, without the
/// configuration (EMQX's `response_summary`).
#[derive(Debug, Serialize, ToSchema)]
pub struct BridgeSummary {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub enable: bool,
    pub description: String,
    /// Milliseconds since the Unix epoch, as EMQX's summaries give it.
    pub created_at: i64,
    /// Milliseconds since the Unix epoch.
    pub last_modified_at: i64,
    /// Ids of the rules that use it.
    pub rules: Vec<String>,
    #[serde(flatten)]
    pub status: StatusView,
}

pub async fn summary<K: BridgeKind>(state: &AppState) -> ApiResult<Vec<BridgeSummary>> {
    let relations = Relations::load(state).await?;
    Ok(bridges::list(&state.pool, K::TABLE)
        .await?
        .into_iter()
        .map(|row| BridgeSummary {
            rules: K::rules_using(&relations, &row.name),
            status: relations.bridge_status(
                row.enable,
                &format!("{}:{}", K::CONNECTOR_TYPE.as_str(), row.connector),
            ),
            kind: row.kind,
            name: row.name,
            enable: row.enable,
            description: row.description,
            created_at: row.created_at.timestamp_millis(),
            last_modified_at: row.updated_at.timestamp_millis(),
        })
        .collect())
}

/// `POST /<actions|sources>/{id}/start` (and `/nodes/{node}/...`), EMQX's only operation: 404
/// when it does not exist, 400 when it or its connector is disabled; otherwise EMQX starts its
/// connector and answers with the outcome, and so does Tributary (see `connector_start`).
pub async fn start<K: BridgeKind>(state: &AppState, id: &str, node: Option<&str>) -> ApiResult<()> {
    let name = parse_id::<K>(id)?;
    let row = bridges::get(&state.pool, K::TABLE, K::TYPE, &name)
        .await?
        .ok_or_else(|| not_found::<K>(&name))?;
    let connector =
        crate::store::connectors::get(&state.pool, K::CONNECTOR_TYPE.as_str(), &row.connector)
            .await?;
    if !row.enable || !connector.is_some_and(|c| c.enable) {
        return Err(ApiError::NotEnabled { what: "connector" });
    }
    tracing::info!(resource = %id, ?node, "{} start asked", K::NOUN);
    super::connector_start::start(state, K::CONNECTOR_TYPE, &row.connector, node).await
}

pub async fn read<K: BridgeKind>(
    state: &AppState,
    id: &str,
) -> ApiResult<BridgeView<K::Parameters>> {
    let name = parse_id::<K>(id)?;
    let row = bridges::get(&state.pool, K::TABLE, K::TYPE, &name)
        .await?
        .ok_or_else(|| not_found::<K>(&name))?;
    BridgeView::from_row::<K>(&row, &Relations::load(state).await?)
}

pub async fn create<K: BridgeKind>(
    state: &AppState,
    body: Value,
) -> ApiResult<BridgeView<K::Parameters>> {
    let input = parse::<K>(body, None)?;
    let mut tx = state.pool.begin().await?;
    references::connector(&mut tx, "connector", K::CONNECTOR_TYPE, &input.connector).await?;
    K::check_references(&mut tx, &input.parameters).await?;
    let parameters = to_json(&input.parameters)?;
    let resource_opts = to_json(&input.resource_opts)?;
    let tags = to_json(&input.tags)?;
    let new = NewBridge {
        kind: K::TYPE,
        name: &input.name,
        connector: &input.connector,
        enable: input.enable.unwrap_or(true),
        description: &input.description,
        parameters: &parameters,
        resource_opts: &resource_opts,
        tags: &tags,
    };
    let row = bridges::insert(&mut tx, K::TABLE, &new)
        .await?
        .ok_or_else(|| ApiError::AlreadyExists {
            kind: K::NOUN,
            id: id_of::<K>(&input.name),
        })?;
    tx.commit().await?;
    tracing::info!(resource = %id_of::<K>(&row.name), "{} created", K::NOUN);
    BridgeView::from_row::<K>(&row, &Relations::load(state).await?)
}

pub async fn update<K: BridgeKind>(
    state: &AppState,
    id: &str,
    body: Value,
) -> ApiResult<BridgeView<K::Parameters>> {
    let name = parse_id::<K>(id)?;
    let input = parse::<K>(body, Some(&name))?;
    let mut tx = state.pool.begin().await?;
    let stored = bridges::lock_exclusive(&mut tx, K::TABLE, K::TYPE, &name)
        .await?
        .ok_or_else(|| not_found::<K>(&name))?;
    references::connector(&mut tx, "connector", K::CONNECTOR_TYPE, &input.connector).await?;
    K::check_references(&mut tx, &input.parameters).await?;
    let parameters = to_json(&input.parameters)?;
    let resource_opts = to_json(&input.resource_opts)?;
    let tags = to_json(&input.tags)?;
    let new = NewBridge {
        kind: K::TYPE,
        name: &name,
        connector: &input.connector,
        enable: input.enable.unwrap_or(stored.enable),
        description: &input.description,
        parameters: &parameters,
        resource_opts: &resource_opts,
        tags: &tags,
    };
    let row = bridges::update(&mut tx, K::TABLE, &new)
        .await?
        .ok_or_else(|| not_found::<K>(&name))?;
    tx.commit().await?;
    tracing::info!(resource = %id, "{} updated", K::NOUN);
    BridgeView::from_row::<K>(&row, &Relations::load(state).await?)
}

pub async fn delete<K: BridgeKind>(
    state: &AppState,
    id: &str,
    detach_dependents: bool,
) -> ApiResult<()> {
    let name = parse_id::<K>(id)?;
    let mut tx = state.pool.begin().await?;
    bridges::lock_exclusive(&mut tx, K::TABLE, K::TYPE, &name)
        .await?
        .ok_or_else(|| not_found::<K>(&name))?;
    let detached = detach_dependents && K::detach_dependents(&mut tx, &name).await?;
    if !detached {
        let dependents = K::dependents(&mut tx, &name).await?;
        if !dependents.is_empty() {
            return Err(ApiError::InUse {
                kind: K::NOUN,
                id: id.to_owned(),
                dependents,
            });
        }
    }
    bridges::delete(&mut tx, K::TABLE, K::TYPE, &name).await?;
    tx.commit().await?;
    tracing::info!(resource = %id, detached, "{} deleted", K::NOUN);
    Ok(())
}

pub async fn set_enable<K: BridgeKind>(state: &AppState, id: &str, enable: bool) -> ApiResult<()> {
    let name = parse_id::<K>(id)?;
    if !bridges::set_enable(&state.pool, K::TABLE, K::TYPE, &name, enable).await? {
        return Err(not_found::<K>(&name));
    }
    tracing::info!(resource = %id, enable, "{} enable changed", K::NOUN);
    Ok(())
}
