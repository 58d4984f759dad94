//! The producer connector's status, from periodic metadata requests.
//!
//! Once connected, a failing producer reports `connecting`, never `disconnected` (as EMQX does):
//! its buffer is still there and will be delivered when the cluster comes back.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, Producer};
use tokio_util::sync::CancellationToken;
use tributary_protocol::resources::KafkaConnectorConfig;

use crate::telemetry::{ConnectorState, StatusBoard};

pub async fn watch_connector(
    producer: FutureProducer,
    connector_id: String,
    config: KafkaConnectorConfig,
    status: StatusBoard,
    stop: CancellationToken,
) {
    let interval = config
        .resource_opts
        .health_check_interval
        .0
        .max(Duration::from_secs(1));
    let timeout = config
        .metadata_request_timeout
        .0
        .max(Duration::from_secs(1));
    let mut ever_connected = false;
    status.set(&connector_id, ConnectorState::Connecting, "starting");
    loop {
        // A broker may close an idle connection just as the probe uses it (librdkafka then
        // reports a transport failure and reconnects): one failure alone is not an outage.
        let mut result = probe(&producer, timeout).await;
        if matches!(result, Ok(Err(_))) {
            result = probe(&producer, timeout).await;
        }
        match result {
            Ok(Ok(())) => {
                ever_connected = true;
                status.set(&connector_id, ConnectorState::Connected, "");
            }
            Ok(Err(error)) => {
                let state = if ever_connected {
                    ConnectorState::Connecting
                } else {
                    ConnectorState::Disconnected
                };
                tracing::warn!(connector = %connector_id, %error, "kafka health check failed");
                status.set(&connector_id, state, error.to_string());
            }
            Err(_) => {}
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
    status.remove(&connector_id);
}

async fn probe(
    producer: &FutureProducer,
    timeout: Duration,
) -> Result<Result<(), rdkafka::error::KafkaError>, tokio::task::JoinError> {
    let producer = producer.clone();
    tokio::task::spawn_blocking(move || producer.client().fetch_metadata(None, timeout).map(|_| ()))
        .await
}
