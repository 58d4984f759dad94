//! The connection state of each connector this worker uses, reported in heartbeats so the control
//! plane can show `connected` / `connecting` / `disconnected` with a reason.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::families::{self, ResourceKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorState {
    Connected,
    Connecting,
    Disconnected,
}

impl ConnectorState {
    /// A connector whose connections are down, with librdkafka's (or the MQTT client's) reason.
    /// Once it was up, losing it is `connecting`: the client retries and the backlog waits, as
    /// EMQX reads it. A refused authentication is `disconnected` either way: retrying alone will
    /// not fix it, a person must (new credentials, or the user restored).
    pub fn unreachable(ever_connected: bool, reason: &str) -> Self {
        if ever_connected && !is_authentication_failure(reason) {
            Self::Connecting
        } else {
            Self::Disconnected
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Connecting => "connecting",
            Self::Disconnected => "disconnected",
        }
    }
}

/// librdkafka says "SASL authentication error: Authentication failed during authentication due to
/// invalid credentials …"; a broker address (`sasl_ssl://…`) alone says nothing of the kind.
fn is_authentication_failure(reason: &str) -> bool {
    reason.to_ascii_lowercase().contains("authentication")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorStatus {
    pub state: ConnectorState,
    pub reason: String,
}

/// Connector id (`kafka_producer:my_kafka`, `mqtt:default`) to its latest status.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    connectors: Arc<Mutex<BTreeMap<String, ConnectorStatus>>>,
    /// `tributary_connector_status{connector}`: 1 connected, 0 otherwise (EMQX's values).
    gauges: Family<[(&'static str, String); 1], Gauge>,
}

impl StatusBoard {
    /// Registers `tributary_connector_status`.
    pub fn register(&self, registry: &mut Registry) {
        if let Some(spec) = families::spec(ResourceKind::Connector, families::STATUS) {
            registry.register(spec.registered_name(), spec.help, self.gauges.clone());
        }
    }

    pub fn set(&self, connector_id: &str, state: ConnectorState, reason: impl Into<String>) {
        let mut map = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.gauges
            .get_or_create(&Self::labels(connector_id))
            .set(i64::from(state == ConnectorState::Connected));
        map.insert(
            connector_id.to_owned(),
            ConnectorStatus {
                state,
                reason: reason.into(),
            },
        );
    }

    /// Forgets a connector no flow uses any more.
    pub fn remove(&self, connector_id: &str) {
        let mut map = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.remove(connector_id);
        self.gauges.remove(&Self::labels(connector_id));
    }

    fn labels(connector_id: &str) -> [(&'static str, String); 1] {
        [(ResourceKind::Connector.label(), connector_id.to_owned())]
    }

    pub fn snapshot(&self) -> BTreeMap<String, ConnectorStatus> {
        self.connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_sees_one_when_connected_and_forgets_removed_connectors() {
        let board = StatusBoard::default();
        let mut registry = Registry::default();
        board.register(&mut registry);
        board.set("kafka_producer:k", ConnectorState::Connected, "");
        board.set("mqtt:default", ConnectorState::Connecting, "refused");
        board.set("kafka_consumer:gone", ConnectorState::Connected, "");
        board.remove("kafka_consumer:gone");

        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("# TYPE tributary_connector_status gauge"),
            "{text}"
        );
        assert!(
            text.contains(r#"tributary_connector_status{connector="kafka_producer:k"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"tributary_connector_status{connector="mqtt:default"} 0"#),
            "{text}"
        );
        assert!(!text.contains("gone"), "{text}");
    }

    #[test]
    fn a_refused_authentication_is_disconnected_even_after_a_connection() {
        let refused = "sasl_ssl://127.0.0.1:29095/bootstrap: SASL authentication error: \
                       Authentication failed during authentication due to invalid credentials";
        assert_eq!(
            ConnectorState::unreachable(true, refused),
            ConnectorState::Disconnected
        );
        let lost = "sasl_ssl://127.0.0.1:29095/1: Connect to ipv4#127.0.0.1:29095 failed: \
                    Connection refused";
        assert_eq!(
            ConnectorState::unreachable(true, lost),
            ConnectorState::Connecting
        );
        assert_eq!(
            ConnectorState::unreachable(false, lost),
            ConnectorState::Disconnected
        );
    }
}
