//! The disk log of one action: a thread that owns its partition logs and does every file
//! operation, so the async runtime never blocks on a write or an fsync and no lock guards a file.
//!
//! The thread takes whatever commands have queued up and handles them as one batch: every append
//! of the batch is written, each touched segment is synced once, and only then are the appends
//! answered. That is the group commit: under load one `fdatasync` makes hundreds of MQTT messages
//! durable, and a lone message waits for one sync only. Reads for the pump and its settlements
//! come through the same queue, after the batch's appends.
//!
//! A write that fails (a full disk, an I/O error, the test budget) is undone and tried again
//! every second, with everything that came after it waiting behind it in order: the appends stay
//! unanswered, the MQTT messages unacknowledged, and the broker holds the backlog. Nothing is
//! dropped for it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot};

use super::partition::{PartitionLog, Recovery, Stored};
use crate::telemetry::ResourceMetrics;
use crate::telemetry::metrics::CounterHandle;

/// A topic and partition; `None` while the partition count was unknown (librdkafka partitions
/// those records when it sends them).
pub type PartitionId = (Arc<str>, Option<i32>);

/// How often `done` positions are written while they move.
const PERSIST_INTERVAL: Duration = Duration::from_millis(200);
/// How often a failed write is tried again.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// The most commands handled as one batch.
const MAX_BATCH: usize = 20_000;

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub dir: PathBuf,
    pub segment_bytes: u64,
    pub per_partition_limit: u64,
    /// The most bytes the action's segment files may hold altogether: past it appends wait as on
    /// a full disk. `None`: as much as the disk holds.
    pub max_bytes: Option<u64>,
    /// `disk`: appends are synced before they are answered. `hybrid`: they are not (written to
    /// the page cache, which outlives the process but not the machine).
    pub durable: bool,
    /// `hybrid`: the bytes of records each partition keeps in memory before it spills to its
    /// segment files (see `memory.rs`); 0 for `disk`.
    pub memory_limit: u64,
}

/// Counts the thread keeps for the gauges and the sink.
#[derive(Debug, Default)]
pub struct LogStats {
    pub unsent_records: AtomicU64,
    pub unsent_bytes: AtomicU64,
    pub disk_bytes: AtomicU64,
    /// `hybrid`: records and bytes kept in memory only, which a crash would lose.
    pub memory_records: AtomicU64,
    pub memory_bytes: AtomicU64,
    pub full: AtomicBool,
    /// Why appends wait, while they do.
    pub full_reason: Mutex<Option<String>>,
    /// Every partition has nothing left to send or settle.
    pub settled: AtomicBool,
}

impl LogStats {
    pub fn full_reason(&self) -> Option<String> {
        self.full_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(Debug)]
pub enum Command {
    Append {
        partition: PartitionId,
        frame: Vec<u8>,
        durable: oneshot::Sender<()>,
    },
    /// Up to `max_bytes` of records not yet handed over, from any partitions.
    Read {
        max_bytes: u64,
        reply: oneshot::Sender<Vec<(PartitionId, Stored)>>,
    },
    /// Every record of the partition before the position is settled (see
    /// [`PartitionLog::settled`]).
    Settled {
        partition: PartitionId,
        position: u64,
    },
}

/// The handle the sink and the pump hold; the thread ends when the last one is dropped.
#[derive(Debug, Clone)]
pub struct LogHandle {
    commands: Sender<Command>,
    pub stats: Arc<LogStats>,
    /// Signalled after appends became durable: the pump may have records to read.
    pub appended: Arc<Notify>,
}

impl LogHandle {
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }
}

