//! The log on real files: order, settlement and deletion, restart, limits, a corrupt tail, a
//! full "disk".

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::oneshot;
use tributary_connect::record::RenderedRecord;

use super::frame;
use super::log::{self, Command, LogConfig, LogHandle, PartitionId};
use super::partition::{PartitionLog, Recovery, Stored};
use crate::telemetry::{MetricsHub, ResourceMetrics};

fn record(n: usize) -> RenderedRecord {
    RenderedRecord {
        topic: "t".into(),
        key: Some(format!("k{n}")),
        value: format!("{{\"n\":{n}}}"),
        headers: vec![("h".into(), n.to_string())],
        timestamp: Some(n as i64),
    }
}

fn frame_of(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    frame::encode(&record(n), &mut out);
    out
}

fn numbers(stored: &[Stored]) -> Vec<usize> {
    stored
        .iter()
        .map(|s| s.record.value[5..s.record.value.len() - 1].parse().unwrap())
        .collect()
}

fn open(dir: &Path, segment_bytes: u64) -> (PartitionLog, Recovery) {
    PartitionLog::open(dir, Arc::from("t"), segment_bytes, true).unwrap()
}

fn append(log: &mut PartitionLog, range: std::ops::Range<usize>) {
    for n in range {
        log.push(&frame_of(n));
    }
    log.commit().unwrap();
}

fn segment_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        })
        .count()
}

#[test]
fn records_come_back_in_order_across_segments_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let frame_bytes = frame_of(0).len() as u64;
    // Four records to a segment.
    let (mut log, _) = open(dir.path(), frame_bytes * 4);
    append(&mut log, 0..10);
    assert_eq!(segment_files(dir.path()), 3);
    let mut corrupt = Recovery::default();
    let first = log.read(frame_bytes * 3, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&first), vec![0, 1, 2]);
    // 0 and 1 acknowledged; 2 still in flight.
    log.settled(first[2].position);
    log.persist_done().unwrap();
    drop(log);

    // A restart sends again what was not acknowledged (2 on), in order.
    let (mut log, recovery) = open(dir.path(), frame_bytes * 4);
    assert_eq!(recovery.records, 8);
    assert_eq!(recovery.corrupt_tails, 0);
    assert_eq!(log.unsent().0, 8);
    let rest = log.read(u64::MAX, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&rest), (2..10).collect::<Vec<_>>());
    // Everything settled: every segment is deleted.
    log.settled(rest.last().unwrap().end);
    assert_eq!(segment_files(dir.path()), 0);
    assert!(log.is_settled());
    assert_eq!(corrupt, Recovery::default());
    log.persist_done().unwrap();
    drop(log);

    // Opened empty, the log goes on from where it was: records appended now are not taken for
    // settled ones after another restart.
    let (mut log, recovery) = open(dir.path(), frame_bytes * 4);
    assert_eq!(recovery.records, 0);
    append(&mut log, 10..12);
    drop(log);
    let (mut log, recovery) = open(dir.path(), frame_bytes * 4);
    assert_eq!(recovery.records, 2);
    let again = log.read(u64::MAX, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&again), vec![10, 11]);
}

#[test]
fn a_cut_short_or_corrupt_tail_is_skipped_and_counted_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 1 << 20);
    append(&mut log, 0..5);
    drop(log);
    let segment = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let frame_bytes = frame_of(0).len();
    let mut bytes = std::fs::read(&segment).unwrap();
    // The crash: the fifth record half written, then garbage after it.
    bytes.truncate(4 * frame_bytes + frame_bytes / 2);
    std::fs::write(&segment, &bytes).unwrap();
    let (mut log, recovery) = open(dir.path(), 1 << 20);
    assert_eq!(recovery.records, 4);
    assert_eq!(recovery.corrupt_tails, 1);
    assert_eq!(recovery.corrupt_bytes, (frame_bytes / 2) as u64);
    // New records go after the good ones.
    append(&mut log, 5..7);
    let mut corrupt = Recovery::default();
    let all = log.read(u64::MAX, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&all), vec![0, 1, 2, 3, 5, 6]);
    drop(log);

    // A flipped bit in the middle of a record ends its segment there.
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[frame_bytes + 12] ^= 0x40;
    std::fs::write(&segment, &bytes).unwrap();
    let (mut log, recovery) = open(dir.path(), 1 << 20);
    assert_eq!(recovery.records, 1);
    assert_eq!(recovery.corrupt_tails, 1);
    let all = log.read(u64::MAX, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&all), vec![0]);

    // Garbage where a segment should be: skipped as a whole.
    std::fs::write(dir.path().join("00000000000099999999.seg"), [0xffu8; 100]).unwrap();
    drop(log);
    let (_, recovery) = open(dir.path(), 1 << 20);
    assert_eq!(recovery.corrupt_tails, 1);
    assert_eq!(recovery.corrupt_bytes, 100);
}

