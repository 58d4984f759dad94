//! `/rules`: rule SQL plus the actions its output goes to.

use actix_web::web::Query;
use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use tributary_protocol::resources::{InlineAction, RuleActionRef};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::paging::{PageMeta, Paging};
use super::relations::Relations;
use super::rule_body::{self, RuleBody, RuleInputs};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::metric_resets;
use crate::store::rules::{self, NewRule, RuleRow};
use crate::validation::names;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(remove);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: String,
    pub name: String,
    pub sql: String,
    pub actions: Vec<RuleActionRef>,
    pub enable: bool,
    pub description: String,
    pub metadata: Map<String, Value>,
    pub mqtt_connector: String,
    /// The FROM clause: topic filters and `$bridges/kafka_consumer:<name>` sources.
    pub from: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it last changed (the same instant as `updated_at`), under EMQX's name.
    pub last_modified_at: DateTime<Utc>,
    /// Each stored action it sends to, with that action's status, as EMQX lists them: sorted by
    /// type and name, last first; `not_found` for an action that does not exist (yet), which the
    /// rule skips (read-only, ignored in requests).
    pub action_details: Vec<ActionDetail>,
}

/// A stored action a rule names, and its status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionDetail {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    /// `connected`, `connecting`, `disconnected`, `inconsistent`, `stopped` (disabled, or on a
    /// disabled connector), or `not_found`.
    #[schema(example = "not_found")]
    pub status: String,
}

impl RuleView {
    pub fn from_row(row: RuleRow) -> ApiResult<Self> {
        let actions = serde_json::from_value(row.actions.0).map_err(|e| {
            ApiError::Internal(format!(
                "stored actions of rule `{}` do not decode: {e}",
                row.id
            ))
        })?;
        let from = tributary_rules::Rule::parse(&row.sql)
            .map(|r| rule_body::from_list(&r))
            .unwrap_or_default();
        Ok(Self {
            id: row.id,
            name: row.name,
            sql: row.sql,
            actions,
            enable: row.enable,
            description: row.description,
            metadata: row.metadata.0.as_object().cloned().unwrap_or_default(),
            mqtt_connector: row.mqtt_connector.unwrap_or_else(|| "default".to_owned()),
            from,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_modified_at: row.updated_at,
            action_details: Vec::new(),
        })
    }

