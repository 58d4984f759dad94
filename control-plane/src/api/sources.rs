//! `/sources`: Kafka consumers (`kafka_consumer`) delivering records to MQTT through topic
//! mappings, or feeding rules that name them in FROM.

use actix_web::{HttpResponse, delete, get, web};
use serde::Serialize;
use sqlx::PgConnection;
use tributary_protocol::resources::{ConnectorType, FieldError, KafkaConsumerParameters};
use tributary_rules::RuleInput;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::bridge_endpoints::bridge_endpoints;
use super::bridges::{self, BridgeKind, bridge_view};
use super::relations::Relations;
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
        .service(set_enable)
        .service(operate)
        .service(operate_on_node)
        .service(summary)
        .service(source_types);
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

    fn rules_using(relations: &Relations, name: &str) -> Vec<String> {
        relations.rules_reading_source(name)
    }

    async fn detach_dependents(_: &mut PgConnection, _: &str) -> ApiResult<bool> {
        // A rule reading a source cannot run without it: those rules must be changed by hand.
        Ok(false)
    }
}

bridge_view!(
    /// A `kafka_consumer` source as the API shows it.
    SourceView,
    KafkaConsumerParameters,
    type_pattern: "^kafka_consumer$"
);

bridge_endpoints! {
    kind: KafkaConsumerSource,
    view: SourceView,
    tag: "sources",
    id_format: "`kafka_consumer:<name>`",
    collection_path: "/sources",
    item_path: "/sources/{id}",
    enable_path: "/sources/{id}/enable/{enable}",
    operation_path: "/sources/{id}/{operation}",
    node_operation_path: "/nodes/{node}/sources/{id}/{operation}",
    summary_path: "/sources_summary",
    operation_ids: {
        list: "list_sources",
        create: "create_source",
        read: "get_source",
        update: "update_source",
        set_enable: "set_enable_source",
        operate: "operate_source",
        operate_on_node: "operate_source_on_node",
        summary: "sources_summary",
    },
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

/// A source type this server supports.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
pub struct SourceTypeName(&'static str);

#[utoipa::path(operation_id = "list_source_types", tag = "sources", responses((status = 200, body = [SourceTypeName], example = json!(["kafka_consumer"]))))]
#[get("/source_types")]
async fn source_types() -> HttpResponse {
    HttpResponse::Ok().json([SourceTypeName(KafkaConsumerSource::TYPE)])
}
