//! Tributary control plane: the REST management API over PostgreSQL, and the gRPC service
//! workers pull their assignments from.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod grpc;
pub mod health_check;
pub mod http;
pub mod placement;
pub mod probe;
pub mod server;
pub mod state;
pub mod store;
pub mod tls;
pub mod validation;
pub mod worker_reports;
