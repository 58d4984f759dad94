//! The producer client of a `kafka_producer` action, and what it says about its connections.
//!
//! librdkafka tells why a broker connection failed ("SASL authentication error: …", "SSL handshake
//! failed: …") only through its error events; a failed metadata request just says it timed out.
//! The context keeps the last of those reasons for the connector status.

use std::sync::{Arc, Mutex, PoisonError};

use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureProducer;

/// The producer every part of the sink shares.
pub type SinkProducer = FutureProducer<ProducerContext>;

#[derive(Debug, Default, Clone)]
pub struct ProducerContext {
    last_error: Arc<Mutex<Option<String>>>,
}

impl ProducerContext {
    /// The last connection error librdkafka reported since the previous call.
    pub fn take_last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl ClientContext for ProducerContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "Kafka producer client error");
        let mut last = self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // "n/n brokers are down" follows the error that says why; keep that one.
        let generic = error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown);
        if !generic || last.is_none() {
            *last = Some(reason.to_owned());
        }
    }
}
