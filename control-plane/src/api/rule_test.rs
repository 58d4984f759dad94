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
    let event = Event::from_test_context(context)
        .map_err(|e| ApiError::BadRequest(format!("invalid context: {e}")))?;
    if !rule.matches_input(&event) {
        return Err(ApiError::NotMatch);
    }
    match rule.evaluate(&event) {
        Ok(Output::NoMatch) => Err(ApiError::NotMatch),
        // The event is local: a row that is a view of it becomes JSON.
        Ok(output) => Ok(output.into_owned()),
        Err(err) => Err(ApiError::BadRequest(err.to_string())),
    }
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
