//! The middleware that refuses every non-public request without a valid API key, and every
//! request the key's role does not allow (see `roles`).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{api_keys, roles};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn require_api_key(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if super::is_public(req.path()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(ApiError::Internal("application state missing".to_owned()).into());
    };
    let Some((key, secret)) = basic_credentials(&req) else {
        return Ok(refuse(req));
    };
    match api_keys::verify(&state.pool, &key, &secret).await {
        Ok(Some(signer)) => {
            let allowed = roles::check(signer.role, req.method(), req.path());
            // Set before the role is checked, so the audit log names who was refused too.
            req.extensions_mut().insert(signer.clone());
            match allowed {
                Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
                Err(reason) => {
                    tracing::info!(api_key = %signer.name, role = %signer.role, method = %req.method(), path = %req.path(), "refused request: role does not allow it");
                    let response =
                        actix_web::ResponseError::error_response(&ApiError::Forbidden { reason });
                    Ok(req.into_response(response).map_into_right_body())
                }
            }
        }
        Ok(None) => {
            tracing::info!(api_key = %key, path = %req.path(), "refused request: bad API key or secret");
            Ok(refuse(req))
        }
        Err(err) => Err(ApiError::from(err).into()),
    }
}

fn refuse<B>(req: ServiceRequest) -> ServiceResponse<EitherBody<B>> {
    let mut response = actix_web::ResponseError::error_response(&ApiError::Unauthorized);
    // Scripts (the web console) say `X-Requested-With`: they show their own sign-in form, so
    // the browser must not pop up its Basic-auth dialog.
    if req.headers().contains_key("x-requested-with") {
        response.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    req.into_response(response).map_into_right_body()
}

/// `Authorization: Basic base64(key:secret)`.
fn basic_credentials(req: &ServiceRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (key, secret) = text.split_once(':')?;
    Some((key.to_owned(), secret.to_owned()))
}
