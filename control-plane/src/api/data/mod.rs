//! `/data/export` and `/data/import`: the whole configuration as one document, so flows can be
//! kept in Git and applied (`tributary-control export` / `apply`).

pub mod diff;
pub mod document;
pub mod export;
pub mod import;
mod import_items;
pub mod sealing;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(export::export).service(import::import);
}
