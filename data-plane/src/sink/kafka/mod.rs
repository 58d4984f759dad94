//! The `kafka_producer` action.

pub mod config;
pub mod delivery;
mod health;
pub mod producer;
pub mod record;
pub mod topics;

pub use delivery::Outcome;
pub use producer::{KafkaSink, PendingOutcome, SinkError};