/// Starts the thread of the log in `config.dir`. It first takes the directory's lock (waiting for
/// a log of the same directory that is closing), then opens and checks the files.
pub fn start(config: LogConfig, metrics: &Arc<ResourceMetrics>) -> io::Result<LogHandle> {
    let (commands, receiver) = mpsc::channel();
    let stats = Arc::new(LogStats::default());
    let appended = Arc::new(Notify::new());
    let handle = LogHandle {
        commands,
        stats: Arc::clone(&stats),
        appended: Arc::clone(&appended),
    };
    let counters = Counters::new(metrics);
    let name = format!("tributary-log-{}", metrics.id());
    std::thread::Builder::new()
        .name(name.chars().take(15).collect())
        .spawn(move || {
            let lock = match lock_dir(&config.dir, &stats) {
                Ok(lock) => lock,
                Err(error) => {
                    let reason = format!(
                        "cannot use the buffer directory {}: {error}",
                        config.dir.display()
                    );
                    tracing::error!(%reason, "disk buffer unavailable");
                    stats.full.store(true, Ordering::Relaxed);
                    *stats
                        .full_reason
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(reason);
                    // Appends stay unanswered: their messages stay at the MQTT broker.
                    let _kept: Vec<Command> = receiver.iter().collect();
                    return;
                }
            };
            let mut log = ActionLog::open(config, stats, appended, counters);
            log.run(&receiver);
            drop(lock);
        })?;
    Ok(handle)
}

/// Creates the directory and takes its lock file's exclusive lock, waiting while another log
/// holds it: this action's previous log closing (a restart of the flow), or another worker given
/// the same data directory, which the status then names.
fn lock_dir(dir: &Path, stats: &Arc<LogStats>) -> io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                // Every handle dropped (the action stopped meanwhile): nobody waits any more.
                if Arc::strong_count(stats) == 1 {
                    return Err(io::Error::other(
                        "the action stopped before its buffer opened",
                    ));
                }
                if started.elapsed() > Duration::from_secs(2) && !stats.full.load(Ordering::Relaxed)
                {
                    let reason = format!(
                        "the buffer directory {} is locked by another process (a second worker \
                         with the same data directory?); new messages stay unacknowledged until \
                         it is free",
                        dir.display()
                    );
                    tracing::warn!(%reason, "disk buffer waiting for its directory");
                    stats.full.store(true, Ordering::Relaxed);
                    *stats
                        .full_reason
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(reason);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(error),
        }
    }
    stats.full.store(false, Ordering::Relaxed);
    *stats
        .full_reason
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = None;
    Ok(file)
}

#[derive(Clone)]
struct Counters {
    dropped: CounterHandle,
    queue_full: CounterHandle,
    corrupt_tails: CounterHandle,
    corrupt_bytes: CounterHandle,
    recovered: CounterHandle,
    lost_in_memory: CounterHandle,
    write_failures: CounterHandle,
}

impl Counters {
    fn new(metrics: &ResourceMetrics) -> Self {
        Self {
            dropped: metrics.counter("dropped"),
            queue_full: metrics.counter("dropped.queue_full"),
            corrupt_tails: metrics.counter("buffer.corrupt_tails"),
            corrupt_bytes: metrics.counter("buffer.corrupt_bytes"),
            recovered: metrics.counter("buffer.recovered"),
            lost_in_memory: metrics.counter("buffer.lost_in_memory"),
            write_failures: metrics.counter("buffer.write_failures"),
        }
    }
}

struct ActionLog {
    config: LogConfig,
    partitions: BTreeMap<PartitionId, PartitionLog>,
    /// While some partition still has records from before this log was opened, only those are
    /// handed out: a restarted worker sends what it had before anything newer.
    backlog_first: bool,
    /// Appends whose write failed, oldest first, tried again before anything newer.
    stalled: Vec<Append>,
    stats: Arc<LogStats>,
    appended: Arc<Notify>,
    counters: Counters,
    next_read: usize,
    last_persist: Instant,
}

struct Append {
    partition: PartitionId,
    frame: Vec<u8>,
    durable: oneshot::Sender<()>,
}

impl ActionLog {
    fn open(
        config: LogConfig,
        stats: Arc<LogStats>,
        appended: Arc<Notify>,
        counters: Counters,
    ) -> Self {
        let mut log = Self {
            config,
            partitions: BTreeMap::new(),
            backlog_first: true,
            stalled: Vec::new(),
            stats,
            appended,
            counters,
            next_read: 0,
            last_persist: Instant::now(),
        };
        if let Err(error) = log.open_existing() {
            log.set_full(Some(format!(
                "cannot open the buffer directory {}: {error}",
                log.config.dir.display()
            )));
        }
        log.publish_stats();
        log.appended.notify_one();
        log
    }

