//! `/sources`: Kafka consumers (`kafka_consumer`) delivering records to MQTT through topic
//! mappings, or feeding rules that name them in FROM.

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde_json::Value;
use sqlx::PgConnection;
use tributary_protocol::resources::{ConnectorType, FieldError, KafkaConsumerParameters};
use tributary_rules::RuleInput;
use utoipa_actix_web::service_config::ServiceConfig;

use super::bridges::{self, BridgeKind, bridge_view};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::bridges::BridgeTable;
use crate::store::rules;
use crate::validation::{references, templates};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(remove)
        .service(set_enable);
}

#[derive(Debug)]
pub struct KafkaConsumerSource;

impl BridgeKind for KafkaConsumerSource {
    const NOUN: &'static str = "source";
    const TABLE: BridgeTable = BridgeTable::Sources;
    const TYPE: &'static str = "kafka_consumer";
    const CONNECTOR_TYPE: ConnectorType = ConnectorType::KafkaConsumer;
    type Parameters = KafkaConsumerParameters;

    fn template_errors(parameters: &KafkaConsumerParameters) -> Vec<FieldError> {
        templates::kafka_consumer(parameters)
    }

    async fn check_references(
        conn: &mut PgConnection,
        parameters: &KafkaConsumerParameters,
    ) -> ApiResult<()> {
        if let Some(mqtt) = &parameters.mqtt_connector {
            references::connector(conn, "parameters.mqtt_connector", ConnectorType::Mqtt, mqtt)
                .await?;
        }
        Ok(())
    }

    async fn dependents(conn: &mut PgConnection, name: &str) -> ApiResult<Vec<String>> {
        // FROM lives inside the SQL text, so the rules are parsed here. Stored rules were parsed
        // when saved; one that no longer parses cannot read the source either.
        let rules = rules::list_in(conn).await?;
        Ok(rules
            .into_iter()
            .filter(|rule| {
                tributary_rules::Rule::parse(&rule.sql).is_ok_and(|parsed| {
                    parsed
                        .inputs()
                        .iter()
                        .any(|input| matches!(input, RuleInput::KafkaSource(s) if s == name))
                })
            })
            .map(|rule| format!("rule:{}", rule.id))
            .collect())
    }

    async fn detach_dependents(_: &mut PgConnection, _: &str) -> ApiResult<bool> {
        // A rule reading a source cannot run without it: those rules must be changed by hand.
        Ok(false)
    }
}

bridge_view!(
    /// A `kafka_consumer` source as the API shows it.
    SourceView,
    KafkaConsumerParameters
);

#[utoipa::path(operation_id = "list_sources", tag = "sources", responses((status = 200, body = [SourceView])))]
#[get("/sources")]
async fn list(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        bridges::list::<KafkaConsumerSource>(&state)
            .await?
            .into_iter()
            .map(SourceView::from)
            .collect::<Vec<_>>(),
    ))
}

#[utoipa::path(
    operation_id = "create_source",
    tag = "sources",
    request_body(content = SourceView, description = "`type`, `name`, `connector`, `parameters`, optional `enable`, `description`, `resource_opts`"),
    responses((status = 201, body = SourceView), (status = 400, description = "Invalid field, unknown connector, or `ALREADY_EXISTS`", body = ErrorBody))
)]
#[post("/sources")]
async fn create(state: web::Data<AppState>, body: web::Json<Value>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(SourceView::from(
        bridges::create::<KafkaConsumerSource>(&state, body.into_inner()).await?,
    )))
}

#[utoipa::path(
    operation_id = "get_source",
    tag = "sources",
    params(("id" = String, Path, description = "`kafka_consumer:<name>`")),
    responses((status = 200, body = SourceView), (status = 404, body = ErrorBody))
)]
#[get("/sources/{id}")]
async fn read(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(SourceView::from(
        bridges::read::<KafkaConsumerSource>(&state, &id).await?,
    )))
}

#[utoipa::path(
    operation_id = "update_source",
    tag = "sources",
    params(("id" = String, Path, description = "`kafka_consumer:<name>`")),
    request_body(content = SourceView, description = "`connector`, `parameters`, optional `enable`, `description`, `resource_opts`"),
    responses((status = 200, body = SourceView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
#[put("/sources/{id}")]
async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(SourceView::from(
        bridges::update::<KafkaConsumerSource>(&state, &id, body.into_inner()).await?,
    )))
}

#[utoipa::path(
    operation_id = "delete_source",
    tag = "sources",
    params(("id" = String, Path, description = "`kafka_consumer:<name>`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Still read by rules (listed)", body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
#[delete("/sources/{id}")]
async fn remove(state: web::Data<AppState>, id: web::Path<String>) -> ApiResult<HttpResponse> {
    bridges::delete::<KafkaConsumerSource>(&state, &id, false).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    operation_id = "set_enable_source",
    tag = "sources",
    params(("id" = String, Path, description = "`kafka_consumer:<name>`"), ("enable" = bool, Path)),
    responses((status = 204, description = "Done"), (status = 404, body = ErrorBody))
)]
#[put("/sources/{id}/enable/{enable}")]
async fn set_enable(
    state: web::Data<AppState>,
    path: web::Path<(String, bool)>,
) -> ApiResult<HttpResponse> {
    let (id, enable) = path.into_inner();
    bridges::set_enable::<KafkaConsumerSource>(&state, &id, enable).await?;
    Ok(HttpResponse::NoContent().finish())
}
