//! `POST /rules/{id}/test`: a dry run of a stored rule. Evaluates it on a sample event and shows,
//! per action, exactly what would be sent, rendered by the code the workers render with
//! (`tributary_connect`), without sending anything.

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tributary_connect::record::RecordTemplates;
use tributary_connect::republish::RepublishTemplates;
use tributary_protocol::resources::{InlineAction, KafkaProducerParameters, RuleActionRef};
use tributary_rules::Row;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::rule_test;
use super::rules::not_found;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::bridges::{self, BridgeTable};
use crate::store::rules;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(dry_run);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunBody {
    /// The sample event, as `/rule_test` takes it.
    #[schema(value_type = Object)]
    pub context: Value,
    /// Accepted for EMQX compatibility; a dry run never sends.
    #[serde(default)]
    pub stop_action_after_template_rendering: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DryRun {
    /// The rule's output rows (one for SELECT, any number for FOREACH).
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Value>,
    pub actions: Vec<ActionPreview>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionPreview {
    /// `kafka_producer:<name>` or `republish`.
    pub action: String,
    /// A disabled action would send nothing.
    pub enable: bool,
    /// One entry per output row.
    pub outputs: Vec<RenderedOutput>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RenderedOutput {
    KafkaRecord {
        topic: String,
        /// Absent when the key renders empty (the partitioner then picks at random).
        key: Option<String>,
        value: String,
        headers: Vec<Header>,
        /// Milliseconds since the epoch; absent means the producer's clock.
        timestamp: Option<i64>,
    },
    MqttPublish {
        topic: String,
        payload: String,
        qos: u8,
        retain: bool,
        user_properties: Vec<Header>,
        content_type: Option<String>,
    },
    /// `console`: the line the worker would log (the row as JSON).
    ConsoleLine { line: String },
    /// The row cannot be sent (e.g. the topic renders invalid); the worker counts it as failed.
    Error { message: String },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Header {
    pub key: String,
    pub value: String,
}

fn headers(pairs: Vec<(String, String)>) -> Vec<Header> {
    pairs
        .into_iter()
        .map(|(key, value)| Header { key, value })
        .collect()
}

#[utoipa::path(
    operation_id = "dry_run",
    tag = "rules",
    params(("id" = String, Path, description = "Rule id")),
    request_body = DryRunBody,
    responses(
        (status = 200, body = DryRun),
        (status = 400, description = "Invalid context, or evaluation failed", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 412, description = "`NOT_MATCH`: the rule does not apply to this event", body = ErrorBody),
    )
)]
#[post("/rules/{id}/test")]
async fn dry_run(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<DryRunBody>,
) -> ApiResult<HttpResponse> {
    let row = rules::get(&state.pool, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let rule = rule_test::parse(&row.sql)?;
    let rows: Vec<Value> = rule_test::evaluate(&rule, &body.context)?
        .into_rows()
        .into_iter()
        .map(Row::into_json)
        .collect();
    let refs: Vec<RuleActionRef> = serde_json::from_value(row.actions.0).map_err(|e| {
        ApiError::Internal(format!(
            "stored actions of rule `{}` do not decode: {e}",
            row.id
        ))
    })?;
    let mut actions = Vec::with_capacity(refs.len());
    for action in refs {
        actions.push(match action {
            RuleActionRef::Stored(action_id) => kafka_preview(&state, &action_id, &rows).await?,
            RuleActionRef::Inline(InlineAction::Republish(args)) => {
                let outputs = match RepublishTemplates::compile(&args) {
                    Ok(templates) => rows
                        .iter()
                        .map(|row| match templates.render(row) {
                            Ok(publish) => RenderedOutput::MqttPublish {
                                topic: publish.topic,
                                payload: String::from_utf8_lossy(&publish.payload).into_owned(),
                                qos: publish.qos,
                                retain: publish.retain,
                                user_properties: headers(publish.user_properties),
                                content_type: publish.content_type,
                            },
                            Err(err) => RenderedOutput::Error {
                                message: err.to_string(),
                            },
                        })
                        .collect(),
                    Err(err) => vec![RenderedOutput::Error {
                        message: err.to_string(),
                    }],
                };
                ActionPreview {
                    action: "republish".to_owned(),
                    enable: true,
                    outputs,
                }
            }
            RuleActionRef::Inline(InlineAction::Console(_)) => ActionPreview {
                action: "console".to_owned(),
                enable: true,
                outputs: rows
                    .iter()
                    .map(|row| RenderedOutput::ConsoleLine {
                        line: row.to_string(),
                    })
                    .collect(),
            },
        });
    }
    Ok(HttpResponse::Ok().json(DryRun { rows, actions }))
}

async fn kafka_preview(
    state: &AppState,
    action_id: &str,
    rows: &[Value],
) -> ApiResult<ActionPreview> {
    let name = action_id
        .split_once(':')
        .map(|(_, name)| name)
        .unwrap_or(action_id);
    let Some(stored) =
        bridges::get(&state.pool, BridgeTable::Actions, "kafka_producer", name).await?
    else {
        return Ok(ActionPreview {
            action: action_id.to_owned(),
            enable: false,
            outputs: vec![RenderedOutput::Error {
                message: format!("action `{action_id}` does not exist"),
            }],
        });
    };
    let params: KafkaProducerParameters =
        serde_json::from_value(stored.parameters.0).map_err(|e| {
            ApiError::Internal(format!(
                "stored parameters of `{action_id}` do not decode: {e}"
            ))
        })?;
    let outputs = match RecordTemplates::compile(&params) {
        Ok(templates) => rows
            .iter()
            .map(|row| match templates.render(row) {
                Ok(record) => RenderedOutput::KafkaRecord {
                    topic: record.topic,
                    key: record.key,
                    value: record.value,
                    headers: headers(record.headers),
                    timestamp: record.timestamp,
                },
                Err(err) => RenderedOutput::Error {
                    message: err.to_string(),
                },
            })
            .collect(),
        Err((field, err)) => vec![RenderedOutput::Error {
            message: format!("{field}: {err}"),
        }],
    };
    Ok(ActionPreview {
        action: action_id.to_owned(),
        enable: stored.enable,
        outputs,
    })
}
