//! One Kafka producer client per connector and client settings on this worker, shared by every
//! action (of rules and of sources) that uses them.
//!
//! A librdkafka producer is a handful of threads and a connection per broker. Built per action, a
//! worker with a thousand rules on one connector would hold thousands of each; shared, it holds
//! one client per distinct configuration, which for actions left at their defaults is one per
//! connector. Everything an action owns stays its own: its metrics, its memory buffer, its
//! in-flight count and its delivery futures, so ordering and at-least-once are unchanged.
//!
//! Actions share a client when the librdkafka configuration they would build is the same to the
//! letter (`producer_config`): settings librdkafka holds per client (linger, batch size, in-flight
//! limit, idempotence, queue size, message timeout) and those it could hold per topic (acks,
//! compression, partitioner) alike, because rust-rdkafka produces through the client's default
//! topic configuration and offers no safe way to give one topic a configuration of its own.
//!
//! The client's health check (the connector status) runs once per client, not per action, and the
//! client is closed when its last action stops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio_util::sync::CancellationToken;
use tributary_connect::kafka::producer_config;
use tributary_protocol::assignment::KafkaProducerAction;

use super::client::{ProducerContext, SinkProducer};
use super::health::watch_connector;
use super::producer::SinkError;
use super::topics::TopicCache;
use crate::telemetry::StatusBoard;

/// The producer clients of this worker, by connector and configuration.
#[derive(Clone, Default)]
pub struct ProducerClients {
    clients: Arc<Mutex<HashMap<ClientKey, Weak<SharedProducer>>>>,
}

impl std::fmt::Debug for ProducerClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerClients")
            .field("open", &self.open())
            .finish()
    }
}

/// The connector's status id and the full configuration, secrets included (it never leaves this
/// map: no Debug, no logs).
#[derive(Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    connector_id: String,
    config: Vec<(String, String)>,
}

/// A client and its health check; closed when the last action holding it lets go.
pub struct SharedProducer {
    pub producer: SinkProducer,
    /// Which topics exist, asked once per client rather than once per action.
    pub topics: TopicCache,
    key: ClientKey,
    clients: ProducerClients,
    /// Stops the health check, which then clears the connector's status unless another client
    /// of the same connector is still open.
    health: CancellationToken,
}

impl std::fmt::Debug for SharedProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedProducer")
            .field("connector", &self.key.connector_id)
            .finish_non_exhaustive()
    }
}

impl ProducerClients {
    /// The client for `action`: the open one of the same connector and configuration, or a new
    /// one (with its health check reporting to `status`).
    pub fn acquire(
        &self,
        action: &KafkaProducerAction,
        status: &StatusBoard,
    ) -> Result<Arc<SharedProducer>, SinkError> {
        let config = producer_config(&action.connector, &action.parameters);
        let mut pairs: Vec<(String, String)> = config
            .config_map()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        // Not a librdkafka setting, but the topic cache below waits this long for metadata.
        pairs.push((
            "tributary.metadata_request_timeout".to_owned(),
            action
                .connector
                .metadata_request_timeout
                .as_millis()
                .to_string(),
        ));
        // Not a setting either: a `start` of the connector asks for a new client.
        pairs.push((
            "tributary.connector_starts".to_owned(),
            action.connector_starts.to_string(),
        ));
        pairs.sort();
        let key = ClientKey {
            connector_id: format!("kafka_producer:{}", action.connector_name),
            config: pairs,
        };
        let mut clients = self.lock();
        if let Some(open) = clients.get(&key).and_then(Weak::upgrade) {
            return Ok(open);
        }
        let context = ProducerContext::default();
        let producer = SinkProducer::create(config, context.clone())
            .map_err(|e| SinkError::Config(e.to_string()))?;
        let health = CancellationToken::new();
        let topics = TopicCache::new(
            producer.clone(),
            action.parameters.partition_count_refresh_interval.0,
            action.connector.min_metadata_refresh_interval.0,
            action.connector.metadata_request_timeout.0,
        );
        let shared = Arc::new(SharedProducer {
            producer: producer.clone(),
            topics,
            key: key.clone(),
            clients: self.clone(),
            health: health.clone(),
        });
        clients.insert(key.clone(), Arc::downgrade(&shared));
        drop(clients);
        let this = self.clone();
        let status = status.clone();
        let connector = action.connector.clone();
        tokio::spawn(async move {
            watch_connector(
                producer,
                context,
                key.connector_id.clone(),
                connector,
                status.clone(),
                health,
            )
            .await;
            if !this.has_connector(&key.connector_id) {
                status.remove(&key.connector_id);
            }
        });
        Ok(shared)
    }

    /// How many clients are open: what the sharing saves, for tests and the worker's gauges.
    pub fn open(&self) -> usize {
        self.lock()
            .values()
            .filter(|client| client.strong_count() > 0)
            .count()
    }

    fn has_connector(&self, connector_id: &str) -> bool {
        self.lock()
            .iter()
            .any(|(key, client)| key.connector_id == connector_id && client.strong_count() > 0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, Weak<SharedProducer>>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for SharedProducer {
    fn drop(&mut self) {
        let mut clients = self.clients.lock();
        // A new client of the same key may already have replaced this one.
        if clients
            .get(&self.key)
            .is_some_and(|client| client.strong_count() == 0)
        {
            clients.remove(&self.key);
        }
        drop(clients);
        self.health.cancel();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn action(name: &str, connector: &str, parameters: serde_json::Value) -> KafkaProducerAction {
        serde_json::from_value(json!({
            "action_id": format!("kafka_producer:{name}"),
            "connector_name": connector,
            // Nothing listens there: creating a client does not connect.
            "connector": {"bootstrap_hosts": "127.0.0.1:1"},
            "parameters": parameters,
        }))
        .unwrap_or_else(|e| panic!("action: {e}"))
    }

    #[tokio::test]
    async fn actions_with_the_same_settings_share_one_client() {
        let clients = ProducerClients::default();
        let status = StatusBoard::default();
        let actions: Vec<_> = (0..50)
            .map(|i| action(&format!("a{i}"), "k", json!({"topic": format!("t{i}")})))
            .collect();
        let held: Vec<_> = actions
            .iter()
            .map(|a| {
                clients
                    .acquire(a, &status)
                    .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        assert_eq!(clients.open(), 1, "50 actions on one connector, one client");
        assert!(held.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));

        // Another connector, or client settings of its own, get their own client.
        let other = clients.acquire(&action("b", "k2", json!({"topic": "t"})), &status);
        let lingering = clients.acquire(
            &action("c", "k", json!({"topic": "t", "max_linger_time": "50ms"})),
            &status,
        );
        assert!(other.is_ok() && lingering.is_ok());
        assert_eq!(clients.open(), 3);

        drop(held);
        drop(other);
        assert_eq!(clients.open(), 1, "released clients close");
        drop(lingering);
        assert_eq!(clients.open(), 0);
    }
}
