//! The consumer's librdkafka context: where offsets are stored as deliveries finish, and what
//! happens on rebalances. All of it runs on the consumer thread (inside `poll`), so blocking
//! here (bounded) never blocks the async runtime.
//!
//! On assignment every assigned partition's records are split off into a queue of its own
//! ([`super::queues`]), before librdkafka starts fetching them: the consumer thread then reads
//! records only while it has room, and keeps polling the main queue for rebalances and
//! statistics whatever it holds.
//!
//! On revocation the records still in flight for the revoked partitions get a bounded time to
//! finish; what finished is committed synchronously before the partitions move, the rest is left
//! uncommitted (the next owner reads it again: duplicates, no gaps).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::lag;
use super::queues::SplitQueue;
use super::wakeup::{Waker, Wakeup};
use crate::source::offsets::{OffsetTracker, Ticket, TopicPartition};
use crate::telemetry::{ConnectorState, ResourceMetrics, StatusBoard};

pub struct SourceContext {
    progress: Mutex<Progress>,
    /// Finished records (from the dispatcher) and readable queues (from librdkafka).
    wakeups: Mutex<Receiver<Wakeup>>,
    /// Given to the queues split off at assignment, as their non-empty callback.
    waker: Waker,
    /// The consumer this context belongs to, to split queues off at assignment. Weak: the
    /// consumer owns its context.
    consumer: OnceLock<Weak<SourceConsumer>>,
    /// Queues split off at the last assignments, for the consumer thread to take. They hold the
    /// consumer alive, so the thread takes them at once and drops them before it closes.
    split: Mutex<Vec<SplitQueue>>,
    /// How long a revocation waits for in-flight records of the revoked partitions.
    revoke_drain: Duration,
    /// Set once the consumer is closing: revocations then wait no more.
    closing: AtomicBool,
    assignment_changed: AtomicBool,
    /// Main-queue events served through this context's callbacks (see [`Self::served`]).
    served: AtomicU64,
    connection: Mutex<Connection>,
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

/// What the connector status is derived from.
#[derive(Debug, Default)]
struct Connection {
    /// Once a broker connection was up, losing it is `connecting` (librdkafka keeps retrying);
    /// before that it is `disconnected`, with the reason, as the producer reports it.
    ever_connected: bool,
    /// librdkafka's description of the last connection error.
    last_error: Option<String>,
}

impl std::fmt::Debug for SourceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceContext")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

pub type SourceConsumer = BaseConsumer<SourceContext>;

/// Where a context reports.
#[derive(Debug)]
pub struct ContextSettings {
    pub source: String,
    pub revoke_drain: Duration,
    pub metrics: Arc<ResourceMetrics>,
    pub status: StatusBoard,
    /// `kafka_consumer:<connector name>`
    pub status_id: String,
}

impl SourceContext {
    pub fn new(settings: ContextSettings, wakeups: Receiver<Wakeup>, waker: Waker) -> Self {
        Self {
            progress: Mutex::default(),
            wakeups: Mutex::new(wakeups),
            waker,
            consumer: OnceLock::new(),
            split: Mutex::default(),
            revoke_drain: settings.revoke_drain,
            closing: AtomicBool::new(false),
            assignment_changed: AtomicBool::new(false),
            served: AtomicU64::new(0),
            connection: Mutex::default(),
            metrics: settings.metrics,
            status: settings.status,
            status_id: settings.status_id,
            source: settings.source,
        }
    }

