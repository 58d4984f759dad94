//! The connection state of each connector this worker uses, reported in heartbeats so the control
//! plane can show `connected` / `connecting` / `disconnected` with a reason.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorState {
    Connected,
    Connecting,
    Disconnected,
}

impl ConnectorState {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Connecting => "connecting",
            Self::Disconnected => "disconnected",
        }
    }
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
}

impl StatusBoard {
    pub fn set(&self, connector_id: &str, state: ConnectorState, reason: impl Into<String>) {
        let mut map = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
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
    }

    pub fn snapshot(&self) -> BTreeMap<String, ConnectorStatus> {
        self.connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
