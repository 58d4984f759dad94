//! Which topics exist, from cached metadata.
//!
//! librdkafka keeps a record for an unknown topic queued for `message.timeout.ms` before failing
//! it; checking first fails such a message at once. Known topics are trusted until the partition
//! refresh interval passes; unknown ones are re-checked after the minimum metadata refresh
//! interval (someone may create them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, Producer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicState {
    Exists,
    Missing,
    /// Metadata could not be fetched (broker unreachable): let librdkafka queue and retry.
    Unknown,
}

#[derive(Clone)]
pub struct TopicCache {
    producer: FutureProducer,
    entries: Arc<Mutex<HashMap<String, (TopicState, Instant)>>>,
    exists_ttl: Duration,
    missing_ttl: Duration,
    request_timeout: Duration,
}

impl std::fmt::Debug for TopicCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicCache").finish_non_exhaustive()
    }
}

impl TopicCache {
    pub fn new(
        producer: FutureProducer,
        exists_ttl: Duration,
        missing_ttl: Duration,
        request_timeout: Duration,
    ) -> Self {
        Self {
            producer,
            entries: Arc::default(),
            exists_ttl,
            missing_ttl,
            request_timeout,
        }
    }

    pub async fn state(&self, topic: &str) -> TopicState {
        if let Some(state) = self.cached(topic) {
            return state;
        }
        let producer = self.producer.clone();
        let name = topic.to_owned();
        let timeout = self.request_timeout;
        // fetch_metadata blocks the calling thread on a broker round trip.
        let state = tokio::task::spawn_blocking(move || lookup(&producer, &name, timeout))
            .await
            .unwrap_or(TopicState::Unknown);
        if state != TopicState::Unknown {
            self.entries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(topic.to_owned(), (state, Instant::now()));
        }
        state
    }

    /// Forgets a topic, e.g. after the broker said it does not exist while the cache thought it did.
    pub fn forget(&self, topic: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(topic);
    }

    fn cached(&self, topic: &str) -> Option<TopicState> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (state, at) = entries.get(topic)?;
        let ttl = match state {
            TopicState::Exists => self.exists_ttl,
            _ => self.missing_ttl,
        };
        (at.elapsed() < ttl).then_some(*state)
    }
}

fn lookup(producer: &FutureProducer, topic: &str, timeout: Duration) -> TopicState {
    let metadata = match producer.client().fetch_metadata(Some(topic), timeout) {
        Ok(metadata) => metadata,
        Err(_) => return TopicState::Unknown,
    };
    let Some(entry) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return TopicState::Missing;
    };
    match entry.error().map(RDKafkaErrorCode::from) {
        None if !entry.partitions().is_empty() => TopicState::Exists,
        None
        | Some(
            RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::UnknownTopic
            | RDKafkaErrorCode::InvalidTopic,
        ) => TopicState::Missing,
        Some(_) => TopicState::Unknown,
    }
}
