//! The producer connector's status, from periodic metadata requests.
//!
//! Once connected, a failing producer reports `connecting` (as EMQX does): its buffer is still
//! there and will be delivered when the cluster comes back. A refused authentication is
//! `disconnected` whenever it happens (`ConnectorState::unreachable`), with librdkafka's reason.

use std::time::Duration;

use rdkafka::producer::Producer;

use super::client::{ProducerContext, SinkProducer};
use tokio_util::sync::CancellationToken;
use tributary_protocol::resources::KafkaConnectorConfig;

use crate::telemetry::{ConnectorState, StatusBoard};

pub async fn watch_connector(
    producer: SinkProducer,
    // The producer's own context, kept aside: librdkafka's wrapper does not hand it out.
    context: ProducerContext,
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
        // A client that had a fatal error answers metadata requests but produces nothing: the
        // check replaces it even while no record is being produced to notice.
        producer.replace_if_fatal();
        // A broker may close an idle connection just as the probe uses it (librdkafka then
        // reports a transport failure and reconnects): one failure alone is not an outage.
        let mut result = probe(&producer, timeout).await;
        if matches!(result, Ok(Err(_))) {
            result = probe(&producer, timeout).await;
        }
        match result {
            Ok(Ok(())) => {
                ever_connected = true;
                // What failed before this success is over.
                context.take_last_error();
                status.set(&connector_id, ConnectorState::Connected, "");
            }
            Ok(Err(error)) => {
                // The client's own reason ("SASL authentication error: …") says more than the
                // failed metadata request ("Local: Broker transport failure").
                let reason = context
                    .take_last_error()
                    .map_or_else(|| error.to_string(), |why| format!("{error}: {why}"));
                let state = ConnectorState::unreachable(ever_connected, &reason);
                tracing::warn!(connector = %connector_id, %reason, "kafka health check failed");
                status.set(&connector_id, state, reason);
            }
            Err(_) => {}
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

async fn probe(
    producer: &SinkProducer,
    timeout: Duration,
) -> Result<Result<(), rdkafka::error::KafkaError>, tokio::task::JoinError> {
    let client = producer.current();
    tokio::task::spawn_blocking(move || client.client().fetch_metadata(None, timeout).map(|_| ()))
        .await
}
