//! `tributary-control export` and `apply`: flows kept in Git as YAML, read from and applied to a
//! running control plane through its REST API (`/api/v5/data/export` and `/data/import`).

mod client;
mod commands;
mod report;

pub use commands::{apply, export};
