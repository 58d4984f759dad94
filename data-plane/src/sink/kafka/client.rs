//! The producer client of a `kafka_producer` action, what it says about its connections, and its
//! replacement after a fatal error.
//!
//! librdkafka tells why a broker connection failed ("SASL authentication error: …", "SSL handshake
//! failed: …") only through its error events; a failed metadata request just says it timed out.
//! The context keeps the last of those reasons for the connector status.
//!
//! An idempotent producer can hit a fatal error: its sequence numbers out of step with the
//! broker's, typically after a broker stalled for longer than `message.timeout.ms` with requests
//! in flight. librdkafka then refuses every record for good, and the client must be replaced.
//! [`SinkProducer`] does that in place the first time a record is refused so (or the health check
//! finds it), so that every action, buffer pump and retry holding it produces through the new
//! client from then on. A `sync` record in flight at that moment fails, is produced again through
//! the new client and only then acknowledged: at least once, as with any retry.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ThreadedProducer};
use tributary_connect::record::RenderedRecord;

use super::report::{DeliveryFuture, Report};

/// The librdkafka client under a [`SinkProducer`]: its delivery thread hands each record's
/// report to the record's [`Report`].
pub type Client = Arc<ThreadedProducer<ProducerContext>>;

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

    fn set_last_error(&self, reason: String) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(reason);
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

impl rdkafka::producer::ProducerContext for ProducerContext {
    type DeliveryOpaque = Box<Report>;

    fn delivery(&self, result: &DeliveryResult<'_>, report: Box<Report>) {
        report.deliver(result);
    }
}

/// The producer every part of the sink shares (clones share one client), replaced in place after
/// a fatal error.
#[derive(Clone)]
pub struct SinkProducer {
    shared: Arc<Replaceable>,
}

struct Replaceable {
    /// Secrets included: never logged.
    config: ClientConfig,
    context: ProducerContext,
    /// Read once per record: uncontended, a read lock costs two atomic operations.
    current: RwLock<Client>,
}

impl std::fmt::Debug for SinkProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkProducer").finish_non_exhaustive()
    }
}

impl SinkProducer {
    pub fn create(config: ClientConfig, context: ProducerContext) -> KafkaResult<Self> {
        let client = Arc::new(config.create_with_context(context.clone())?);
        Ok(Self {
            shared: Arc::new(Replaceable {
                config,
                context,
                current: RwLock::new(client),
            }),
        })
    }

    /// The client in use now, for requests other than producing (metadata).
    pub fn current(&self) -> Client {
        self.shared
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Hands a record to librdkafka without waiting, its delivery report to go to `report`;
    /// `partition` `None` lets librdkafka's partitioner choose. A refusal returns the report, and
    /// a refusal for a fatal error replaces the client first, so that the caller's next attempt
    /// can succeed.
    pub fn produce(
        &self,
        record: &RenderedRecord,
        partition: Option<i32>,
        report: Box<Report>,
    ) -> Result<(), (KafkaError, Box<Report>)> {
        let mut base = BaseRecord::<str, str, Box<Report>>::with_opaque_to(&record.topic, report)
            .payload(&record.value);
        // librdkafka allocates a header list even for none: only records with headers get one.
        if !record.headers.is_empty() {
            let headers = record
                .headers
                .iter()
                .fold(OwnedHeaders::new(), |h, (k, v)| {
                    h.insert(Header {
                        key: k,
                        value: Some(v.as_bytes()),
                    })
                });
            base = base.headers(headers);
        }
        if let Some(key) = &record.key {
            base = base.key(key);
        }
        if let Some(timestamp) = record.timestamp {
            base = base.timestamp(timestamp);
        }
        if let Some(partition) = partition {
            base = base.partition(partition);
        }
        let sent = self
            .shared
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .send(base)
            .map_err(|(error, base)| (error, base.delivery_opaque));
        if let Err((error, _)) = &sent
            && error.rdkafka_error_code() == Some(RDKafkaErrorCode::Fatal)
        {
            self.replace_if_fatal();
        }
        sent
    }

    /// [`produce`](Self::produce)s the record with a report to await.
    pub fn produce_awaited(
        &self,
        record: &RenderedRecord,
        partition: Option<i32>,
    ) -> Result<DeliveryFuture, KafkaError> {
        let (report, delivery) = Report::awaited();
        self.produce(record, partition, report)
            .map(|()| delivery)
            .map_err(|(error, _)| error)
    }

    /// Replaces the client if it had a fatal error. Callers that saw the same fatal error at once
    /// replace it only once: the second finds a healthy client.
    pub fn replace_if_fatal(&self) {
        // Asked every health check: a healthy client is seen under the read lock, without
        // holding up the records being produced meanwhile.
        if self.current().client().fatal_error().is_none() {
            return;
        }
        let mut current = self
            .shared
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some((code, reason)) = current.client().fatal_error() else {
            return;
        };
        let replacement = match self
            .shared
            .config
            .create_with_context(self.shared.context.clone())
        {
            Ok(client) => Arc::new(client),
            Err(error) => {
                // The configuration was accepted once, so this is librdkafka out of resources;
                // the next refused record or health check tries again.
                tracing::error!(%error, "could not replace a Kafka producer client after a fatal error");
                return;
            }
        };
        let failed = std::mem::replace(&mut *current, replacement);
        drop(current);
        tracing::error!(
            error = ?code,
            %reason,
            "Kafka producer client had a fatal error; replaced it with a new one, its records are produced again"
        );
        self.shared
            .context
            .set_last_error(format!("fatal error, client replaced: {reason}"));
        // Closing it purges what it still holds (their deliveries fail, and `sync` records are
        // produced again) and joins its threads: not on the caller's, which may be a runtime's.
        std::thread::spawn(move || drop(failed));
    }
}
