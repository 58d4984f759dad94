//! REST endpoints under `/api/v5`, one file per resource. Handlers parse and validate the request,
//! call `store`, and shape the response; SQL lives in `store`, rules of validity in `validation`.
//!
//! Files without routes hold what several endpoints parse or show: `envelope` (the fields every
//! body shares), `connector_config` and `rule_body` (type-specific bodies), `ids` and `paging`
//! (path ids, list queries), `bridges` (what actions and sources share; their endpoints are
//! `bridge_endpoints`) and `relations` (who uses whom, for the views).

pub mod actions;
pub mod api_keys;
pub mod audit;
pub mod bridge_endpoints;
pub mod bridges;
pub mod connector_config;
pub mod connector_schema;
pub mod connector_start;
pub mod connectors;
pub mod data;
pub mod dry_run;
pub mod envelope;
pub mod flows;
pub mod ids;
pub mod metrics;
pub mod operations;
pub mod paging;
pub mod probes;
pub mod relations;
pub mod rule_body;
pub mod rule_test;
pub mod rules;
pub mod sources;
pub mod status;
pub mod workers;

use utoipa_actix_web::service_config::ServiceConfig;

/// Mounts every endpoint of the API scope. Modules owned by other engineers (workers, flows,
/// status, metrics) add their own `configure` call here.
pub fn configure(cfg: &mut ServiceConfig) {
    connectors::configure(cfg);
    actions::configure(cfg);
    sources::configure(cfg);
    rules::configure(cfg);
    rule_test::configure(cfg);
    dry_run::configure(cfg);
    api_keys::configure(cfg);
    probes::configure(cfg);
    metrics::configure(cfg);
    workers::configure(cfg);
    flows::configure(cfg);
    status::configure(cfg);
    data::configure(cfg);
    audit::configure(cfg);
}
