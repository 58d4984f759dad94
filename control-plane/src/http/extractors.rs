//! Extractor configuration: malformed JSON, wrong content types, oversized bodies, bad paths and
//! bad query strings all answer a 4xx in the API's error format, never a 5xx or plain text.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::web;

use crate::error::ApiError;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|err, _req| json_error(err).into())
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| path_error(err).into())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| query_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::PayloadTooLarge { limit }
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(err) => {
            ApiError::BadRequest(format!("invalid JSON body: {err}"))
        }
        other => ApiError::BadRequest(format!("cannot read the request body: {other}")),
    }
}

fn path_error(err: PathError) -> ApiError {
    match err {
        PathError::Deserialize(err) => ApiError::BadRequest(format!("invalid path: {err}")),
        other => ApiError::BadRequest(format!("invalid path: {other}")),
    }
}

fn query_error(err: QueryPayloadError) -> ApiError {
    match err {
        QueryPayloadError::Deserialize(err) => {
            ApiError::BadRequest(format!("invalid query string: {err}"))
        }
        other => ApiError::BadRequest(format!("invalid query string: {other}")),
    }
}
