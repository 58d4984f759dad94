//! `POST /connectors_probe`, `/actions_probe`, `/sources_probe`: test a configuration before
//! saving it. 204 when it works, 400 `TEST_FAILED` with the reason otherwise.

use actix_web::{HttpResponse, post, web};
use serde_json::Value;
use tributary_protocol::resources::{
    ConnectorType, KafkaConnectorConfig, KafkaConsumerParameters, KafkaProducerParameters,
    validation::rules,
};
use utoipa_actix_web::service_config::ServiceConfig;

use super::actions::{ActionView, KafkaProducerAction};
use super::bridges::{self, BridgeKind};
use super::connector_config::ConnectorConfig;
use super::connector_schema::ConnectorBody;
use super::connectors;
use super::envelope;
use super::sources::{KafkaConsumerSource, SourceView};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::probe::{self, ProbeFailure};
use crate::state::AppState;
use crate::store;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(probe_connector)
        .service(probe_action)
        .service(probe_source);
}

#[utoipa::path(
    operation_id = "probe_connector",
    tag = "connectors",
    request_body(content = ConnectorBody, description = "A connector as `POST /connectors` takes it. Secrets sent as `******` are taken from the stored connector of the same type and name."),
    responses(
        (status = 204, description = "The connection works"),
        (status = 400, description = "`TEST_FAILED` with the reason, or an invalid field", body = ErrorBody),
    )
)]
#[post("/connectors_probe")]
async fn probe_connector(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let mut body = body.into_inner();
    // Probing a connector before naming it is fine.
    if let Some(map) = body.as_object_mut() {
        map.entry("name")
            .or_insert_with(|| Value::String("probe".to_owned()));
    }
    let mut input = connectors::parse_new(body)?;
    if !input.config.masked_fields().is_empty() {
        if let Some(stored) =
            store::connectors::get(&state.pool, input.kind.as_str(), &input.name).await?
        {
            input
                .config
                .keep_masked_from(&ConnectorConfig::from_stored(input.kind, &stored.config.0)?);
        }
        envelope::reject_if_any(input.config.masked_fields())?;
    }
    let outcome = match &input.config {
        ConnectorConfig::Kafka(kafka) => probe::kafka::probe(kafka, &[]).await,
        ConnectorConfig::Mqtt(mqtt) => probe::mqtt::probe(mqtt).await,
    };
    report(&format!("{}:{}", input.kind.as_str(), input.name), outcome)
}

#[utoipa::path(
    operation_id = "probe_action",
    tag = "actions",
    request_body(content = ActionView, description = "An action as `POST /actions` takes it; its connector must exist"),
    responses(
        (status = 204, description = "The connector works and the (static) topic exists"),
        (status = 400, description = "`TEST_FAILED` with the reason, or an invalid field", body = ErrorBody),
    )
)]
#[post("/actions_probe")]
async fn probe_action(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    probe_kafka_bridge::<KafkaProducerAction>(&state, body.into_inner(), producer_topics).await
}

/// A templated topic is only known per message; the dead-letter topic is always static.
fn producer_topics(parameters: &KafkaProducerParameters) -> Vec<String> {
    [
        Some(&parameters.topic),
        parameters.dead_letter_topic.as_ref(),
    ]
    .into_iter()
    .flatten()
    .filter(|topic| !rules::is_template(topic))
    .cloned()
    .collect()
}

#[utoipa::path(
    operation_id = "probe_source",
    tag = "sources",
    request_body(content = SourceView, description = "A source as `POST /sources` takes it; its connector must exist"),
    responses(
        (status = 204, description = "The connector works and every topic exists"),
        (status = 400, description = "`TEST_FAILED` with the reason, or an invalid field", body = ErrorBody),
    )
)]
#[post("/sources_probe")]
async fn probe_source(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    probe_kafka_bridge::<KafkaConsumerSource>(&state, body.into_inner(), consumer_topics).await
}

fn consumer_topics(parameters: &KafkaConsumerParameters) -> Vec<String> {
    parameters
        .topic
        .iter()
        .chain(parameters.topic_mapping.iter().map(|m| &m.kafka_topic))
        .cloned()
        .collect()
}

/// Checks that an action's or source's Kafka connector works and that `topics_to_check` exist.
async fn probe_kafka_bridge<K: BridgeKind>(
    state: &AppState,
    body: Value,
    topics_to_check: fn(&K::Parameters) -> Vec<String>,
) -> ApiResult<HttpResponse> {
    let input = bridges::parse::<K>(body, None)?;
    let kafka = stored_kafka_connector(state, K::CONNECTOR_TYPE, &input.connector).await?;
    let topics = topics_to_check(&input.parameters);
    report(
        &format!("{}:{}", K::TYPE, input.name),
        probe::kafka::probe(&kafka, &topics).await,
    )
}

async fn stored_kafka_connector(
    state: &AppState,
    kind: ConnectorType,
    name: &str,
) -> ApiResult<KafkaConnectorConfig> {
    let row = store::connectors::get(&state.pool, kind.as_str(), name)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "connector",
                format!("there is no {} connector named `{name}`", kind.as_str()),
            )
        })?;
    match ConnectorConfig::from_stored(kind, &row.config.0)? {
        ConnectorConfig::Kafka(kafka) => Ok(kafka),
        ConnectorConfig::Mqtt(_) => Err(ApiError::Internal(format!(
            "stored {} connector `{name}` is not a Kafka one",
            kind.as_str()
        ))),
    }
}

fn report(what: &str, outcome: Result<(), ProbeFailure>) -> ApiResult<HttpResponse> {
    match outcome {
        Ok(()) => {
            tracing::info!(resource = %what, "connection test passed");
            Ok(HttpResponse::NoContent().finish())
        }
        Err(failure) => {
            tracing::info!(resource = %what, reason = %failure, "connection test failed");
            Err(failure.into())
        }
    }
}
