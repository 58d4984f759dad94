//! `/rules`: rule SQL plus the actions its output goes to.

use actix_web::web::Query;
use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tributary_protocol::resources::RuleActionRef;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::rule_body::{self, RuleBody, RuleInputs};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::rules::{self, NewRule, RuleRow};

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
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Only enabled (`true`) or disabled (`false`) rules.
    pub enable: Option<bool>,
    /// Rules whose FROM contains exactly this topic filter or source.
    pub from: Option<String>,
    /// Rules whose id contains this text.
    pub like_id: Option<String>,
    /// Rules one of whose FROM entries contains this text.
    pub like_from: Option<String>,
    /// Rules whose description contains this text.
    pub like_description: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Rules per page (default 100, at most 10000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulePage {
    pub data: Vec<RuleView>,
    pub meta: PageMeta,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageMeta {
    pub page: u32,
    pub limit: u32,
    /// Rules matching the filters, on all pages.
    pub count: usize,
    pub hasnext: bool,
}

impl ListQuery {
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
            && contains(&rule.description, &self.like_description)
    }
}

#[utoipa::path(
    operation_id = "list_rules",
    tag = "rules",
    params(
        ("enable" = Option<bool>, Query, description = "Only enabled (`true`) or disabled (`false`) rules"),
        ("from" = Option<String>, Query, description = "Rules whose FROM contains exactly this topic filter or source"),
        ("like_id" = Option<String>, Query, description = "Rules whose id contains this text"),
        ("like_from" = Option<String>, Query, description = "Rules one of whose FROM entries contains this text"),
        ("like_description" = Option<String>, Query, description = "Rules whose description contains this text"),
        ("page" = Option<u32>, Query, description = "1-based page number (default 1)"),
        ("limit" = Option<u32>, Query, description = "Rules per page (default 100, at most 10000)"),
    ),
    responses((status = 200, body = RulePage), (status = 400, body = ErrorBody))
)]
#[get("/rules")]
async fn list(state: web::Data<AppState>, query: Query<ListQuery>) -> ApiResult<HttpResponse> {
    let page = query.page.unwrap_or(1);
    let limit = query.limit.unwrap_or(100);
    if page == 0 {
        return Err(ApiError::invalid("page", "pages start at 1"));
    }
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::invalid("limit", "between 1 and 10000"));
    }
    // Filters on FROM need the parsed SQL, so filtering happens here rather than in SQL.
    let mut matching = Vec::new();
    for row in rules::list(&state.pool).await? {
        let view = RuleView::from_row(row)?;
        if query.keeps(&view) {
            matching.push(view);
        }
    }
    let count = matching.len();
    let start = (page as usize - 1).saturating_mul(limit as usize);
    let data: Vec<RuleView> = matching
        .into_iter()
        .skip(start)
        .take(limit as usize)
        .collect();
    let hasnext = start.saturating_add(data.len()) < count;
    Ok(HttpResponse::Ok().json(RulePage {
        data,
        meta: PageMeta {
            page,
            limit,
            count,
            hasnext,
        },
    }))
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
    let body = rule_body::decode(body.into_inner())?;
    let sql = body
        .sql
        .ok_or_else(|| ApiError::invalid("sql", "is required"))?;
    let parsed = rule_body::parse_sql(&sql)?;
    let generated = body.id.is_none();
    let rule = RuleInputs {
        id: body.id.unwrap_or_else(rule_body::generate_id),
        name: body.name.unwrap_or_default(),
        sql,
        actions: body.actions.unwrap_or_default(),
        enable: body.enable.unwrap_or(true),
        description: body.description.unwrap_or_default(),
        metadata: body.metadata.unwrap_or_default(),
        // `default` is what an absent connector means; storing it as absent keeps one spelling.
        mqtt_connector: body.mqtt_connector.filter(|m| m != "default"),
        parsed,
    }
    .check()?;
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
    Ok(HttpResponse::Created().json(RuleView::from_row(row)?))
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
    Ok(HttpResponse::Ok().json(RuleView::from_row(row)?))
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
    Ok(HttpResponse::Ok().json(RuleView::from_row(row)?))
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
