//! `POST /rule_test`: run SQL against a sample message (EMQX's SQL tester).

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use serde_json::Value;
use tributary_rules::{Event, Output, Rule};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorBody};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(rule_test);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleTestBody {
    pub sql: String,
    /// The sample event: `{"event_type": "message_publish", "topic", "clientid", "username",
    /// "qos", "payload", ...}` or `{"event_type": "kafka_consumer", "source", "topic", "value",
    /// "key", "headers", "offset", "ts", "ts_type"}`.
    #[schema(value_type = Object)]
    pub context: Value,
}

/// Applies a rule to a test context the way a worker would: FROM must match the event, then
/// WHERE; errors are the user's (their SQL or their sample), so they are 400s.
pub fn evaluate(rule: &Rule, context: &Value) -> ApiResult<Output<'static>> {
    refuse_broker_events(context)?;
    let event = Event::from_test_context(context)
        .map_err(|e| ApiError::BadRequest(format!("invalid context: {e}")))?;
    if !rule.matches_input(&event) {
        return Err(ApiError::NotMatch);
    }
    match rule.evaluate(&event) {
        Ok(Output::NoMatch) => Err(ApiError::NotMatch),
        // The event is local: a row that is a view of it becomes JSON.
        Ok(output) => Ok(output.into_owned()),
        Err(err) => Err(ApiError::BadRequest(emqx_message(&err))),
    }
}

/// EMQX's `/rule_test` message for a failed evaluation: a JSON object naming the failing clause's
/// error class and the Erlang error (`{"select_and_transform_error": "decode_json_failed"}`), with
/// Tributary's explanation under `reason`.
fn emqx_message(error: &tributary_rules::EvalError) -> String {
    let mut message = serde_json::Map::new();
    message.insert(error.class().to_owned(), error.cause().code().into());
    message.insert("reason".to_owned(), error.cause().to_string().into());
    Value::Object(message).to_string()
}

/// The event types EMQX's rule tester takes besides `message_publish` (`emqx_rule_events`, with
/// the `$events/...` names). They happen inside an EMQX broker; a bridge that subscribes to the
/// broker as an MQTT client only ever sees published messages.
const BROKER_EVENTS: &[&str] = &[
    "message_delivered",
    "message_acked",
    "message_dropped",
    "delivery_dropped",
    "client_connected",
    "client_disconnected",
    "client_connack",
    "client_check_authz_complete",
    "client_check_authn_complete",
    "session_subscribed",
    "session_unsubscribed",
    "schema_validation_failed",
    "message_transformation_failed",
    "alarm_activated",
    "alarm_deactivated",
];

fn refuse_broker_events(context: &Value) -> ApiResult<()> {
    let Some(event_type) = context.get("event_type").and_then(Value::as_str) else {
        return Ok(());
    };
    // Also as written in FROM (`$events/session_subscribed`) or dotted (`session.subscribed`).
    let name = event_type
        .strip_prefix("$events/")
        .unwrap_or(event_type)
        .replace(['.', '/'], "_");
    if BROKER_EVENTS.contains(&name.as_str()) {
        return Err(ApiError::invalid(
            "context.event_type",
            format!(
                "`{event_type}` events happen inside an EMQX broker; Tributary subscribes to the \
                 broker as an MQTT client and never sees them, so rules here only receive \
                 `message_publish` (and `kafka_consumer` records from sources)"
            ),
        ));
    }
    Ok(())
}

pub fn parse(sql: &str) -> ApiResult<Rule> {
    Rule::parse(sql).map_err(|err| {
        ApiError::BadRequest(format!(
            "syntax error at line {}, column {}: {}",
            err.line, err.column, err.message
        ))
    })
}

#[utoipa::path(
    operation_id = "rule_test",
    tag = "rules",
    request_body = RuleTestBody,
    responses(
        (status = 200, description = "The selected fields (an object), or FOREACH's list", body = Object),
        (status = 400, description = "The SQL does not parse, the context is invalid, or evaluation failed", body = ErrorBody),
        (status = 412, description = "`NOT_MATCH`: the topic or WHERE did not match", body = ErrorBody),
    )
)]
#[post("/rule_test")]
async fn rule_test(body: web::Json<RuleTestBody>) -> ApiResult<HttpResponse> {
    let rule = parse(&body.sql)?;
    let output = evaluate(&rule, &body.context)?;
    Ok(HttpResponse::Ok().json(output.to_json()))
}
