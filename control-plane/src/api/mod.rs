//! REST endpoints under `/api/v5`, one file per resource. Handlers parse and validate the request,
//! call `store`, and shape the response; SQL lives in `store`, rules of validity in `validation`.

pub mod actions;
pub mod bridges;
pub mod connector_config;
pub mod connectors;
pub mod envelope;
pub mod ids;
pub mod sources;

use utoipa_actix_web::service_config::ServiceConfig;

/// Mounts every endpoint of the API scope. Modules owned by other engineers (workers, flows,
/// status, metrics) add their own `configure` call here.
pub fn configure(cfg: &mut ServiceConfig) {
    connectors::configure(cfg);
    actions::configure(cfg);
    sources::configure(cfg);
}