#[test]
fn a_restarted_log_hands_out_its_backlog_before_anything_newer() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(dir.path(), 1 << 20);
    append(&mut log, 0..3);
    drop(log);
    let (mut log, _) = open(dir.path(), 1 << 20);
    append(&mut log, 3..5);
    let mut corrupt = Recovery::default();
    // Up to the end of what was on disk at the start, however much is asked for.
    let backlog = log.read(u64::MAX, log.backlog_end, &mut corrupt);
    assert_eq!(numbers(&backlog), vec![0, 1, 2]);
    assert!(log.read(u64::MAX, log.backlog_end, &mut corrupt).is_empty());
    let newer = log.read(u64::MAX, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&newer), vec![3, 4]);
}

#[test]
fn the_limit_drops_the_oldest_unsent_records() {
    let dir = tempfile::tempdir().unwrap();
    let frame_bytes = frame_of(0).len() as u64;
    let (mut log, _) = open(dir.path(), 1 << 20);
    append(&mut log, 0..4);
    let mut corrupt = Recovery::default();
    // Record 0 is with the pump: it is not the buffer's to drop.
    let taken = log.read(1, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&taken), vec![0]);
    // Room for three unsent records: two more need two of 1..3 gone.
    let limit = frame_bytes * 3;
    assert_eq!(log.make_room(frame_bytes, limit), 1);
    log.push(&frame_of(4));
    log.commit().unwrap();
    assert_eq!(log.make_room(frame_bytes, limit), 1);
    log.push(&frame_of(5));
    log.commit().unwrap();
    let rest = log.read(u64::MAX, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&rest), vec![3, 4, 5]);
    // Once 0 is acknowledged, everything up to the end is settled, the dropped ones included.
    log.settled(taken[0].end);
    log.settled(rest.last().unwrap().end);
    assert!(log.is_settled());
}

struct Harness {
    handle: LogHandle,
    metrics: Arc<ResourceMetrics>,
}

fn start(dir: &Path, per_partition_limit: u64, max_bytes: Option<u64>) -> Harness {
    let metrics = MetricsHub::new().resource("action:kafka_producer:test");
    let handle = log::start(
        LogConfig {
            dir: dir.to_owned(),
            segment_bytes: 4096,
            per_partition_limit,
            max_bytes,
            durable: true,
            memory_limit: 0,
        },
        &metrics,
    )
    .unwrap();
    Harness { handle, metrics }
}

fn partition(n: i32) -> PartitionId {
    (Arc::from("t"), Some(n))
}

impl Harness {
    fn append(&self, n: usize, partition_number: i32) -> oneshot::Receiver<()> {
        let (durable, written) = oneshot::channel();
        assert!(self.handle.send(Command::Append {
            partition: partition(partition_number),
            frame: frame_of(n),
            durable,
        }));
        written
    }

    async fn read(&self) -> Vec<(PartitionId, Stored)> {
        let (reply, records) = oneshot::channel();
        assert!(self.handle.send(Command::Read {
            max_bytes: u64::MAX,
            reply
        }));
        records.await.unwrap()
    }
}

#[tokio::test]
async fn appends_are_answered_once_written_and_a_full_disk_holds_them_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let frame_bytes = frame_of(0).len() as u64;
    // Room for exactly five records on "disk".
    let log = start(dir.path(), 1 << 20, Some(frame_bytes * 5));
    for n in 0..5 {
        log.append(n, 0).await.unwrap();
    }
    // The sixth does not fit: it waits, and so does the seventh behind it.
    let mut sixth = log.append(5, 0);
    let mut seventh = log.append(6, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sixth.try_recv().is_err(), "answered on a full disk");
    assert!(
        seventh.try_recv().is_err(),
        "answered behind a stalled append"
    );
    assert!(log.handle.stats.full_reason().is_some());
    assert!(log.metrics.get("buffer.write_failures") >= 1);
    assert_eq!(log.metrics.get("dropped"), 0, "a full disk drops nothing");

    // Kafka takes records 0..5: their segment is deleted, and the waiting appends go through,
    // in order.
    let records = log.read().await;
    assert_eq!(records.len(), 5);
    let end = records.last().unwrap().1.end;
    assert!(log.handle.send(Command::Settled {
        partition: partition(0),
        position: end,
    }));
    sixth.await.unwrap();
    seventh.await.unwrap();
    assert!(log.handle.stats.full_reason().is_none());
    let mut rest: Vec<(i32, usize)> = Vec::new();
    for (id, stored) in log.read().await.into_iter().chain(log.read().await) {
        rest.push((id.1.unwrap(), numbers(std::slice::from_ref(&stored))[0]));
    }
    rest.sort_unstable();
    assert_eq!(rest, vec![(0, 5), (1, 6)]);
    assert_eq!(log.metrics.get("dropped"), 0, "a full disk drops nothing");
}

