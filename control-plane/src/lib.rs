//! Tributary control plane: the REST management API over PostgreSQL, and the gRPC service
//! workers pull their assignments from.

pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod server;
pub mod state;
pub mod store;
