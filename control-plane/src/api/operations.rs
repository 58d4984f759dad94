//! `POST .../{id}/{operation}` on connectors, actions and sources: EMQX's operation endpoints,
//! whose only operation is `start`.

use actix_web::{HttpRequest, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::http::known_paths::KnownPaths;

/// The operations EMQX takes on these paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Start,
}

/// Accepts `start`. Any other last segment is either another documented path asked with the
/// wrong method (`POST /actions/{id}/metrics`: 405) or an operation that does not exist (400).
pub fn check(request: &HttpRequest, operation: &str) -> ApiResult<()> {
    if operation == "start" {
        return Ok(());
    }
    let method = request.method().as_str().to_owned();
    if let Some(allowed) = request
        .app_data::<web::Data<KnownPaths>>()
        .and_then(|paths| paths.allowed_methods(request.path()))
        && !allowed.contains(&method)
    {
        return Err(ApiError::MethodNotAllowed { method, allowed });
    }
    Err(ApiError::invalid(
        "operation",
        format!("`{operation}` is not an operation here: the only one is `start`"),
    ))
}