    /// Fills `action_details` (EMQX's `format_action_details`: sorted, then listed last first).
    fn with_action_details(mut self, relations: &Relations) -> Self {
        let mut stored: Vec<(&str, &str, &str)> = self
            .actions
            .iter()
            .filter_map(|action| match action {
                RuleActionRef::Stored(id) => {
                    let (kind, name) = id.split_once(':')?;
                    Some((id.as_str(), kind, name))
                }
                RuleActionRef::Inline(_) => None,
            })
            .collect();
        stored.sort_by(|a, b| (a.1, a.2).cmp(&(b.1, b.2)));
        self.action_details = stored
            .into_iter()
            .rev()
            .map(|(id, kind, name)| ActionDetail {
                kind: kind.to_owned(),
                name: name.to_owned(),
                status: relations.action_status(id).map_or_else(
                    || "not_found".to_owned(),
                    |status| {
                        serde_json::to_value(status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    },
                ),
            })
            .collect();
        self
    }
}

#[derive(Debug, Default)]
pub struct ListQuery {
    /// Only enabled (`true`) or disabled (`false`) rules.
    pub enable: Option<bool>,
    /// Rules whose FROM contains exactly this topic filter or source.
    pub from: Option<String>,
    /// Rules whose id contains this text.
    pub like_id: Option<String>,
    /// Rules one of whose FROM entries contains this text.
    pub like_from: Option<String>,
    /// Rules one of whose FROM entries this MQTT topic filter matches (EMQX's `match_from`).
    pub match_from: Option<String>,
    /// Rules whose description contains this text.
    pub like_description: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Rules per page (default 100, at most 10000).
    pub limit: Option<u32>,
    /// Rules sending to one of these actions (`kafka_producer:<name>`, or `republish` for
    /// inline republish actions). Repeatable, as in EMQX.
    pub action: Vec<String>,
    /// Rules reading one of these sources (`kafka_consumer:<name>`, or `$bridges/...` /
    /// `$sources/...` as written in FROM). Repeatable, as in EMQX.
    pub source: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulePage {
    pub data: Vec<RuleView>,
    pub meta: PageMeta,
}

impl ListQuery {
    /// Reads the query string's pairs; `action` and `source` may repeat (the other keys take
    /// their last value). Any other key is refused, naming it, rather than silently listing
    /// everything.
    fn from_pairs(pairs: Vec<(String, String)>) -> ApiResult<Self> {
        let mut query = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "enable" => {
                    query.enable = Some(value.parse().map_err(|_| {
                        ApiError::invalid("enable", format!("`{value}` is not true or false"))
                    })?);
                }
                "page" => query.page = Some(number("page", &value)?),
                "limit" => query.limit = Some(number("limit", &value)?),
                "from" => query.from = Some(value),
                "like_id" => query.like_id = Some(value),
                "like_from" => query.like_from = Some(value),
                "match_from" => query.match_from = Some(value),
                "like_description" => query.like_description = Some(value),
                "action" => query.action.push(filter_id(
                    "action",
                    value,
                    &["kafka_producer:"],
                    "`kafka_producer:<name>` or `republish`",
                )?),
                "source" => query.source.push(filter_id(
                    "source",
                    value,
                    &[
                        "kafka_consumer:",
                        "$bridges/kafka_consumer:",
                        "$sources/kafka_consumer:",
                    ],
                    "`kafka_consumer:<name>`",
                )?),
                other => {
                    return Err(ApiError::invalid(
                        other,
                        "is not a filter of GET /rules: use enable, from, like_id, like_from, \
                         match_from, like_description, action, source, page or limit",
                    ));
                }
            }
        }
        Ok(query)
    }

    fn keeps(&self, rule: &RuleView) -> bool {
        let contains =
            |text: &str, part: &Option<String>| part.as_deref().is_none_or(|p| text.contains(p));
        self.enable.is_none_or(|e| e == rule.enable)
            && self
                .from
                .as_deref()
                .is_none_or(|f| rule.from.iter().any(|x| x == f))
            && contains(&rule.id, &self.like_id)
            && self
                .like_from
                .as_deref()
                .is_none_or(|p| rule.from.iter().any(|x| x.contains(p)))
            && self.match_from.as_deref().is_none_or(|filter| {
                rule.from
                    .iter()
                    .any(|from| tributary_rules::topic_matches(filter, from))
            })
            && contains(&rule.description, &self.like_description)
            && (self.action.is_empty() || rule.actions.iter().any(|a| self.names_action(a)))
            && (self.source.is_empty() || rule.from.iter().any(|f| self.names_source(f)))
    }

    fn names_action(&self, action: &RuleActionRef) -> bool {
        let id = match action {
            RuleActionRef::Stored(id) => id.as_str(),
            RuleActionRef::Inline(InlineAction::Republish(_)) => "republish",
            RuleActionRef::Inline(InlineAction::Console(_)) => "console",
        };
        self.action.iter().any(|wanted| wanted == id)
    }

    /// EMQX matches a source id against both of its hookpoints, `$bridges/<id>` and
    /// `$sources/<id>`.
    fn names_source(&self, from: &str) -> bool {
        let id = from
            .strip_prefix("$bridges/")
            .or_else(|| from.strip_prefix("$sources/"));
        self.source
            .iter()
            .any(|wanted| wanted == from || id.is_some_and(|id| id == wanted))
    }
}

/// Checks an `action` or `source` filter value names something: one of `prefixes` followed by a
/// name, or (for actions) `republish`.
fn filter_id(field: &str, value: String, prefixes: &[&str], expected: &str) -> ApiResult<String> {
    let named = prefixes.iter().any(|prefix| {
        value
            .strip_prefix(prefix)
            .is_some_and(|name| names::check(field, name).is_ok())
    });
    if named || (field == "action" && value == "republish") {
        Ok(value)
    } else {
        Err(ApiError::invalid(
            field,
            format!("`{value}` names no {field}: write {expected}"),
        ))
    }
}

