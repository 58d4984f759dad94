//! Authentication of REST calls: an API key and its secret over HTTP Basic, as EMQX does.

pub mod api_keys;
mod middleware;

pub use middleware::require_api_key;

/// Paths anyone may read: probes, Prometheus, the API description and the web console's static
/// files (the console itself signs in to the API).
pub fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/metrics" | "/api/v5/status" | "/api/v5/openapi.json" | "/api/v5/docs" | "/"
    ) || path == crate::http::console::PREFIX
        || path.starts_with("/console/")
}
