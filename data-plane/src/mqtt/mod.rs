//! MQTT ingest and publishing over rumqttc (MQTT 3.1.1 and 5): shared connections with shared
//! subscriptions, routing to rules, receive-ordered manual acknowledgements.

pub mod ack_tracker;
mod claim;
pub mod client;
pub mod connection;
pub mod dispatcher;
pub mod inbox;
pub mod options;
pub mod pool;
pub mod routing;
mod v4;
mod v5;

pub use ack_tracker::AckToken;
pub use claim::RuleClaim;
pub use client::ClientError;
pub use connection::MqttConnection;
pub use pool::MqttPool;
pub use tributary_connect::mqtt::{OptionsError, OutboundPublish};

/// A message for one rule, with the obligation to finish it: complete `ack` once every action of
/// the rule is done with it (in `sync` mode: once Kafka acknowledged it).
#[derive(Debug)]
pub struct InboundMessage {
    pub message: tributary_rules::MessagePublish,
    pub ack: AckToken,
}
