//! The consumer's librdkafka context: where offsets are stored as deliveries finish, and what
//! happens on rebalances. All of it runs on the consumer thread (inside `poll`), so blocking
//! here (bounded) never blocks the async runtime.
//!
//! On revocation the records still in flight for the revoked partitions get a bounded time to
//! finish; what finished is committed synchronously before the partitions move, the rest is left
//! uncommitted (the next owner reads it again: duplicates, no gaps).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::{Offset, TopicPartitionList};

use super::lag;
use crate::source::offsets::{OffsetTracker, Ticket, TopicPartition};
use crate::telemetry::{ConnectorState, ResourceMetrics, StatusBoard};

pub struct SourceContext {
    progress: Mutex<Progress>,
    /// Tickets of records whose delivery finished, from the dispatcher.
    finished: Mutex<Receiver<Ticket>>,
    /// How long a revocation waits for in-flight records of the revoked partitions.
    revoke_drain: Duration,
    /// Set once the consumer is closing: revocations then wait no more.
    closing: AtomicBool,
    assignment_changed: AtomicBool,
    metrics: Arc<ResourceMetrics>,
    status: StatusBoard,
    /// `kafka_consumer:<connector name>`
    status_id: String,
    source: String,
}

#[derive(Debug, Default)]
struct Progress {
    tracker: OffsetTracker,
    /// Records handed to the dispatcher and not reported finished, stale ones included.
    outstanding: usize,
}

impl std::fmt::Debug for SourceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceContext")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

pub type SourceConsumer = BaseConsumer<SourceContext>;

impl SourceContext {
    pub fn new(
        source: &str,
        finished: Receiver<Ticket>,
        revoke_drain: Duration,
        metrics: Arc<ResourceMetrics>,
        status: StatusBoard,
        status_id: String,
    ) -> Self {
        Self {
            progress: Mutex::default(),
            finished: Mutex::new(finished),
            revoke_drain,
            closing: AtomicBool::new(false),
            assignment_changed: AtomicBool::new(false),
            metrics,
            status,
            status_id,
            source: source.to_owned(),
        }
    }

    /// Registers a record about to be handed to the dispatcher.
    pub fn track(&self, partition: &TopicPartition, offset: i64) -> Ticket {
        let mut progress = self.progress();
        progress.outstanding += 1;
        progress.tracker.track(partition, offset)
    }

    pub fn outstanding(&self) -> usize {
        self.progress().outstanding
    }

    /// Applies finished deliveries and stores the offsets that moved. With a deadline, first
    /// waits (until then) for at least one.
    pub fn absorb(&self, consumer: &SourceConsumer, wait_until: Option<Instant>) {
        let mut tickets = Vec::new();
        {
            let finished = self.finished.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(deadline) = wait_until {
                let timeout = deadline.saturating_duration_since(Instant::now());
                match finished.recv_timeout(timeout) {
                    Ok(ticket) => tickets.push(ticket),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
                }
            }
            tickets.extend(finished.try_iter());
        }
        if tickets.is_empty() {
            return;
        }
        let commits = {
            let mut progress = self.progress();
            progress.outstanding = progress.outstanding.saturating_sub(tickets.len());
            for ticket in &tickets {
                progress.tracker.complete(ticket);
            }
            progress.tracker.take_commits()
        };
        store(consumer, &commits);
    }

    /// Waits (bounded) for the in-flight records of `partitions`, then commits synchronously
    /// what they finished. Returns how many were left unfinished.
    pub fn settle(
        &self,
        consumer: &SourceConsumer,
        partitions: &[TopicPartition],
        wait: Duration,
    ) -> usize {
        let deadline = Instant::now() + wait;
        loop {
            self.absorb(consumer, None);
            let unfinished = self.unfinished(partitions);
            if unfinished == 0 || Instant::now() >= deadline {
                break;
            }
            self.absorb(consumer, Some(deadline));
        }
        let (commits, unfinished) = {
            let progress = self.progress();
            let commits: Vec<_> = partitions
                .iter()
                .filter_map(|tp| Some((tp.clone(), progress.tracker.commit_point(tp)?)))
                .collect();
            (commits, self.unfinished_locked(&progress, partitions))
        };
        if !commits.is_empty() {
            let list = partition_list(&commits);
            if let Err(error) = consumer.commit(&list, CommitMode::Sync) {
                tracing::warn!(source = %self.source, %error, "committing offsets failed; the records will be read again");
            }
        }
        unfinished
    }

