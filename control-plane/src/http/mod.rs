//! HTTP plumbing shared by every endpoint: request-body extractors whose errors become
//! [`crate::error::ApiError`]s, request metrics and the control plane's gauges, `/healthz`, and the API documentation page.

pub mod console;
pub mod docs;
pub mod extractors;
pub mod gauges;
pub mod health;
pub mod known_paths;
pub mod metrics;