fn number(field: &str, value: &str) -> ApiResult<u32> {
    value
        .parse()
        .map_err(|_| ApiError::invalid(field, format!("`{value}` is not a whole number")))
}

#[utoipa::path(
    operation_id = "list_rules",
    tag = "rules",
    params(
        ("enable" = Option<bool>, Query, description = "Only enabled (`true`) or disabled (`false`) rules"),
        ("from" = Option<String>, Query, description = "Rules whose FROM contains exactly this topic filter or source"),
        ("like_id" = Option<String>, Query, description = "Rules whose id contains this text"),
        ("like_from" = Option<String>, Query, description = "Rules one of whose FROM entries contains this text"),
        ("match_from" = Option<String>, Query, description = "Rules one of whose FROM entries this MQTT topic filter matches (`t/#` finds rules on `t/1` and `t/+`)"),
        ("like_description" = Option<String>, Query, description = "Rules whose description contains this text"),
        ("page" = Option<u32>, Query, minimum = 1, maximum = 1000000, description = "1-based page number (default 1, at most 1000000)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "Rules per page (default 100, at most 10000)"),
        ("action" = Option<Vec<String>>, Query, explode, description = "Rules sending to one of these actions (`kafka_producer:<name>`, or `republish`); repeat the parameter for several"),
        ("source" = Option<Vec<String>>, Query, explode, description = "Rules reading one of these sources (`kafka_consumer:<name>`); repeat the parameter for several"),
    ),
    responses((status = 200, body = RulePage), (status = 400, body = ErrorBody))
)]
#[get("/rules")]
async fn list(
    state: web::Data<AppState>,
    pairs: Query<Vec<(String, String)>>,
) -> ApiResult<HttpResponse> {
    let query = ListQuery::from_pairs(pairs.into_inner())?;
    let paging = Paging::from_query(query.page, query.limit)?;
    // Filters on FROM need the parsed SQL, so filtering happens here rather than in SQL.
    let relations = Relations::load(&state).await?;
    let mut matching = Vec::new();
    for row in rules::list(&state.pool).await? {
        let view = RuleView::from_row(row)?.with_action_details(&relations);
        if query.keeps(&view) {
            matching.push(view);
        }
    }
    let count = matching.len();
    let data: Vec<RuleView> = matching
        .into_iter()
        .skip(paging.offset())
        .take(paging.limit())
        .collect();
    let meta = paging.meta(count, data.len());
    Ok(HttpResponse::Ok().json(RulePage { data, meta }))
}

#[utoipa::path(
    operation_id = "create_rule",
    tag = "rules",
    request_body = RuleBody,
    responses(
        (status = 201, body = RuleView),
        (status = 400, description = "Invalid SQL (with its position) or action, unknown reference, or `ALREADY_EXISTS`", body = ErrorBody),
    )
)]
#[post("/rules")]
async fn create(state: web::Data<AppState>, body: web::Json<Value>) -> ApiResult<HttpResponse> {
    let mut body = rule_body::decode(body.into_inner())?;
    let generated = body.id.is_none();
    let id = body.id.take().unwrap_or_else(rule_body::generate_id);
    let rule = body.into_new_rule(id)?;
    let actions = to_json(&rule.actions)?;
    let metadata = Value::Object(rule.metadata.clone());
    let mut tx = state.pool.begin().await?;
    rule.check_references(&mut tx).await?;
    // A generated id colliding is unlikely but possible; only a user-chosen one is a conflict.
    let attempts = if generated { 4 } else { 1 };
    let mut inserted = None;
    let mut id = rule.id.clone();
    for attempt in 0..attempts {
        if attempt > 0 {
            id = rule_body::generate_id();
        }
        inserted = rules::insert(&mut tx, &new_rule(&rule, &id, &actions, &metadata)).await?;
        if inserted.is_some() {
            break;
        }
    }
    let row = inserted.ok_or_else(|| rule_body::already_exists(&rule.id))?;
    tx.commit().await?;
    tracing::info!(rule = %row.id, "rule created");
    let view = RuleView::from_row(row)?.with_action_details(&Relations::load(&state).await?);
    warn_of_missing_actions(&view);
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(
    operation_id = "get_rule",
    tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 200, body = RuleView), (status = 404, body = ErrorBody))
)]
#[get("/rules/{id}")]
async fn read(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let row = rules::get(&state.pool, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok()
        .json(RuleView::from_row(row)?.with_action_details(&Relations::load(&state).await?)))
}

