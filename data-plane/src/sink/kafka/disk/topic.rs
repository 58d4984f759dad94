//! The partition count of a disk action's topic, kept fresh in the background.
//!
//! A record's partition is chosen before it is written (each partition has its own log), and
//! Kafka may be unreachable for hours while records keep arriving: asking the broker per record
//! would make every message wait for a metadata timeout. A disk action's topic is static (the
//! control plane refuses a template), so one task asks for it, every second while the answer is
//! unknown and at the cache's pace after that.

use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::sink::kafka::topics::{TopicCache, TopicInfo, TopicState};

/// How often an unknown topic is asked for again.
const UNKNOWN_RETRY: Duration = Duration::from_secs(1);
/// How often a known topic is looked at (the cache answers without a request until its refresh
/// interval passed).
const KNOWN_RECHECK: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct TopicWatch {
    latest: watch::Receiver<Option<TopicInfo>>,
}

impl TopicWatch {
    /// Starts watching `topic` until `stop`.
    pub fn start(topics: TopicCache, topic: String, stop: CancellationToken) -> Self {
        let (sender, latest) = watch::channel(None);
        tokio::spawn(async move {
            // The last known partition count stays in use while the broker cannot be asked.
            let mut known: Option<TopicInfo> = None;
            loop {
                let info = topics.info(&topic).await;
                let next = match (info.state, known) {
                    (TopicState::Unknown, Some(known)) => known,
                    _ => info,
                };
                if info.state != TopicState::Unknown {
                    known = Some(info);
                }
                sender.send_replace(Some(next));
                let wait = if info.state == TopicState::Exists {
                    KNOWN_RECHECK
                } else {
                    UNKNOWN_RETRY
                };
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        });
        Self { latest }
    }

    /// What is known of the topic; waits for the first answer (at most the metadata request
    /// timeout, once per action start).
    pub async fn info(&self) -> TopicInfo {
        if let Some(info) = *self.latest.borrow() {
            return info;
        }
        let mut latest = self.latest.clone();
        match latest.wait_for(Option::is_some).await {
            Ok(info) => info.unwrap_or(UNKNOWN),
            Err(_) => UNKNOWN,
        }
    }
}

const UNKNOWN: TopicInfo = TopicInfo {
    state: TopicState::Unknown,
    partitions: None,
};
