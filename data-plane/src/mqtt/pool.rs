//! The worker's MQTT connections, shared between flows.
//!
//! MQTT 5: one connection per connector per worker, client id `<clientid_prefix><worker name>`
//! (unique across workers, stable across restarts so the persistent session survives).
//! MQTT 3.1.1: one connection per connector per rule (`<prefix><worker name>-<rule id>`), because
//! 3.1.1 cannot tell which subscription delivered a message (see `routing`); publish-only users
//! share `<prefix><worker name>`.
//!
//! A connection opened while the pool is held waits for the hold to end before connecting:
//! the supervisor holds the pool while it applies an assignment and releases it once every rule
//! has claimed its route, so the backlog a resumed session delivers at once always finds the rule
//! it belongs to (see `dispatcher`). Connections already running are not affected.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tributary_connect::mqtt::OptionsError;
use tributary_protocol::assignment::NamedMqttConnector;
use tributary_protocol::resources::MqttVersion;

use super::claim::RuleClaim;
use super::connection::MqttConnection;
use crate::telemetry::{MetricsHub, StatusBoard};

#[derive(Debug, Clone)]
pub struct MqttPool {
    worker_name: String,
    status: StatusBoard,
    metrics: MetricsHub,
    /// Held here too, so a flow restart (stop, then start) keeps the connection and its session
    /// instead of reconnecting; [`MqttPool::release_idle`] closes the ones nobody uses.
    connections: Arc<Mutex<HashMap<String, Pooled>>>,
    released: Arc<watch::Sender<bool>>,
}

#[derive(Debug)]
struct Pooled {
    connection: Arc<MqttConnection>,
    /// The connector's `starts` it was opened for (see `NamedMqttConnector::starts`).
    starts: u64,
    unused_since: Option<Instant>,
}

impl MqttPool {
    pub fn new(worker_name: &str, status: StatusBoard, metrics: MetricsHub) -> Self {
        Self {
            worker_name: worker_name.to_owned(),
            status,
            metrics,
            connections: Arc::default(),
            released: Arc::new(watch::Sender::new(true)),
        }
    }

    /// Connections opened from now on wait to connect until the returned hold is dropped (a
    /// guard, so that no path out of the holder, early return or cancellation, leaves them
    /// waiting for good).
    #[must_use = "the pool is released when the hold is dropped"]
    pub fn hold(&self) -> PoolHold {
        self.released.send_replace(false);
        PoolHold {
            released: Arc::clone(&self.released),
        }
    }

    /// Claims the route of `rule_id` on the connection it subscribes on (and publishes through):
    /// copies for the rule wait for it from now on (see [`RuleClaim`]).
    pub fn claim_for_rule(
        &self,
        connector: &NamedMqttConnector,
        rule_id: &str,
    ) -> Result<RuleClaim, OptionsError> {
        let connection = match connector.config.proto_ver {
            MqttVersion::V5 => self.shared(connector)?,
            MqttVersion::V4 => {
                let client_id = format!("{}-{rule_id}", self.base_client_id(connector));
                self.get_or_start(connector, client_id)?
            }
        };
        Ok(RuleClaim::new(connection, rule_id))
    }

    /// The connection of a connector, for publishing.
    pub fn shared(
        &self,
        connector: &NamedMqttConnector,
    ) -> Result<Arc<MqttConnection>, OptionsError> {
        let client_id = self.base_client_id(connector);
        self.get_or_start(connector, client_id)
    }

    fn base_client_id(&self, connector: &NamedMqttConnector) -> String {
        format!("{}{}", connector.config.clientid_prefix, self.worker_name)
    }

    fn get_or_start(
        &self,
        connector: &NamedMqttConnector,
        client_id: String,
    ) -> Result<Arc<MqttConnection>, OptionsError> {
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = connections.get_mut(&client_id) {
            // An edited or restarted (`start`) connector gets a fresh connection (same client id:
            // it takes the session over).
            if existing.connection.config() == &connector.config
                && existing.starts == connector.starts
            {
                existing.unused_since = None;
                return Ok(Arc::clone(&existing.connection));
            }
        }
        let connection = MqttConnection::start(
            &connector.name,
            &client_id,
            &connector.config,
            self.status.clone(),
            self.metrics.clone(),
            &self.worker_name,
            self.released.subscribe(),
        )?;
        connections.insert(
            client_id,
            Pooled {
                connection: Arc::clone(&connection),
                starts: connector.starts,
                unused_since: None,
            },
        );
        Ok(connection)
    }

    /// Detaches, on every connection, the rules not in `keep` and not claimed (see
    /// [`MqttConnection::retain_rules`]).
    pub async fn retain_rules(&self, keep: &HashSet<String>) {
        for connection in self.connections() {
            let _ = connection.retain_rules(keep).await;
        }
    }

    fn connections(&self) -> Vec<Arc<MqttConnection>> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|pooled| Arc::clone(&pooled.connection))
            .collect()
    }

    /// Closes every connection cleanly (see [`MqttConnection::close`]), for shutdown once the
    /// flows have stopped.
    pub async fn close_all(&self, grace: Duration) {
        let connections: Vec<Arc<MqttConnection>> = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, pooled)| pooled.connection)
            .collect();
        futures::future::join_all(connections.iter().map(|c| c.close(grace))).await;
    }

    /// Closes connections no flow has used for `grace`.
    pub fn release_idle(&self, grace: Duration) {
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        connections.retain(|_, pooled| {
            if Arc::strong_count(&pooled.connection) > 1 {
                pooled.unused_since = None;
                return true;
            }
            let since = *pooled.unused_since.get_or_insert(now);
            now.duration_since(since) < grace
        });
    }
}

/// See [`MqttPool::hold`]: dropping it lets the waiting connections (and later ones) connect.
#[derive(Debug)]
pub struct PoolHold {
    released: Arc<watch::Sender<bool>>,
}

impl Drop for PoolHold {
    fn drop(&mut self) {
        self.released.send_replace(true);
    }
}
