//! Harness for end-to-end tests that start the real binaries (`tributary-control`,
//! `tributary-worker` from target/debug) against the test stack (`scripts/test-stack.sh start`,
//! then `source .test-stack/env`).
//!
//! Every [`Stack`] gets a fresh database, free ports, its own worker token and API key; its child
//! processes are killed when it is dropped. Kafka and MQTT helpers talk to the same services the
//! binaries use.

pub mod api;
pub mod broker;
pub mod chaos;
pub mod disk_buffer;
pub mod env;
pub mod kafka;
pub mod mqtt;
pub mod numbered;
pub mod outage;
pub mod postgres;
pub mod private_kafka;
pub mod process;
pub mod secure_kafka;
pub mod stack;
pub mod tls;
pub mod until_signal;
pub mod wait;
pub mod worker_metrics;

pub use api::Api;
pub use env::TestEnv;
pub use stack::Stack;
pub use wait::wait_until;

/// A name no other test (or earlier run) uses: `<prefix>-<random>`.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}
