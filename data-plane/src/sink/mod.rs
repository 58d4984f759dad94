//! Where rule output goes: the Kafka producer and MQTT republish.

pub mod republish;
