//! Where the test services are, from the environment `.test-stack/env` exports.

/// The services of the test stack.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// A PostgreSQL URL whose user may create databases.
    pub database_url: String,
    /// `host:port` of the MQTT broker.
    pub mqtt: String,
    /// Kafka bootstrap servers.
    pub kafka: String,
}

impl TestEnv {
    /// Reads the stack's variables; panics with the fix when one is missing, so a test never
    /// passes silently without its services.
    pub fn from_env() -> Self {
        Self {
            database_url: required("TRIBUTARY_TEST_DATABASE_URL"),
            mqtt: required("TRIBUTARY_TEST_MQTT"),
            kafka: required("TRIBUTARY_TEST_KAFKA"),
        }
    }
}

/// A variable of the test stack; panics with the fix when it is missing.
pub fn required(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set: run `scripts/test-stack.sh start && source .test-stack/env` first"
        ),
    }
}