#[tokio::test]
async fn a_batch_larger_than_the_room_left_writes_what_fits_and_holds_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let frame_bytes = frame_of(0).len() as u64;
    // Holding the directory's lock keeps the log from starting, so that the seven appends below
    // reach it as one batch (as a burst of messages does).
    std::fs::create_dir_all(dir.path()).unwrap();
    let lock = std::fs::File::create(dir.path().join("lock")).unwrap();
    lock.lock().unwrap();
    let log = start(dir.path(), 1 << 20, Some(frame_bytes * 5));
    let mut answers: Vec<_> = (0..7).map(|n| log.append(n, 0)).collect();
    lock.unlock().unwrap();
    for answer in answers.drain(..5) {
        tokio::time::timeout(Duration::from_secs(10), answer)
            .await
            .expect("an append that fits was never answered")
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for answer in &mut answers {
        assert!(answer.try_recv().is_err(), "answered past the limit");
    }
    assert!(log.handle.stats.full_reason().is_some());
    let on_disk = log.handle.stats.disk_bytes.load(Ordering::Relaxed);
    assert_eq!(on_disk, frame_bytes * 5, "the five that fit are on disk");
    assert_eq!(log.metrics.get("dropped"), 0);

    // Once Kafka took those five, the other two follow, in order.
    let taken: Vec<Stored> = log.read().await.into_iter().map(|r| r.1).collect();
    assert_eq!(numbers(&taken), vec![0, 1, 2, 3, 4]);
    assert!(log.handle.send(Command::Settled {
        partition: partition(0),
        position: taken.last().unwrap().end,
    }));
    for answer in answers {
        answer.await.unwrap();
    }
    let rest = log.read().await;
    assert_eq!(
        numbers(&rest.into_iter().map(|r| r.1).collect::<Vec<_>>()),
        vec![5, 6]
    );
}

#[tokio::test]
async fn a_record_larger_than_the_whole_buffer_is_dropped_instead_of_blocking_it() {
    let dir = tempfile::tempdir().unwrap();
    let frame_bytes = frame_of(0).len() as u64;
    let log = start(dir.path(), 1 << 20, Some(frame_bytes - 1));
    tokio::time::timeout(Duration::from_secs(10), log.append(0, 0))
        .await
        .expect("a record that can never fit blocked the buffer")
        .unwrap();
    assert_eq!(log.metrics.get("dropped"), 1);
    assert!(log.handle.stats.full_reason().is_none());
}

#[test]
fn damaged_files_never_panic_and_never_yield_a_record_that_was_not_written() {
    use rand::{Rng, SeedableRng};
    let frame_bytes = frame_of(0).len() as u64;
    for seed in 0..80u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = open(dir.path(), frame_bytes * 7);
        append(&mut log, 0..40);
        drop(log);
        let segments: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        // A crash and a bad disk: a file cut anywhere, bytes overwritten anywhere.
        let victim = &segments[rng.gen_range(0..segments.len())];
        let mut bytes = std::fs::read(victim).unwrap();
        match rng.gen_range(0..3) {
            0 => bytes.truncate(rng.gen_range(0..bytes.len())),
            1 => {
                let at = rng.gen_range(0..bytes.len());
                let end = (at + rng.gen_range(1..64)).min(bytes.len());
                rng.fill(&mut bytes[at..end]);
            }
            _ => {
                let at = rng.gen_range(0..bytes.len());
                bytes[at] ^= 1 << rng.gen_range(0..8);
            }
        }
        std::fs::write(victim, &bytes).unwrap();
        if rng.gen_bool(0.3) {
            std::fs::write(dir.path().join("done"), rng.r#gen::<[u8; 12]>()).unwrap();
        }
        let (mut log, _) = open(dir.path(), frame_bytes * 7);
        let mut corrupt = Recovery::default();
        let read = numbers(&log.read(u64::MAX, u64::MAX, &mut corrupt));
        assert!(
            read.windows(2).all(|w| w[0] < w[1]) && read.iter().all(|n| *n < 40),
            "seed {seed}: {read:?}"
        );
        // And the log takes new records after the damage.
        append(&mut log, 40..42);
        let more = numbers(&log.read(u64::MAX, u64::MAX, &mut corrupt));
        assert_eq!(more, vec![40, 41], "seed {seed}");
    }
}