    /// Whether an assignment arrived since the last call (flow control re-applies a pause).
    pub fn take_assignment_changed(&self) -> bool {
        self.assignment_changed.swap(false, Ordering::Relaxed)
    }

    pub fn set_closing(&self) {
        self.closing.store(true, Ordering::Relaxed);
    }

    fn unfinished(&self, partitions: &[TopicPartition]) -> usize {
        let progress = self.progress();
        self.unfinished_locked(&progress, partitions)
    }

    fn unfinished_locked(&self, progress: &Progress, partitions: &[TopicPartition]) -> usize {
        partitions
            .iter()
            .map(|tp| progress.tracker.unfinished(tp))
            .sum()
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn on_revoke(&self, consumer: &SourceConsumer, list: &TopicPartitionList) {
        let revoked = partitions_of(list);
        let wait = if self.closing.load(Ordering::Relaxed) {
            Duration::ZERO
        } else {
            self.revoke_drain
        };
        let left_unfinished = self.settle(consumer, &revoked, wait);
        let mut progress = self.progress();
        for tp in &revoked {
            progress.tracker.forget(tp);
            self.metrics
                .set_gauge(lag::lag_gauge(&tp.topic, tp.partition), 0.0);
        }
        drop(progress);
        tracing::info!(
            source = %self.source,
            partitions = ?names(&revoked),
            left_unfinished,
            "partitions revoked"
        );
    }
}

impl ClientContext for SourceContext {
    fn stats(&self, statistics: Statistics) {
        lag::report_lags(&statistics, &self.metrics);
        let (state, reason) = lag::connector_state(&statistics);
        self.status.set(&self.status_id, state, reason);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(source = %self.source, %error, reason, "Kafka client error");
        if matches!(
            error.rdkafka_error_code(),
            Some(rdkafka::types::RDKafkaErrorCode::AllBrokersDown)
        ) {
            self.status.set(
                &self.status_id,
                ConnectorState::Connecting,
                "all Kafka brokers are down",
            );
        }
    }
}

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, consumer: &SourceConsumer, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(list) => self.on_revoke(consumer, list),
            Rebalance::Assign(_) => {}
            Rebalance::Error(error) => {
                tracing::warn!(source = %self.source, %error, "consumer group rebalance failed");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &SourceConsumer, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            self.assignment_changed.store(true, Ordering::Relaxed);
            self.status
                .set(&self.status_id, ConnectorState::Connected, "");
            tracing::info!(source = %self.source, partitions = ?names(&partitions_of(list)), "partitions assigned");
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        match result {
            Ok(())
            | Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => {
                tracing::warn!(source = %self.source, %error, "offset commit failed; it is retried at the next interval");
            }
        }
    }
}

/// Stores the next offsets to consume; librdkafka commits them at the commit interval.
fn store(consumer: &SourceConsumer, commits: &[(TopicPartition, i64)]) {
    if commits.is_empty() {
        return;
    }
    if let Err(error) = consumer.store_offsets(&partition_list(commits)) {
        // A partition revoked meanwhile refuses the store; its records are read again.
        tracing::debug!(%error, "storing offsets failed");
    }
}

fn partition_list(commits: &[(TopicPartition, i64)]) -> TopicPartitionList {
    let mut list = TopicPartitionList::with_capacity(commits.len());
    for (tp, offset) in commits {
        // Only fails for an invalid offset value, which a commit point never is.
        let _ = list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset));
    }
    list
}

fn partitions_of(list: &TopicPartitionList) -> Vec<TopicPartition> {
    list.elements()
        .iter()
        .map(|element| TopicPartition::new(element.topic(), element.partition()))
        .collect()
}

fn names(partitions: &[TopicPartition]) -> Vec<String> {
    partitions
        .iter()
        .map(|tp| format!("{}/{}", tp.topic, tp.partition))
        .collect()
}