    fn open_existing(&mut self) -> io::Result<()> {
        std::fs::create_dir_all(&self.config.dir)?;
        for entry in std::fs::read_dir(&self.config.dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = parse_dir_name(&name) else {
                continue;
            };
            let (mut partition, recovery) = PartitionLog::open(
                &entry.path(),
                Arc::clone(&id.0),
                self.config.segment_bytes,
                self.config.durable,
            )?;
            partition.set_memory_limit(self.config.memory_limit);
            self.count_recovery(&name, recovery);
            self.partitions.insert(id, partition);
        }
        Ok(())
    }

    fn count_recovery(&self, partition: &str, recovery: Recovery) {
        if recovery.records > 0 {
            tracing::info!(dir = %self.config.dir.display(), partition, records = recovery.records, "buffered records found on disk; they are sent first");
            self.counters.recovered.inc_by(recovery.records);
        }
        if recovery.lost_in_memory > 0 {
            tracing::warn!(dir = %self.config.dir.display(), partition, records = recovery.lost_in_memory, "records the hybrid buffer held in memory only when the worker died are lost");
            self.counters.lost_in_memory.inc_by(recovery.lost_in_memory);
            self.counters.dropped.inc_by(recovery.lost_in_memory);
        }
        if recovery.corrupt_tails > 0 {
            tracing::warn!(dir = %self.config.dir.display(), partition, tails = recovery.corrupt_tails, bytes = recovery.corrupt_bytes, "corrupt or cut-short records in the disk buffer were skipped");
            self.counters.corrupt_tails.inc_by(recovery.corrupt_tails);
            self.counters.corrupt_bytes.inc_by(recovery.corrupt_bytes);
        }
    }

