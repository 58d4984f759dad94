//! The `kafka_producer` action.

mod buffer;
pub mod client;
pub mod clients;
pub mod delivery;
pub mod disk;
mod health;
pub mod outcomes;
mod partitioner;
mod pending;
pub mod producer;
mod pump;
pub mod report;
mod room;
pub mod topics;

pub use clients::ProducerClients;
pub use delivery::Outcome;
pub use outcomes::Origin;
pub use pending::PendingOutcome;
pub use producer::{KafkaSink, Sent, SinkError};
