//! The one error type of the REST API and its single mapping to HTTP.
//!
//! Variants are grouped by whose fault the failure is: the user's (4xx, the message says what to
//! change), an external system's (a probe that failed), or ours (5xx, details only in the log).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use tributary_protocol::resources::FieldError;
use utoipa::ToSchema;

/// Who has to act on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    User,
    External,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    // --- user errors ---
    /// One or more fields were rejected; the first one is reported as `field`/`reason`.
    #[error("{}", join_field_errors(.0))]
    Invalid(Vec<FieldError>),
    /// A malformed request that is not about one field (bad JSON, wrong content type, bad query).
    #[error("{0}")]
    BadRequest(String),
    #[error("{kind} `{id}` not found")]
    NotFound { kind: &'static str, id: String },
    /// A path id that cannot name anything; EMQX answers these with 404 as well.
    #[error("`{id}` is not a valid {kind} id: {reason}")]
    BadId {
        kind: &'static str,
        id: String,
        reason: String,
    },
    /// A documented path asked with a method it does not have.
    #[error("{method} is not allowed here; use {}", .allowed.join(" or "))]
    MethodNotAllowed {
        method: String,
        allowed: Vec<String>,
    },
    /// An operation EMQX refuses on a disabled resource.
    #[error("Forbidden operation, {what} not enabled")]
    NotEnabled { what: &'static str },
    /// `/nodes/{node}/...` naming no live worker (EMQX's "Node not found").
    #[error(
        "Node not found: `{node}` is not the name of a live worker (GET /api/v5/workers lists them)"
    )]
    NodeNotFound { node: String },
    /// `start` ended with the connector unreachable, or not connected within its
    /// `resource_opts.start_timeout`; the reason is the health check's.
    #[error("{id} did not start: {reason}")]
    StartFailed { id: String, reason: String },
    #[error("{kind} `{id}` already exists")]
    AlreadyExists { kind: &'static str, id: String },
    /// Deleting something others still reference.
    #[error("{kind} `{id}` is still used by: {}", .dependents.join(", "))]
    InUse {
        kind: &'static str,
        id: String,
        dependents: Vec<String>,
    },
    #[error("bad API key or secret")]
    Unauthorized,
    /// The API key's role does not allow the request; the reason names the role and the request.
    #[error("{reason}")]
    Forbidden { reason: String },
    /// `/rule_test`: the topic or WHERE did not match.
    #[error("SQL Not Match")]
    NotMatch,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("no such endpoint")]
    NoRoute,

    // --- external systems ---
    /// A connection test failed; the message says why in terms a person can act on.
    #[error("{0}")]
    TestFailed(String),

    // --- ours ---
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, reason)])
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Self::TestFailed(_) | Self::StartFailed { .. } => ErrorClass::External,
            Self::Database(_) | Self::Internal(_) => ErrorClass::Internal,
            _ => ErrorClass::User,
        }
    }

    /// The EMQX-style machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_)
            | Self::BadRequest(_)
            | Self::InUse { .. }
            | Self::NotEnabled { .. }
            | Self::StartFailed { .. } => "BAD_REQUEST",
            Self::NotFound { .. }
            | Self::BadId { .. }
            | Self::NodeNotFound { .. }
            | Self::NoRoute => "NOT_FOUND",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::AlreadyExists { .. } => "ALREADY_EXISTS",
            Self::Unauthorized => "BAD_API_KEY_OR_SECRET",
            // EMQX's code for a role that may not call an endpoint.
            Self::Forbidden { .. } => "UNAUTHORIZED_ROLE",
            Self::NotMatch => "NOT_MATCH",
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::TestFailed(_) => "TEST_FAILED",
            Self::Database(_) | Self::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// e.g. `BAD_REQUEST`, `NOT_FOUND`, `ALREADY_EXISTS`, `TEST_FAILED`.
    pub code: &'static str,
    pub message: String,
    /// The rejected field as a dotted path, e.g. `parameters.topic`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// On a refused delete: the ids of the rules that still depend on the resource, as EMQX
    /// lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<String>>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Invalid(_)
            | Self::BadRequest(_)
            | Self::InUse { .. }
            | Self::AlreadyExists { .. }
            | Self::NotEnabled { .. }
            | Self::StartFailed { .. }
            | Self::TestFailed(_) => StatusCode::BAD_REQUEST,
            Self::NotFound { .. }
            | Self::BadId { .. }
            | Self::NodeNotFound { .. }
            | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotMatch => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Database(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self.class() {
            ErrorClass::Internal => {
                // The causes stay in the log: they may name tables, hosts or queries. The request
                // (method, path) is the span the request middleware opened.
                tracing::error!(error = %self, causes = %causes(self), "request failed");
                "internal error, see the control plane log".to_owned()
            }
            _ => self.to_string(),
        };
        let (field, reason) = match self {
            Self::Invalid(errors) => errors
                .first()
                .map(|e| (Some(e.field.clone()), Some(e.reason.clone())))
                .unwrap_or_default(),
            Self::BadId { reason, .. } => (Some("id".to_owned()), Some(reason.clone())),
            Self::NodeNotFound { .. } => (
                Some("node".to_owned()),
                Some("no live worker has this name".to_owned()),
            ),
            Self::StartFailed { reason, .. } => (Some("id".to_owned()), Some(reason.clone())),
            _ => (None, None),
        };
        let rules = match self {
            Self::InUse { dependents, .. } => Some(
                dependents
                    .iter()
                    .filter_map(|d| d.strip_prefix("rule:"))
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => None,
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Unauthorized => {
                response.insert_header(("WWW-Authenticate", "Basic realm=\"tributary\""));
            }
            Self::MethodNotAllowed { allowed, .. } => {
                response.insert_header(("Allow", allowed.join(", ")));
            }
            _ => {}
        }
        response.json(ErrorBody {
            code: self.code(),
            message,
            field,
            reason,
            rules,
        })
    }
}

fn join_field_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        // PostgreSQL refuses NUL characters in text and JSONB (SQLSTATE 22P05, 22021): that is
        // the request's fault, not ours.
        let code = err
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned());
        match code.as_deref() {
            Some("22P05" | "22021") => {
                Self::BadRequest("text must not contain NUL (\\u0000) characters".to_owned())
            }
            _ => Self::Database(err),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Every cause under `error`, outermost first, `: `-separated (sqlx's pool timeout under the
/// query that waited for it, an I/O error under that, ...): one level rarely says what failed.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut next = error.source();
    while let Some(cause) = next {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_of_an_internal_error_is_named() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "peer went away");
        let error = ApiError::Database(sqlx::Error::Io(io));
        let text = causes(&error);
        assert!(text.contains("peer went away"), "{text}");
        assert!(
            text.starts_with("error communicating with database"),
            "{text}"
        );
        assert_eq!(causes(&std::io::Error::other("alone")), "");
    }
}