    fn run(&mut self, receiver: &Receiver<Command>) {
        loop {
            let wait = if self.stalled.is_empty() {
                PERSIST_INTERVAL
            } else {
                RETRY_INTERVAL
            };
            let mut batch = Vec::new();
            match receiver.recv_timeout(wait) {
                Ok(command) => batch.push(command),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            self.handle(batch);
        }
        // A clean stop: what a `hybrid` log held in memory goes to disk for the next start.
        for log in self.partitions.values_mut() {
            match log.spill_memory() {
                Ok(0) => {}
                Ok(records) => {
                    tracing::info!(dir = %self.config.dir.display(), records, "records held in memory written to disk at stop");
                }
                Err(error) => {
                    tracing::warn!(dir = %self.config.dir.display(), %error, "cannot write the records held in memory to disk at stop; they are lost");
                }
            }
        }
        self.persist(true);
    }

    fn handle(&mut self, batch: Vec<Command>) {
        let mut appends = std::mem::take(&mut self.stalled);
        let mut reads = Vec::new();
        for command in batch {
            match command {
                Command::Append {
                    partition,
                    frame,
                    durable,
                } => appends.push(Append {
                    partition,
                    frame,
                    durable,
                }),
                Command::Read { max_bytes, reply } => reads.push((max_bytes, reply)),
                Command::Settled {
                    partition,
                    position,
                } => {
                    if let Some(log) = self.partitions.get_mut(&partition) {
                        log.settled(position);
                    }
                }
            }
        }
        if !appends.is_empty() {
            self.commit(appends);
        }
        for (max_bytes, reply) in reads {
            let records = self.read(max_bytes);
            let _ = reply.send(records);
        }
        self.persist(false);
        self.write_ledgers();
        self.publish_stats();
    }

    fn write_ledgers(&mut self) {
        if self.config.memory_limit == 0 {
            return;
        }
        for log in self.partitions.values_mut() {
            if let Err(error) = log.write_ledger() {
                tracing::warn!(dir = %self.config.dir.display(), %error, "cannot write down what the hybrid buffer holds in memory; a crash would lose it uncounted");
            }
        }
    }

    /// Writes the appends of one batch, syncs once per touched segment, then answers them. When
    /// the buffer's limit (`max_bytes`) is reached midway, or a partition's log cannot be opened,
    /// what came before is written and the rest waits, in order, to be tried again.
    fn commit(&mut self, appends: Vec<Append>) {
        let mut kept = Vec::with_capacity(appends.len());
        let mut waiting = Vec::new();
        let mut failure = None;
        // Dropping records to honour a partition's limit only lowers this: an estimate that errs
        // on the safe side, taken again at the next retry.
        let on_disk: u64 = self.partitions.values().map(PartitionLog::disk_bytes).sum();
        let max = self.config.max_bytes.unwrap_or(u64::MAX);
        let mut incoming = 0u64;
        for append in appends {
            if failure.is_some() {
                waiting.push(append);
                continue;
            }
            let length = append.frame.len() as u64;
            if length > self.config.per_partition_limit || length > max {
                // Can never fit: dropped alone, as the memory buffer does.
                self.counters.dropped.inc();
                self.counters.queue_full.inc();
                let _ = append.durable.send(());
                continue;
            }
            let limit = self.config.per_partition_limit;
            let log = match self.partition(&append.partition) {
                Ok(log) => log,
                Err(error) => {
                    failure = Some(error);
                    waiting.push(append);
                    continue;
                }
            };
            let dropped = log.make_room(length, limit);
            let in_memory = log.push(&append.frame);
            let fits = in_memory || on_disk + incoming + length <= max;
            if !fits {
                log.unpush();
            }
            if dropped > 0 {
                self.counters.dropped.inc_by(dropped);
                self.counters.queue_full.inc_by(dropped);
            }
            if in_memory {
                // `hybrid`: kept in memory, nothing to write.
                let _ = append.durable.send(());
                continue;
            }
            if !fits {
                failure = Some(io::Error::new(
                    io::ErrorKind::StorageFull,
                    format!("the buffer's limit of {max} bytes is reached"),
                ));
                waiting.push(append);
                continue;
            }
            incoming += length;
            kept.push(append);
        }
        // Each partition is written and synced on its own: one that fails leaves the others'
        // appends answered, and its own wait (before anything newer) for the retry.
        let mut failed: Vec<PartitionId> = Vec::new();
        for (id, log) in &mut self.partitions {
            if let Err(error) = log.commit() {
                log.discard_pending();
                failed.push(id.clone());
                failure = Some(error);
            }
        }
        let (mut not_written, durable): (Vec<Append>, Vec<Append>) = kept
            .into_iter()
            .partition(|append| failed.contains(&append.partition));
        // What was not written came before what never got its turn.
        not_written.extend(waiting);
        match failure {
            Some(error) => self.stall(not_written, &error),
            None => {
                if self.stats.full.load(Ordering::Relaxed) {
                    tracing::info!(dir = %self.config.dir.display(), "the disk buffer accepts records again");
                    self.set_full(None);
                }
            }
        }
        for append in durable {
            let _ = append.durable.send(());
        }
        self.appended.notify_one();
    }

    fn stall(&mut self, appends: Vec<Append>, error: &io::Error) {
        self.counters.write_failures.inc();
        let reason = format!(
            "the disk buffer in {} cannot take more records ({error}); new messages stay unacknowledged at the MQTT broker until there is room",
            self.config.dir.display()
        );
        if !self.stats.full.load(Ordering::Relaxed) {
            tracing::warn!(dir = %self.config.dir.display(), %error, "the disk buffer is full or failing; intake paused");
        }
        self.set_full(Some(reason));
        self.stalled = appends;
    }

    fn set_full(&self, reason: Option<String>) {
        self.stats.full.store(reason.is_some(), Ordering::Relaxed);
        *self
            .stats
            .full_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = reason;
    }

    fn partition(&mut self, id: &PartitionId) -> io::Result<&mut PartitionLog> {
        if !self.partitions.contains_key(id) {
            let dir = self.config.dir.join(dir_name(id));
            let (mut log, recovery) = PartitionLog::open(
                &dir,
                Arc::clone(&id.0),
                self.config.segment_bytes,
                self.config.durable,
            )?;
            log.set_memory_limit(self.config.memory_limit);
            self.count_recovery(&dir_name(id), recovery);
            self.partitions.insert(id.clone(), log);
        }
        self.partitions
            .get_mut(id)
            .ok_or_else(|| io::Error::other("partition log vanished"))
    }

    /// Records for the pump, round robin over the partitions with something to send; while any
    /// partition still has records from before the log was opened, only those.
    fn read(&mut self, max_bytes: u64) -> Vec<(PartitionId, Stored)> {
        if self.backlog_first
            && self
                .partitions
                .values()
                .all(|log| log.send_position() >= log.backlog_end)
        {
            self.backlog_first = false;
        }
        let ids: Vec<PartitionId> = self.partitions.keys().cloned().collect();
        let mut out = Vec::new();
        let mut corrupt = Recovery::default();
        for step in 0..ids.len() {
            let index = (self.next_read + step) % ids.len();
            let Some(log) = self.partitions.get_mut(&ids[index]) else {
                continue;
            };
            let until = if self.backlog_first {
                log.backlog_end
            } else {
                u64::MAX
            };
            let records = log.read(max_bytes, until, &mut corrupt);
            if !records.is_empty() {
                self.next_read = index + 1;
                out.extend(records.into_iter().map(|r| (ids[index].clone(), r)));
                break;
            }
        }
        if corrupt.corrupt_tails > 0 {
            tracing::warn!(dir = %self.config.dir.display(), bytes = corrupt.corrupt_bytes, "unreadable records in the disk buffer were skipped");
            self.counters.corrupt_tails.inc_by(corrupt.corrupt_tails);
            self.counters.corrupt_bytes.inc_by(corrupt.corrupt_bytes);
        }
        out
    }

    fn persist(&mut self, now: bool) {
        if !now && self.last_persist.elapsed() < PERSIST_INTERVAL {
            return;
        }
        self.last_persist = Instant::now();
        for log in self.partitions.values_mut() {
            if let Err(error) = log.persist_done() {
                tracing::warn!(dir = %self.config.dir.display(), %error, "cannot record which buffered records were sent; they may be sent again after a restart");
            }
        }
    }

    fn publish_stats(&self) {
        let (mut records, mut bytes, mut disk) = (0, 0, 0);
        let (mut memory_records, mut memory_bytes) = (0, 0);
        let mut settled = true;
        for log in self.partitions.values() {
            let (r, b) = log.unsent();
            records += r;
            bytes += b;
            disk += log.disk_bytes();
            let (r, b) = log.memory_held();
            memory_records += r;
            memory_bytes += b;
            settled &= log.is_settled();
        }
        let stats = &self.stats;
        stats.unsent_records.store(records, Ordering::Relaxed);
        stats.unsent_bytes.store(bytes, Ordering::Relaxed);
        stats.disk_bytes.store(disk, Ordering::Relaxed);
        stats
            .memory_records
            .store(memory_records, Ordering::Relaxed);
        stats.memory_bytes.store(memory_bytes, Ordering::Relaxed);
        stats.settled.store(settled, Ordering::Relaxed);
    }
}

/// `<topic>@<partition>`, or `<topic>@any` for records whose partition librdkafka chooses. `@`
/// cannot appear in a Kafka topic name.
fn dir_name((topic, partition): &PartitionId) -> String {
    match partition {
        Some(n) => format!("{topic}@{n}"),
        None => format!("{topic}@any"),
    }
}

fn parse_dir_name(name: &str) -> Option<PartitionId> {
    let (topic, partition) = name.rsplit_once('@')?;
    let partition = match partition {
        "any" => None,
        n => Some(n.parse::<i32>().ok()?),
    };
    (!topic.is_empty()).then(|| (Arc::from(topic), partition))
}

/// The directory of an action's log under the worker's data directory.
pub fn action_dir(data_dir: &Path, action_id: &str) -> PathBuf {
    let safe: String = action_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '.'
            }
        })
        .collect();
    data_dir.join("kafka-buffers").join(safe)
}
