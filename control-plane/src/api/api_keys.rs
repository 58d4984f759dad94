//! `/api_key`: keys for people and consoles. The secret is returned once, at creation; only its
//! SHA-256 is stored.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::envelope;
use crate::auth::api_keys::{generate, hash_secret};
use crate::auth::{Role, Signer};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::api_keys::{self, ApiKeyRow, ApiKeyUpdate, NewApiKey};
use crate::validation::names;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(remove);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub name: String,
    pub api_key: String,
    pub description: String,
    pub enable: bool,
    pub expired_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// What the key may do: `administrator` everything, `viewer` only `GET`, `publisher` only
    /// publish (which Tributary does not offer).
    pub role: Role,
}

impl From<ApiKeyRow> for ApiKeyView {
    fn from(row: ApiKeyRow) -> Self {
        Self {
            // The column's CHECK allows only known roles; anything else would grant nothing.
            role: Role::parse(&row.role).unwrap_or(Role::Publisher),
            name: row.name,
            api_key: row.api_key,
            description: row.description,
            enable: row.enable,
            expired_at: row.expired_at,
            created_at: row.created_at,
        }
    }
}

/// The creation response: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    pub api_secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyBody {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "enabled")]
    pub enable: bool,
    /// When the key stops working; never when absent.
    #[serde(default)]
    pub expired_at: Option<DateTime<Utc>>,
    /// `administrator` (the default, as in EMQX), `viewer` or `publisher`.
    #[serde(default)]
    pub role: Role,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyChanges {
    pub enable: Option<bool>,
    pub description: Option<String>,
    /// `null` removes the expiry.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expired_at: Option<Option<DateTime<Utc>>>,
    /// The new role; absent keeps the current one.
    pub role: Option<Role>,
}

/// Tells an explicit `null` (remove the expiry) from an absent field (keep it).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(d).map(Some)
}

#[utoipa::path(operation_id = "list_api_keys", tag = "api_keys", responses((status = 200, body = [ApiKeyView])))]
#[get("/api_key")]
async fn list(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let keys: Vec<ApiKeyView> = api_keys::list(&state.pool)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(HttpResponse::Ok().json(keys))
}

#[utoipa::path(
    operation_id = "create_api_key",
    tag = "api_keys",
    request_body = NewApiKeyBody,
    responses((status = 200, description = "Created; `api_secret` is shown only now", body = CreatedApiKey), (status = 400, body = ErrorBody))
)]
#[post("/api_key")]
async fn create(state: web::Data<AppState>, body: web::Json<Value>) -> ApiResult<HttpResponse> {
    let body: NewApiKeyBody = envelope::decode(body.into_inner())?;
    names::check("name", &body.name).map_err(|e| ApiError::Invalid(vec![e]))?;
    let (api_key, api_secret) = (generate(16), generate(40));
    let secret_sha256 = hash_secret(&api_secret);
    let new = NewApiKey {
        api_key: &api_key,
        secret_sha256: &secret_sha256,
        name: &body.name,
        description: &body.description,
        enable: body.enable,
        expired_at: body.expired_at,
        role: body.role.as_str(),
    };
    let row =
        api_keys::insert(&state.pool, &new)
            .await?
            .ok_or_else(|| ApiError::AlreadyExists {
                kind: "API key",
                id: body.name.clone(),
            })?;
    tracing::info!(name = %row.name, api_key = %row.api_key, role = %row.role, "API key created");
    Ok(HttpResponse::Ok().json(CreatedApiKey {
        key: row.into(),
        api_secret,
    }))
}

#[utoipa::path(
    operation_id = "get_api_key",
    tag = "api_keys",
    params(("name" = String, Path)),
    responses((status = 200, body = ApiKeyView), (status = 404, body = ErrorBody))
)]
#[get("/api_key/{name}")]
async fn read(state: web::Data<AppState>, name: web::Path<String>) -> ApiResult<HttpResponse> {
    let row = api_keys::get(&state.pool, &name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(HttpResponse::Ok().json(ApiKeyView::from(row)))
}

#[utoipa::path(
    operation_id = "update_api_key",
    tag = "api_keys",
    params(("name" = String, Path)),
    request_body = ApiKeyChanges,
    responses((status = 200, body = ApiKeyView), (status = 400, description = "Invalid field, or disabling, expiring or demoting the key this request is signed with", body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[put("/api_key/{name}")]
async fn update(
    state: web::Data<AppState>,
    request: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let changes: ApiKeyChanges = envelope::decode(body.into_inner())?;
    let locks_out = changes.enable == Some(false)
        || changes
            .expired_at
            .flatten()
            .is_some_and(|at| at <= Utc::now());
    if locks_out {
        refuse_own_key(&state, &request, &name, "disable or expire").await?;
    }
    // An administrator demoting its own key could no longer undo it.
    if changes.role.is_some_and(|role| role != Role::Administrator) {
        refuse_own_key(&state, &request, &name, "change the role of").await?;
    }
    let update = ApiKeyUpdate {
        enable: changes.enable,
        description: changes.description.as_deref(),
        expired_at: changes.expired_at,
        role: changes.role.map(Role::as_str),
    };
    let row = api_keys::update(&state.pool, &name, &update)
        .await?
        .ok_or_else(|| not_found(&name))?;
    tracing::info!(name = %row.name, enable = row.enable, role = %row.role, "API key updated");
    Ok(HttpResponse::Ok().json(ApiKeyView::from(row)))
}

#[utoipa::path(
    operation_id = "delete_api_key",
    tag = "api_keys",
    params(("name" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "It is the key this request is signed with", body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[delete("/api_key/{name}")]
async fn remove(
    state: web::Data<AppState>,
    request: HttpRequest,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    refuse_own_key(&state, &request, &name, "delete").await?;
    if !api_keys::delete(&state.pool, &name).await? {
        return Err(not_found(&name));
    }
    tracing::info!(name = %name, "API key deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Refuses to act on the key the request is signed with: that would lock its caller out in the
/// middle of a session (or leave a single-key installation without access).
async fn refuse_own_key(
    state: &AppState,
    request: &HttpRequest,
    name: &str,
    action: &str,
) -> ApiResult<()> {
    let signed_with = request.extensions().get::<Signer>().cloned();
    let Some(Signer { api_key: own, .. }) = signed_with else {
        return Ok(());
    };
    if api_keys::get(&state.pool, name)
        .await?
        .is_some_and(|row| row.api_key == own)
    {
        return Err(ApiError::invalid(
            "name",
            format!(
                "`{name}` is the API key this request is signed with; sign in with another key \
                 to {action} it"
            ),
        ));
    }
    Ok(())
}

fn not_found(name: &str) -> ApiError {
    ApiError::NotFound {
        kind: "API key",
        id: name.to_owned(),
    }
}
