//! Process plumbing both binaries share: logging setup, graceful shutdown, and the admin HTTP
//! endpoint with `/healthz` and Prometheus `/metrics`, and TLS certificates that follow their files.

pub mod admin;
pub mod logging;
pub mod shutdown;
pub mod tls;