#[utoipa::path(
    operation_id = "update_rule",
    tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    request_body(content = RuleBody, description = "Fields to change; absent fields keep their value"),
    responses((status = 200, body = RuleView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[put("/rules/{id}")]
async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let body: RuleBody = rule_body::decode(body.into_inner())?;
    if body.id.as_deref().is_some_and(|given| given != id.as_str()) {
        return Err(ApiError::invalid(
            "id",
            "differs from the id in the path; ids cannot be changed",
        ));
    }
    let mut tx = state.pool.begin().await?;
    let stored = rules::lock_exclusive(&mut tx, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let stored = RuleView::from_row(stored)?;
    let stored_enable = stored.enable;
    let sql = body.sql.unwrap_or(stored.sql);
    let parsed = rule_body::parse_sql(&sql)?;
    let rule = RuleInputs {
        id: id.into_inner(),
        name: body.name.unwrap_or(stored.name),
        sql,
        actions: body.actions.unwrap_or(stored.actions),
        enable: body.enable.unwrap_or(stored.enable),
        description: body.description.unwrap_or(stored.description),
        metadata: body.metadata.unwrap_or(stored.metadata),
        mqtt_connector: body
            .mqtt_connector
            .or(Some(stored.mqtt_connector))
            .filter(|m| m != "default"),
        parsed,
    }
    .check()?;
    rule.check_references(&mut tx).await?;
    let actions = to_json(&rule.actions)?;
    let metadata = Value::Object(rule.metadata.clone());
    let new = new_rule(&rule, &rule.id, &actions, &metadata);
    let row = rules::update(&mut tx, &new)
        .await?
        .ok_or_else(|| not_found(&rule.id))?;
    tx.commit().await?;
    tracing::info!(rule = %row.id, "rule updated");
    if stored_enable && !row.enable {
        // EMQX clears a rule's metrics when it is disabled: a rule enabled again counts afresh.
        metric_resets::reset(&state.pool, &format!("rule:{}", row.id)).await?;
    }
    let view = RuleView::from_row(row)?.with_action_details(&Relations::load(&state).await?);
    warn_of_missing_actions(&view);
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    operation_id = "delete_rule",
    tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody))
)]
#[delete("/rules/{id}")]
async fn remove(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    if !rules::delete(&state.pool, &id).await? {
        return Err(not_found(&id));
    }
    tracing::info!(rule = %id, "rule deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// EMQX saves a rule naming actions that do not exist and logs it (the rule skips them until
/// they are created); so does Tributary, and `action_details` shows them as `not_found`.
fn warn_of_missing_actions(view: &RuleView) {
    let missing: Vec<&str> = view
        .action_details
        .iter()
        .filter(|detail| detail.status == "not_found")
        .map(|detail| detail.name.as_str())
        .collect();
    if !missing.is_empty() {
        tracing::warn!(rule = %view.id, ?missing, "rule names actions that do not exist; it skips them until they are created");
    }
}

/// The row to store for a checked rule under `id`, `actions` and `metadata` already as JSON.
fn new_rule<'a>(
    rule: &'a RuleInputs,
    id: &'a str,
    actions: &'a Value,
    metadata: &'a Value,
) -> NewRule<'a> {
    NewRule {
        id,
        name: &rule.name,
        sql: &rule.sql,
        actions,
        enable: rule.enable,
        description: &rule.description,
        metadata,
        mqtt_connector: rule.mqtt_connector.as_deref(),
    }
}

fn to_json<T: Serialize>(value: &T) -> ApiResult<Value> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(format!("serializing: {e}")))
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::NotFound {
        kind: "rule",
        id: id.to_owned(),
    }
}
