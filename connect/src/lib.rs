//! What both planes need to reach MQTT and Kafka, and nothing that runs: client settings from
//! connector configurations, and the Kafka records and MQTT PUBLISHes that rule rows render to.
//!
//! The worker (`tributary-data-plane`) connects and sends with them; the control plane tests
//! connections and renders dry runs with the very same code, without linking the worker.

pub mod kafka;
pub mod mqtt;
pub mod record;
pub mod republish;
