//! Where rule output goes: the Kafka producer and MQTT republish.

pub mod kafka;
pub mod republish;