#[tokio::test]
async fn a_second_log_on_the_same_directory_waits_for_the_first_to_close() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path(), 1 << 20, None);
    first.append(0, 0).await.unwrap();
    let second = start(dir.path(), 1 << 20, None);
    let mut waiting = second.append(1, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        waiting.try_recv().is_err(),
        "two logs wrote one directory at once"
    );
    drop(first);
    waiting.await.unwrap();
    // The second found what the first wrote, and hands it out first (alone: it is the backlog).
    let backlog = second.read().await;
    let newer = second.read().await;
    let records: Vec<usize> = backlog
        .iter()
        .chain(&newer)
        .map(|(_, stored)| numbers(std::slice::from_ref(stored))[0])
        .collect();
    assert_eq!(backlog.len(), 1);
    assert_eq!(records, vec![0, 1]);
    assert_eq!(second.metrics.get("buffer.recovered"), 1);
}

fn open_hybrid(dir: &Path, memory_records: u64) -> (PartitionLog, Recovery) {
    let frame_bytes = frame_of(0).len() as u64;
    let (mut log, recovery) = PartitionLog::open(dir, Arc::from("t"), 1 << 20, false).unwrap();
    log.set_memory_limit(frame_bytes * memory_records);
    (log, recovery)
}

/// Pushes records; returns which went to memory (the rest is committed to disk).
fn push_hybrid(log: &mut PartitionLog, range: std::ops::Range<usize>) -> Vec<usize> {
    let in_memory = range.filter(|n| log.push(&frame_of(*n))).collect();
    log.commit().unwrap();
    in_memory
}

#[test]
fn hybrid_keeps_memory_first_spills_past_its_limit_and_a_kill_loses_only_the_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open_hybrid(dir.path(), 3);
    assert_eq!(push_hybrid(&mut log, 0..6), vec![0, 1, 2]);
    assert_eq!(segment_files(dir.path()), 1);
    assert_eq!(log.memory_held().0, 3);
    assert_eq!(log.unsent().0, 6);
    let mut corrupt = Recovery::default();
    // Memory holds the oldest: read first, in order with the disk.
    let first = log.read(1, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&first), vec![0]);
    // Kafka took 0: memory has room again, but 3..6 wait on disk, so 6 goes there too (order).
    log.settled(first[0].end);
    assert_eq!(log.memory_held().0, 2);
    assert!(push_hybrid(&mut log, 6..7).is_empty());
    log.write_ledger().unwrap();
    // The process is killed: no clean stop.
    drop(log);

    let (mut log, recovery) = open_hybrid(dir.path(), 3);
    assert_eq!(recovery.records, 4, "what reached the files survives");
    assert_eq!(
        recovery.lost_in_memory, 2,
        "what was in memory only is counted"
    );
    let rest = log.read(u64::MAX, log.backlog_end, &mut corrupt);
    assert_eq!(numbers(&rest), vec![3, 4, 5, 6]);
    assert_eq!(corrupt, Recovery::default());
    // Counted once: the next start finds no ledger.
    drop(log);
    let (_, recovery) = open_hybrid(dir.path(), 3);
    assert_eq!(recovery.lost_in_memory, 0);
}

#[test]
fn hybrid_goes_back_to_memory_once_the_disk_is_drained_and_a_clean_stop_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open_hybrid(dir.path(), 2);
    assert_eq!(push_hybrid(&mut log, 0..4), vec![0, 1]);
    let mut corrupt = Recovery::default();
    let all = log.read(u64::MAX, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&all), vec![0, 1, 2, 3]);
    log.settled(all.last().unwrap().end);
    assert!(log.is_settled());
    assert_eq!(segment_files(dir.path()), 0);
    // Nothing waits on disk: memory first again, then the files.
    assert_eq!(push_hybrid(&mut log, 4..8), vec![4, 5]);
    // 4 is with the pump (unsettled) when the worker stops cleanly: memory goes to disk.
    let taken = log.read(1, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&taken), vec![4]);
    assert_eq!(log.spill_memory().unwrap(), 2);
    log.persist_done().unwrap();
    drop(log);

    let (mut log, recovery) = open_hybrid(dir.path(), 2);
    assert_eq!(recovery.lost_in_memory, 0);
    assert_eq!(recovery.records, 4);
    let again = log.read(u64::MAX, log.backlog_end, &mut corrupt);
    assert_eq!(numbers(&again), vec![4, 5, 6, 7]);
}