    /// Tells the context its consumer, before the consumer subscribes.
    pub fn attach(&self, consumer: &Arc<SourceConsumer>) {
        let _ = self.consumer.set(Arc::downgrade(consumer));
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
    /// waits (until then) for a wakeup of any kind.
    pub fn absorb(&self, consumer: &SourceConsumer, wait_until: Option<Instant>) {
        let mut tickets = Vec::new();
        {
            let wakeups = self.wakeups.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(deadline) = wait_until {
                let timeout = deadline.saturating_duration_since(Instant::now());
                match wakeups.recv_timeout(timeout) {
                    Ok(Wakeup::Finished(finished)) => tickets.extend(finished),
                    Ok(Wakeup::Readable)
                    | Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
                }
            }
            for wakeup in wakeups.try_iter() {
                if let Wakeup::Finished(finished) = wakeup {
                    tickets.extend(finished);
                }
            }
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

    /// Whether the assignment changed since the last call.
    pub fn take_assignment_changed(&self) -> bool {
        self.assignment_changed.swap(false, Ordering::Relaxed)
    }

    /// How many main-queue events (rebalances, statistics, logs, errors, commits) were served.
    /// `poll` reports a served event the same way as an empty queue; this tells them apart.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    fn count_served(&self) {
        self.served.fetch_add(1, Ordering::Relaxed);
    }

    /// The queues split off since the last call.
    pub fn take_split_queues(&self) -> Vec<SplitQueue> {
        std::mem::take(&mut *self.split.lock().unwrap_or_else(PoisonError::into_inner))
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

    fn connection(&self) -> MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Splits the records of newly assigned partitions off into queues of their own. Runs before
    /// the assignment takes effect, so no record of theirs reaches the main queue first.
    fn on_assign(&self, list: &TopicPartitionList) {
        let Some(consumer) = self.consumer.get().and_then(Weak::upgrade) else {
            return;
        };
        let mut queues = Vec::new();
        for tp in partitions_of(list) {
            match SplitQueue::split(&consumer, tp, &self.waker) {
                Some(queue) => queues.push(queue),
                None => tracing::warn!(
                    source = %self.source,
                    "a partition's queue could not be split off; its records are read outside the max_inflight bound"
                ),
            }
        }
        self.split
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(queues);
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
                .set_gauge(&lag::lag_gauge(&tp.topic, tp.partition), 0.0);
        }
        drop(progress);
        tracing::info!(
            source = %self.source,
            partitions = ?names(&revoked),
            left_unfinished,
            "partitions revoked"
        );
    }

    /// The offset of the oldest record of `topic`/`partition` read and not yet delivered.
    fn first_unfinished(&self, topic: &str, partition: i32) -> Option<i64> {
        self.progress()
            .tracker
            .first_unfinished(&TopicPartition::new(topic, partition))
    }
}

impl ClientContext for SourceContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.count_served();
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(source = %self.source, facility, message, "librdkafka");
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(source = %self.source, facility, message, "librdkafka");
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(source = %self.source, facility, message, "librdkafka");
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(source = %self.source, facility, message, "librdkafka");
            }
        }
    }

    fn stats(&self, statistics: Statistics) {
        self.count_served();
        lag::report_lags(&statistics, &self.metrics, |topic, partition| {
            self.first_unfinished(topic, partition)
        });
        let mut connection = self.connection();
        let (state, reason) = if lag::any_broker_up(&statistics) {
            connection.ever_connected = true;
            connection.last_error = None;
            (ConnectorState::Connected, String::new())
        } else {
            let reason = connection
                .last_error
                .clone()
                .unwrap_or_else(|| "no connection to any Kafka broker is up".to_owned());
            (
                ConnectorState::unreachable(connection.ever_connected, &reason),
                reason,
            )
        };
        drop(connection);
        self.status.set(&self.status_id, state, reason);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.count_served();
        tracing::warn!(source = %self.source, %error, reason, "Kafka client error");
        if !is_connection_error(&error) {
            return;
        }
        let mut connection = self.connection();
        // "n/n brokers are down" follows the error that says why; keep that one.
        let generic = error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown);
        if !generic || connection.last_error.is_none() {
            connection.last_error = Some(reason.to_owned());
        }
        let reason = connection.last_error.clone().unwrap_or_default();
        let state = ConnectorState::unreachable(connection.ever_connected, &reason);
        drop(connection);
        // The next statistics (or an assignment) report `connected` again once a broker is up.
        self.status.set(&self.status_id, state, reason);
    }
}

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, consumer: &SourceConsumer, rebalance: &Rebalance<'_>) {
        self.count_served();
        match rebalance {
            Rebalance::Revoke(list) => self.on_revoke(consumer, list),
            Rebalance::Assign(list) => self.on_assign(list),
            Rebalance::Error(error) => {
                tracing::warn!(source = %self.source, %error, "consumer group rebalance failed");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &SourceConsumer, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                self.assignment_changed.store(true, Ordering::Relaxed);
                let mut connection = self.connection();
                connection.ever_connected = true;
                connection.last_error = None;
                drop(connection);
                self.status
                    .set(&self.status_id, ConnectorState::Connected, "");
                tracing::info!(source = %self.source, partitions = ?names(&partitions_of(list)), "partitions assigned");
            }
            Rebalance::Revoke(_) => self.assignment_changed.store(true, Ordering::Relaxed),
            Rebalance::Error(_) => {}
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        self.count_served();
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => {
                tracing::warn!(source = %self.source, %error, "offset commit failed; it is retried at the next interval");
            }
        }
    }
}

/// Errors that say the brokers cannot be reached (or refuse us), as opposed to errors of one
/// request.
fn is_connection_error(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::Resolve
                | RDKafkaErrorCode::Authentication
                | RDKafkaErrorCode::SaslAuthenticationFailed
                | RDKafkaErrorCode::SSL
        )
    )
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

pub fn partitions_of(list: &TopicPartitionList) -> Vec<TopicPartition> {
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
