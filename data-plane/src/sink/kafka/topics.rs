//! Which topics exist and how many partitions they have, from cached metadata.
//!
//! librdkafka keeps a record for an unknown topic queued for `message.timeout.ms` before failing
//! it; checking first fails such a message at once. Known topics (and their partition counts) are
//! trusted until the partition refresh interval passes; missing ones are re-checked after the
//! minimum metadata refresh interval (someone may create them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::Producer;

use super::client::SinkProducer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicState {
    Exists,
    Missing,
    /// Metadata could not be fetched (broker unreachable): let librdkafka queue and retry.
    Unknown,
}

#[derive(Clone)]
pub struct TopicCache {
    producer: SinkProducer,
    /// Looked up for every record: foldhash (seeded per process) rather than SipHash.
    entries: Arc<Mutex<HashMap<String, Cached, foldhash::fast::RandomState>>>,
    exists_ttl: Duration,
    missing_ttl: Duration,
    request_timeout: Duration,
}

/// What is known of a topic. `partitions` is set when it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicInfo {
    pub state: TopicState,
    pub partitions: Option<i32>,
}

#[derive(Debug, Clone, Copy)]
struct Cached {
    info: TopicInfo,
    at: Instant,
}

impl std::fmt::Debug for TopicCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicCache").finish_non_exhaustive()
    }
}

impl TopicCache {
    pub fn new(
        producer: SinkProducer,
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

    pub async fn info(&self, topic: &str) -> TopicInfo {
        self.info_at(topic, Instant::now()).await
    }

    /// [`info`](Self::info), with the clock already read by the caller.
    pub async fn info_at(&self, topic: &str, now: Instant) -> TopicInfo {
        if let Some(info) = self.cached(topic, now) {
            return info;
        }
        let producer = self.producer.clone();
        let name = topic.to_owned();
        let timeout = self.request_timeout;
        // fetch_metadata blocks the calling thread on a broker round trip.
        let info = tokio::task::spawn_blocking(move || lookup(&producer, &name, timeout))
            .await
            .unwrap_or(UNKNOWN);
        if info.state != TopicState::Unknown {
            self.entries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(
                    topic.to_owned(),
                    Cached {
                        info,
                        at: Instant::now(),
                    },
                );
        }
        info
    }

    /// Forgets a topic, e.g. after the broker said it does not exist while the cache thought it did.
    pub fn forget(&self, topic: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(topic);
    }

    fn cached(&self, topic: &str, now: Instant) -> Option<TopicInfo> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let cached = entries.get(topic)?;
        let ttl = match cached.info.state {
            TopicState::Exists => self.exists_ttl,
            _ => self.missing_ttl,
        };
        (now.saturating_duration_since(cached.at) < ttl).then_some(cached.info)
    }
}

const UNKNOWN: TopicInfo = TopicInfo {
    state: TopicState::Unknown,
    partitions: None,
};

const MISSING: TopicInfo = TopicInfo {
    state: TopicState::Missing,
    partitions: None,
};

fn lookup(producer: &SinkProducer, topic: &str, timeout: Duration) -> TopicInfo {
    let metadata = match producer
        .current()
        .client()
        .fetch_metadata(Some(topic), timeout)
    {
        Ok(metadata) => metadata,
        Err(_) => return UNKNOWN,
    };
    let Some(entry) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return MISSING;
    };
    let partitions = entry.partitions().len();
    match entry.error().map(RDKafkaErrorCode::from) {
        None if partitions > 0 => TopicInfo {
            state: TopicState::Exists,
            partitions: i32::try_from(partitions).ok(),
        },
        None
        | Some(
            RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::UnknownTopic
            | RDKafkaErrorCode::InvalidTopic,
        ) => MISSING,
        Some(_) => UNKNOWN,
    }
}