#[test]
fn hybrid_drops_its_oldest_records_from_memory_first_when_a_partition_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let frame_bytes = frame_of(0).len() as u64;
    let (mut log, _) = open_hybrid(dir.path(), 2);
    assert_eq!(push_hybrid(&mut log, 0..4), vec![0, 1]);
    // Room for four unsent records: a fifth drops the oldest, from memory.
    assert_eq!(log.make_room(frame_bytes, frame_bytes * 4), 1);
    assert!(push_hybrid(&mut log, 4..5).is_empty());
    assert_eq!(log.memory_held().0, 1);
    let mut corrupt = Recovery::default();
    let all = log.read(u64::MAX, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&all), vec![1, 2, 3, 4]);
}

#[tokio::test]
async fn a_hybrid_log_answers_appends_from_memory_and_writes_memory_to_disk_at_stop() {
    let dir = tempfile::tempdir().unwrap();
    let frame_bytes = frame_of(0).len() as u64;
    let metrics = MetricsHub::new().resource("action:kafka_producer:hybrid");
    let config = LogConfig {
        dir: dir.path().to_owned(),
        segment_bytes: 4096,
        per_partition_limit: 1 << 20,
        max_bytes: None,
        durable: false,
        memory_limit: frame_bytes * 10,
    };
    let first = Harness {
        handle: log::start(config.clone(), &metrics).unwrap(),
        metrics: Arc::clone(&metrics),
    };
    for n in 0..25 {
        first.append(n, 0).await.unwrap();
    }
    // The counts are published after the batch's appends are answered.
    let stats = &first.handle.stats;
    let counts = || {
        (
            stats.memory_records.load(Ordering::Relaxed),
            stats.unsent_records.load(Ordering::Relaxed),
        )
    };
    for _ in 0..100 {
        if counts() == (10, 25) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(counts(), (10, 25), "(in memory, unsent)");
    // A clean stop (the handle dropped): the next log waits for this one, then finds all 25.
    drop(first);
    let second = Harness {
        handle: log::start(config, &metrics).unwrap(),
        metrics,
    };
    let mut seen = Vec::new();
    loop {
        let records = second.read().await;
        if records.is_empty() {
            break;
        }
        seen.extend(
            records
                .iter()
                .map(|(_, s)| numbers(std::slice::from_ref(s))[0]),
        );
    }
    assert_eq!(seen, (0..25).collect::<Vec<_>>());
    assert_eq!(second.metrics.get("buffer.recovered"), 25);
    assert_eq!(second.metrics.get("buffer.lost_in_memory"), 0);
}

/// A tmpfs of `size` on `dir`, unmounted on drop; `None` where mounting is not permitted.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Self(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// A real full disk (ENOSPC from a 64 KiB tmpfs; mounting needs root, and the test says it is
/// skipped elsewhere): the commit that does not fit fails as storage full, leaves the files
/// holding exactly what was committed before, and goes through once Kafka's acknowledgements
/// freed segments.
#[test]
fn a_real_full_disk_fails_the_commit_cuts_the_files_back_and_takes_the_frame_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_tmpfs) = Tmpfs::mount(dir.path(), "64k") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root); ENOSPC is not tested");
        return;
    };
    let (mut log, _) = open(dir.path(), 8192);
    let mut committed = 0;
    let error = loop {
        log.push(&frame_of(committed));
        match log.commit() {
            Ok(()) => committed += 1,
            Err(error) => break error,
        }
        assert!(committed < 100_000, "a 64 KiB tmpfs never filled up");
    };
    assert_eq!(error.kind(), std::io::ErrorKind::StorageFull, "{error}");
    assert!(committed > 100, "only {committed} records fit");
    log.discard_pending();
    // The files hold what was committed and not a byte of the failed write.
    let on_disk: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert_eq!(on_disk, log.disk_bytes());
    let frames: u64 = (0..committed).map(|n| frame_of(n).len() as u64).sum();
    assert_eq!(on_disk, frames);
    let mut corrupt = Recovery::default();
    let all = log.read(u64::MAX, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&all), (0..committed).collect::<Vec<_>>());
    assert_eq!(corrupt, Recovery::default());
    // Kafka took them: their segments go, and the frame that did not fit goes in.
    log.settled(all.last().unwrap().end);
    log.push(&frame_of(committed));
    log.commit().unwrap();
    drop(log);
    let (mut log, recovery) = open(dir.path(), 8192);
    assert_eq!((recovery.records, recovery.corrupt_tails), (1, 0));
    let rest = log.read(u64::MAX, u64::MAX, &mut corrupt);
    assert_eq!(numbers(&rest), vec![committed]);
}
