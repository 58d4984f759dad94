//! The Tributary worker: pulls its assignment from the control plane and runs the flows in it.
//!
//! - `control`: the gRPC client (register, assignment stream, heartbeats, lease);
//! - `supervisor`: applies assignment snapshots as diffs of running flows;
//! - `flow`: one running flow (MQTT rule flows here, Kafka sources in `source`);
//! - `mqtt`: MQTT connections, routing and ordered acknowledgements;
//! - `sink`: where rule output goes (Kafka producer, MQTT republish);
//! - `telemetry`: metrics and connector status reported in heartbeats;
//! - `backoff`: the jittered retry pacing every reconnecting part shares.

pub mod backoff;
pub mod control;
pub mod flow;
pub mod mqtt;
pub mod sink;
pub mod source;
pub mod supervisor;
pub mod telemetry;
