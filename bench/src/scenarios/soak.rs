//! A long steady run (MQTT -> Kafka, QoS 1 `sync`, paced well below the sustained rate) that
//! samples every worker's resident memory: memory that grows with the messages carried (a leak,
//! an unbounded map or queue) shows as RSS at the end above RSS once warmed up.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::load::LoadPlan;
use crate::payload::PROBE_SEQ_BASE;
use crate::pipeline::{self, Measurement};
use crate::proc_stats;

use super::latency::LATENCY_SEQ_BASE;
use super::mqtt_to_kafka::Prepared;
use super::{Outcome, Settings};

/// How often RSS is read.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// Sequence numbers of their own, above the latency runs' and below the probes'.
const SOAK_SEQ_BASE: u64 = 1 << 36;
// Checked when compiling: a day-long soak at 10,000 msg/s stays clear of both.
const _: () = assert!(
    SOAK_SEQ_BASE > LATENCY_SEQ_BASE + u32::MAX as u64
        && SOAK_SEQ_BASE + 10_000 * 86_400 < PROBE_SEQ_BASE
);

#[derive(Debug, Clone)]
pub struct Soak {
    pub rate: f64,
    pub run: Measurement,
    /// (seconds since the start, summed RSS of the workers in KiB), every [`SAMPLE_EVERY`].
    pub rss: Vec<(u64, u64)>,
}

impl Soak {
    /// Summed worker RSS once warmed up: the first sample at or after one minute (or the
    /// first sample of a shorter run).
    pub fn warm_rss_kib(&self) -> Option<u64> {
        self.rss
            .iter()
            .find(|(at, _)| *at >= 60)
            .or(self.rss.first())
            .map(|(_, kib)| *kib)
    }

    pub fn final_rss_kib(&self) -> Option<u64> {
        self.rss.last().map(|(_, kib)| *kib)
    }

    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.rss.iter().map(|(_, kib)| *kib).max()
    }
}

pub async fn run(settings: &Settings, duration: Duration, rate: f64) -> Outcome<Soak> {
    if settings.worker_pids.is_empty() {
        return Err("no worker process found to sample".to_owned());
    }
    let mut soak = settings.clone();
    soak.endpoints.run_id = format!("{}soak", settings.endpoints.run_id);
    let flow = Prepared::create(&soak, 1, "sync").await?;
    let plan = LoadPlan {
        count: (rate * duration.as_secs_f64()).round() as u64,
        // Room for a slow start; the count, not the clock, ends a paced run.
        max_duration: duration + duration / 2,
        rate: Some(rate),
        seq_base: SOAK_SEQ_BASE,
    };
    let stop = CancellationToken::new();
    let sampler = tokio::spawn(sample_rss(soak.worker_pids.clone(), stop.clone()));
    let measured = pipeline::measure(
        &soak.endpoints,
        &flow.ingress,
        &flow.egress,
        plan,
        soak.timing,
        &soak.worker_pids,
    )
    .await
    .map_err(|e| e.to_string());
    stop.cancel();
    let rss = sampler.await.unwrap_or_default();
    let _ = flow.finish(&soak).await;
    Ok(Soak {
        rate,
        run: measured?,
        rss,
    })
}

async fn sample_rss(pids: Vec<u32>, stop: CancellationToken) -> Vec<(u64, u64)> {
    let started = tokio::time::Instant::now();
    let mut samples = Vec::new();
    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return samples,
            _ = ticker.tick() => {
                let kib: u64 = pids.iter().filter_map(|pid| proc_stats::current_rss_kib(*pid)).sum();
                samples.push((started.elapsed().as_secs(), kib));
            }
        }
    }
}
