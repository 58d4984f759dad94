//! The middleware that writes the audit log. It runs outside the authentication middleware, so
//! it also sees the changes a signed-in key's role refused (403); requests without a valid key
//! (401) are not recorded (nobody is known to have asked, and they would let anyone fill the
//! log).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, web};
use futures::StreamExt;
use serde_json::Value;

use super::{Target, mask_secrets, snapshot};
use crate::app::API_PREFIX;
use crate::auth::Signer;
use crate::http::extractors::MAX_BODY_BYTES;
use crate::state::AppState;
use crate::store::audit::{self, NewAuditEntry};

pub async fn record(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let target =
        Target::of_change(req.method(), req.path()).filter(|_| !crate::auth::is_public(req.path()));
    let (Some(mut target), Some(state)) = (target, req.app_data::<web::Data<AppState>>().cloned())
    else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let started = Instant::now();
    let request_body = read_body(&mut req).await;
    let before = snapshot::take(&state, &target).await;
    let source_ip = req
        .peer_addr()
        .map(|addr| addr.ip().to_string())
        .unwrap_or_default();
    let method = req.method().as_str().to_ascii_lowercase();
    let path = req.path().to_owned();

    let response = next.call(req).await?;
    let Some(signer) = response.request().extensions().get::<Signer>().cloned() else {
        return Ok(response.map_into_boxed_body());
    };
    let operation_id = response
        .request()
        .match_pattern()
        .and_then(|pattern| pattern.strip_prefix(API_PREFIX).map(str::to_owned))
        .unwrap_or_else(|| path.clone());
    let status = response.status();
    // The body is needed for the error message, and for the id a create gave its resource.
    let needs_body = !status.is_success() || target.id.is_empty();
    let (response, body) = if needs_body {
        buffer(response).await?
    } else {
        (response.map_into_boxed_body(), Bytes::new())
    };
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let failure = if status.is_success() {
        String::new()
    } else {
        failure_text(&answer, &body)
    };
    if target.id.is_empty() && status.is_success() {
        target.id = created_id(&target.kind, &answer);
    }
    let after = snapshot::take(&state, &target).await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    // PostgreSQL refuses NUL in text and JSONB; requests may carry it anywhere.
    let (request_body, failure) = (
        request_body.map(without_nul),
        failure.replace('\0', "\u{FFFD}"),
    );
    let (path, resource_id) = (
        path.replace('\0', "\u{FFFD}"),
        target.id.replace('\0', "\u{FFFD}"),
    );
    let entry = NewAuditEntry {
        source: &signer.name,
        source_ip: &source_ip,
        http_method: &method,
        path: &path,
        operation_id: &operation_id,
        operation_type: &target.kind,
        resource_id: &resource_id,
        http_status_code: i32::from(status.as_u16()),
        operation_result: if status.is_success() {
            "success"
        } else {
            "failure"
        },
        failure: &failure,
        duration_ms,
        request_body: request_body.as_ref(),
        before: before.as_ref(),
        after: after.as_ref(),
    };
    // The change is done (or refused) already: a log that cannot be written must not turn it
    // into an error, but it must be seen.
    match audit::insert(&state.pool, &entry).await {
        Ok(id) => {
            let retention = state.audit;
            if let Err(err) = audit::prune(
                &state.pool,
                id,
                retention.audit_max_rows,
                retention.audit_max_days,
            )
            .await
            {
                tracing::warn!(error = %err, "audit: pruning old entries failed");
            }
        }
        Err(err) => {
            tracing::error!(error = %err, source = %signer.name, method = %method, path = %path, status = status.as_u16(), "audit: cannot write the audit log entry");
        }
    }
    Ok(response)
}

/// Reads the body (at most one byte over the limit, so the handler still answers 413) and puts
/// it back for the handler; returns it masked, when it is a JSON object.
async fn read_body(req: &mut ServiceRequest) -> Option<Value> {
    let mut payload = req.take_payload();
    let mut bytes = BytesMut::new();
    let mut broken = None;
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_BODY_BYTES {
                    break;
                }
            }
            Err(err) => {
                broken = Some(err);
                break;
            }
        }
    }
    let bytes = bytes.freeze();
    let parsed = serde_json::from_slice::<Value>(&bytes).ok();
    if let Some(err) = broken {
        // The handler meets the same broken stream and answers it.
        tracing::debug!(error = %err, "audit: request body unreadable");
        req.set_payload(Payload::from(bytes));
        return None;
    }
    req.set_payload(Payload::from(bytes));
    // Every endpoint takes an object; anything else is refused and kept out of the log's schema.
    parsed
        .filter(Value::is_object)
        .map(|body| mask_secrets(&body))
}

async fn buffer<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> Result<(ServiceResponse<BoxBody>, Bytes), actix_web::Error> {
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|err| actix_web::error::ErrorInternalServerError(err.into().to_string()))?;
    let response = head.set_body(BoxBody::new(bytes.clone()));
    Ok((ServiceResponse::new(request, response), bytes))
}

/// `value` with every NUL character in its strings and keys replaced by U+FFFD.
fn without_nul(value: Value) -> Value {
    let clean = |text: String| {
        if text.contains('\0') {
            text.replace('\0', "\u{FFFD}")
        } else {
            text
        }
    };
    match value {
        Value::String(text) => Value::String(clean(text)),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nul).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, field)| (clean(key), without_nul(field)))
                .collect(),
        ),
        other => other,
    }
}

/// The error message of a failed request, as the API answered it.
fn failure_text(answer: &Value, body: &Bytes) -> String {
    match answer["message"].as_str() {
        Some(message) => match answer["code"].as_str() {
            Some(code) => format!("{code}: {message}"),
            None => message.to_owned(),
        },
        None => String::from_utf8_lossy(&body[..body.len().min(1000)]).into_owned(),
    }
}

/// The id a create answered with: `id` (rules), `<type>:<name>` (connectors, actions,
/// sources), or `name` (API keys).
fn created_id(kind: &str, answer: &Value) -> String {
    if kind == "data" {
        return String::new();
    }
    if let Some(id) = answer["id"].as_str() {
        return id.to_owned();
    }
    match (answer["type"].as_str(), answer["name"].as_str()) {
        (Some(kind), Some(name)) => format!("{kind}:{name}"),
        (None, Some(name)) => name.to_owned(),
        _ => String::new(),
    }
}
