//! Authentication of REST calls (an API key and its secret over HTTP Basic, as EMQX does) and
//! authorization by the key's role.

pub mod api_keys;
mod middleware;
pub mod openapi;
pub mod roles;

pub use api_keys::Signer;
pub use middleware::require_api_key;
pub use roles::Role;

/// Paths anyone may read: probes, Prometheus, the API description and the web console's static
/// files (the console itself signs in to the API).
pub fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/metrics" | "/api/v5/status" | "/api/v5/openapi.json" | "/api/v5/docs"
    ) || crate::http::console::is_console_path(path)
}
