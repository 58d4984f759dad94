//! The `kafka_producer` action.

mod buffer;
pub mod client;
pub mod clients;
pub mod delivery;
pub mod disk;
mod health;
mod partitioner;
pub mod producer;
mod pump;
mod room;
pub mod topics;

pub use clients::ProducerClients;
pub use delivery::Outcome;
pub use producer::{KafkaSink, PendingOutcome, SinkError};
