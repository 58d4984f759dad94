//! Running flows: what the supervisor starts and stops.

pub mod actions;
pub mod env;
mod outcomes;
pub mod rule_flow;
pub mod status;

pub use env::FlowEnv;
pub use status::{FlowPhase, FlowReporter, FlowStatuses};
