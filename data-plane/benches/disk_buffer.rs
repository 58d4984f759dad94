//! The disk buffer of Kafka actions (`sink::kafka::disk`): how many records a second it makes
//! durable (group-committed appends through the log thread, as the sink sends them) and how many
//! it reads back after a restart (the recovery check plus reading every record in order).
//!
//! `cargo bench -p tributary-data-plane --bench disk_buffer -- --warm-up-time 1 --measurement-time 5`
//!
//! The files go to a temporary directory (`TMPDIR`): the figures are those of that disk.

// A benchmark whose setup fails should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::oneshot;
use tributary_connect::record::RenderedRecord;
use tributary_data_plane::sink::kafka::disk::frame;
use tributary_data_plane::sink::kafka::disk::log::{self, Command, LogConfig};
use tributary_data_plane::sink::kafka::disk::partition::{PartitionLog, Recovery};
use tributary_data_plane::telemetry::MetricsHub;

/// Records per measured round.
const RECORDS: usize = 10_000;

/// A ~200-byte JSON telemetry value, as the rule benchmarks use.
fn record(n: usize) -> RenderedRecord {
    RenderedRecord {
        topic: "telemetry".into(),
        key: Some(format!("sensor-{:04}", n % 1000)),
        value: format!(
            r#"{{"temp":23.5,"hum":41.2,"pressure":1013.25,"battery":87,"device":"sensor-{:04}","site":"plant-a","fw":"1.4.2","status":"ok","seq":{n},"loc":{{"lat":52.52,"lon":13.405}},"ts":1700000000000}}"#,
            n % 1000
        ),
        headers: Vec::new(),
        timestamp: Some(1_700_000_000_000),
    }
}

fn frame_of(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    frame::encode(&record(n), &mut out);
    out
}

/// Appends `RECORDS` records keeping `window` of them waiting for durability at a time (the
/// rule flow keeps up to the MQTT connector's `max_inflight`, 1,000 by default); returns the time.
fn append_round(runtime: &tokio::runtime::Runtime, window: usize, durable: bool) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let metrics = MetricsHub::new().resource("action:kafka_producer:bench");
    let handle = log::start(
        LogConfig {
            dir: dir.path().to_owned(),
            segment_bytes: 100 << 20,
            per_partition_limit: 1 << 30,
            max_bytes: None,
            durable,
            // `hybrid`: the first MiB in memory, the rest spilled to the files unsynced.
            memory_limit: if durable { 0 } else { 1 << 20 },
        },
        &metrics,
    )
    .unwrap();
    let frames: Vec<Vec<u8>> = (0..RECORDS).map(frame_of).collect();
    let partition: log::PartitionId = (Arc::from("telemetry"), Some(0));
    runtime.block_on(async {
        let started = Instant::now();
        let mut waiting: FuturesUnordered<oneshot::Receiver<()>> = FuturesUnordered::new();
        for frame in frames {
            if waiting.len() >= window {
                waiting.next().await.unwrap().unwrap();
            }
            let (durable, written) = oneshot::channel();
            handle.send(Command::Append {
                partition: partition.clone(),
                frame,
                durable,
            });
            waiting.push(written);
        }
        while let Some(written) = waiting.next().await {
            written.unwrap();
        }
        started.elapsed()
    })
}

fn bench_append(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("disk_buffer_append");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    for (name, window, durable) in [
        ("disk_1000_in_flight", 1000, true),
        ("disk_100_in_flight", 100, true),
        ("hybrid_1000_in_flight", 1000, false),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|rounds| {
                (0..rounds)
                    .map(|_| append_round(&runtime, window, durable))
                    .sum()
            });
        });
    }
    // One message at a time: every append waits for its own sync (the latency floor).
    group.throughput(Throughput::Elements(200));
    group.bench_function("disk_1_in_flight_200_records", |b| {
        b.iter_custom(|rounds| {
            (0..rounds)
                .map(|_| {
                    let dir = tempfile::tempdir().unwrap();
                    let (mut log, _) =
                        PartitionLog::open(dir.path(), Arc::from("telemetry"), 100 << 20, true)
                            .unwrap();
                    let started = Instant::now();
                    for n in 0..200 {
                        log.push(&frame_of(n));
                        log.commit().unwrap();
                    }
                    started.elapsed()
                })
                .sum()
        });
    });
    group.finish();
}

/// A worker restarted with `RECORDS * 10` records on disk: opening (every frame checked) and
/// reading them all back in order.
fn bench_replay(c: &mut Criterion) {
    let records = RECORDS * 10;
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut log, _) =
            PartitionLog::open(dir.path(), Arc::from("telemetry"), 16 << 20, true).unwrap();
        for n in 0..records {
            log.push(&frame_of(n));
            if n % 1000 == 999 {
                log.commit().unwrap();
            }
        }
        log.commit().unwrap();
    }
    let mut group = c.benchmark_group("disk_buffer_replay");
    group.throughput(Throughput::Elements(records as u64));
    group.sample_size(10);
    group.bench_function("open_and_read_100k", |b| {
        b.iter(|| {
            let (mut log, recovery) =
                PartitionLog::open(dir.path(), Arc::from("telemetry"), 16 << 20, true).unwrap();
            assert_eq!(recovery.records, records as u64);
            let mut corrupt = Recovery::default();
            let mut read = 0;
            loop {
                let batch = log.read(1 << 20, u64::MAX, &mut corrupt);
                if batch.is_empty() {
                    break;
                }
                read += batch.len();
            }
            assert_eq!(read, records);
        });
    });
    group.finish();
}

criterion_group!(benches, bench_append, bench_replay);
criterion_main!(benches);
