//! Running flows: what the supervisor starts and stops.

pub mod env;

pub use env::FlowEnv;
