//! Tributary control plane: the REST management API over PostgreSQL, and the gRPC service
//! workers pull their assignments from.

pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod placement;
pub mod probe;
pub mod server;
pub mod state;
pub mod store;
pub mod validation;
