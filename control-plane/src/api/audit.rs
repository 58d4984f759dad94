//! `GET /audit`: the audit log, newest first, filtered and paged as EMQX's `GET /api/v5/audit`.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::paging::{PageMeta, Paging};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::audit::{self, AuditFilter, AuditRow};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list);
}

/// Unknown keys are refused (400 naming them) rather than silently listing everything.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    source: Option<String>,
    source_ip: Option<String>,
    operation_id: Option<String>,
    operation_type: Option<String>,
    resource_id: Option<String>,
    operation_result: Option<String>,
    http_status_code: Option<u16>,
    http_method: Option<String>,
    gte_created_at: Option<DateTime<Utc>>,
    lte_created_at: Option<DateTime<Utc>>,
    page: Option<u32>,
    limit: Option<u32>,
}

/// What was asked, as it reached the API (secrets masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRequest {
    /// `post`, `put` or `delete`.
    pub method: String,
    pub path: String,
    /// The JSON body, secrets as `******`; absent when there was none or it was not a JSON
    /// object.
    #[schema(value_type = Option<Object>)]
    pub body: Option<Value>,
}

/// One change asked through the REST API.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub created_at: DateTime<Utc>,
    /// Always `rest_api` (EMQX also has `dashboard`, `cli` and `erlang_console`).
    pub from: &'static str,
    /// The API key's name.
    pub source: String,
    /// The address the request came from (the peer, not `X-Forwarded-For`).
    pub source_ip: String,
    /// The route, e.g. `/rules/{id}`.
    pub operation_id: String,
    /// The kind of resource: `connectors`, `actions`, `sources`, `rules`, `api_key`, `data`.
    pub operation_type: String,
    /// The resource's id (`kafka_producer:k1`, a rule id, an API key name); empty for none.
    pub resource_id: String,
    /// `success` (a 2xx answer) or `failure`.
    pub operation_result: String,
    pub http_status_code: i32,
    pub http_method: String,
    pub duration_ms: i64,
    /// The error answered, `CODE: message`; empty on success.
    pub failure: String,
    pub http_request: AuditRequest,
    /// The resource before the request, in its create body with secrets masked; the whole
    /// configuration for `data` imports; absent when it did not exist.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The resource after the request, as `before`; absent when it does not exist (any more).
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        Self {
            created_at: row.created_at,
            from: "rest_api",
            source: row.source,
            source_ip: row.source_ip,
            operation_id: row.operation_id,
            operation_type: row.operation_type,
            resource_id: row.resource_id,
            operation_result: row.operation_result,
            http_status_code: row.http_status_code,
            http_method: row.http_method.clone(),
            duration_ms: row.duration_ms,
            failure: row.failure,
            http_request: AuditRequest {
                method: row.http_method,
                path: row.path,
                body: row.request_body.as_deref().map(stored_json),
            },
            before: row.before.as_deref().map(stored_json),
            after: row.after.as_deref().map(stored_json),
        }
    }
}

/// A stored JSONB object. One `serde_json` cannot read (a number beyond `f64`, written exactly
/// by PostgreSQL) is shown as `{"unparsed": "<its text>"}`, still an object.
fn stored_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::json!({ "unparsed": text }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub data: Vec<AuditEntry>,
    pub meta: PageMeta,
}

#[utoipa::path(
    operation_id = "list_audit",
    tag = "audit",
    description = "Every change asked through the REST API, newest first: who (`source`, the API key's name), when, from where, which resource, the resource before and after (secrets masked), and the result. Changes a key's role refused (403) are included; requests without valid credentials are not. Entries beyond `--audit-max-rows` or older than `--audit-max-days` are deleted.",
    params(
        ("source" = Option<String>, Query, description = "Only changes by this API key (its name)"),
        ("source_ip" = Option<String>, Query, description = "Only changes from this address"),
        ("operation_id" = Option<String>, Query, description = "Only this route, e.g. `/rules/{id}`"),
        ("operation_type" = Option<String>, Query, description = "Only this kind of resource: `connectors`, `actions`, `sources`, `rules`, `api_key`, `data`"),
        ("resource_id" = Option<String>, Query, description = "Only this resource, e.g. `kafka_producer:k1` or a rule id"),
        ("operation_result" = Option<String>, Query, description = "`success` or `failure`"),
        ("http_status_code" = Option<u16>, Query, description = "Only answers with this status"),
        ("http_method" = Option<String>, Query, description = "`post`, `put` or `delete`"),
        ("gte_created_at" = Option<DateTime<Utc>>, Query, description = "Only entries at or after this time (RFC 3339)"),
        ("lte_created_at" = Option<DateTime<Utc>>, Query, description = "Only entries at or before this time (RFC 3339)"),
        ("page" = Option<u32>, Query, minimum = 1, maximum = 1000000, description = "1-based page number (default 1)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "Entries per page (default 100, at most 10000)"),
    ),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody))
)]
#[get("/audit")]
async fn list(
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let paging = Paging::from_query(query.page, query.limit)?;
    let operation_result = query.operation_result.map(|r| r.to_ascii_lowercase());
    if let Some(result) = operation_result.as_deref()
        && !matches!(result, "success" | "failure")
    {
        return Err(ApiError::invalid(
            "operation_result",
            format!("`{result}` is neither `success` nor `failure`"),
        ));
    }
    let filter = AuditFilter {
        source: query.source,
        source_ip: query.source_ip,
        operation_id: query.operation_id,
        operation_type: query.operation_type,
        resource_id: query.resource_id,
        operation_result,
        http_status_code: query.http_status_code.map(i32::from),
        http_method: query.http_method.map(|m| m.to_ascii_lowercase()),
        gte_created_at: query.gte_created_at,
        lte_created_at: query.lte_created_at,
    };
    let (rows, count) = audit::page(
        &state.pool,
        &filter,
        paging.offset() as i64,
        paging.limit() as i64,
    )
    .await?;
    let meta = paging.meta(usize::try_from(count).unwrap_or(0), rows.len());
    Ok(HttpResponse::Ok().json(AuditPage {
        data: rows.into_iter().map(AuditEntry::from).collect(),
        meta,
    }))
}
