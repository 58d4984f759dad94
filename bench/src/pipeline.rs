//! One measured run through any pipeline: start the receiving end, probe until a message gets
//! through, send the load, wait until it drains, and account for every message.
//!
//! The same driver measures the baselines and Tributary, so their figures differ only in what
//! sits between the sending and the receiving end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::QoS;
use tokio_util::sync::CancellationToken;

use crate::error::{BenchError, Result};
use crate::kafka_load::{self, ReadFrom};
use crate::load::{LoadPlan, SendReport, Window};
use crate::mqtt_load::{self, MqttEndpoint, PublishTarget};
use crate::payload::PROBE_SEQ_BASE;
use crate::proc_stats::{self, ProcSample};
use crate::report::format::ms;
use crate::sink::{Progress, TrackingSink};
use crate::tracker::{Deliveries, Slice};

#[derive(Debug, Clone)]
pub struct Endpoints {
    pub mqtt: MqttEndpoint,
    pub kafka_bootstrap: String,
    /// Unique per harness run; part of every client id, topic and resource name.
    pub run_id: String,
}

/// Where the load enters.
#[derive(Debug, Clone)]
pub enum Ingress {
    Mqtt(PublishTarget),
    Kafka { topic: String },
}

/// Where it is counted.
#[derive(Debug, Clone)]
pub enum Egress {
    Mqtt { filter: String, qos: QoS },
    Kafka { topic: String, partitions: i32 },
}

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long a pipeline may take to pass its first probe.
    pub ready_within: Duration,
    /// A run has drained when nothing arrived for this long,
    pub idle_after: Duration,
    /// or at the latest this long after the last message was sent (the rest count as missing).
    pub drain_within: Duration,
    /// Messages allowed between the senders and the far end (see [`Window`]).
    pub window: u64,
}

/// CPU and memory of the processes watched during a run (the workers, or the Python bridge).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResourceUse {
    pub processes: usize,
    pub cpu: Duration,
    pub peak_rss_kib: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub sent: SendReport,
    pub deliveries: Deliveries,
    /// Sent but not received by the end of the drain.
    pub missing: u64,
    /// Of the missing, how many a fresh reader found in the Kafka topic afterwards: late at the
    /// harness's reader, not lost. Always 0 for an MQTT far end (nothing to read again).
    pub found_later: u64,
    pub resources: Option<ResourceUse>,
}

impl Measurement {
    /// Missing, and not in the Kafka topic either when read again.
    pub fn lost(&self) -> u64 {
        self.missing.saturating_sub(self.found_later)
    }

    /// CPU microseconds the watched processes spent per delivered message.
    pub fn cpu_us_per_message(&self) -> Option<f64> {
        let resources = self.resources?;
        (self.deliveries.delivered > 0)
            .then(|| resources.cpu.as_secs_f64() * 1e6 / self.deliveries.delivered as f64)
    }
}

static CLIENT_SEQ: AtomicU64 = AtomicU64::new(0);

/// Measures `plan` through a pipeline; `watched` pids are sampled around the load.
pub async fn measure(
    endpoints: &Endpoints,
    ingress: &Ingress,
    egress: &Egress,
    plan: LoadPlan,
    timing: Timing,
    watched: &[u32],
) -> Result<Measurement> {
    let stop = CancellationToken::new();
    let expected = (plan.seq_base, plan.count);
    let (sink, progress) = TrackingSink::new(plan.seq_base, plan.count);
    let progress: std::sync::Arc<Progress> = progress;
    let reader = match egress {
        Egress::Mqtt { filter, qos } => {
            let client_id = format!(
                "bench-sub-{}-{}",
                endpoints.run_id,
                CLIENT_SEQ.fetch_add(1, Ordering::Relaxed)
            );
            mqtt_load::subscribe(
                &endpoints.mqtt,
                &client_id,
                filter,
                *qos,
                sink,
                stop.clone(),
            )
            .await?
        }
        Egress::Kafka { topic, partitions } => kafka_load::read(
            &endpoints.kafka_bootstrap,
            topic,
            *partitions,
            ReadFrom::End,
            sink,
            stop.clone(),
        )?,
    };
    let outcome = async {
        wait_ready(endpoints, ingress, &progress, timing.ready_within).await?;
        let before = proc_stats::sample_all(watched);
        let window = Window::new(progress.clone(), timing.window);
        let sent = send(endpoints, ingress, plan, Some(&window)).await?;
        wait_drained(&progress, sent.sent, timing).await;
        Ok::<_, BenchError>((
            sent,
            resource_use(&before, &proc_stats::sample_all(watched)),
        ))
    }
    .await;
    stop.cancel();
    let sink = reader.await??;
    let (sent, resources) = outcome?;
    let deliveries = sink.into_tracker().finish();
    tracing::info!(
        timeline = %format_timeline(&deliveries.timeline),
        "latency by arrival time (from: p50/p99/max ms, samples)"
    );
    let missing = sent.sent.saturating_sub(deliveries.delivered);
    let found_later = match egress {
        Egress::Kafka { topic, partitions } if missing > 0 => {
            let present = read_again(endpoints, topic, *partitions, expected, sent.sent, timing)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, topic, "reading the topic again failed");
                    deliveries.delivered
                });
            present.saturating_sub(deliveries.delivered).min(missing)
        }
        _ => 0,
    };
    Ok(Measurement {
        missing,
        found_later,
        sent,
        deliveries,
        resources: (!watched.is_empty()).then_some(resources),
    })
}

/// `0.0s 1.20/8.50/9.10 (12000); 0.5s …`: where in the run a tail came from.
fn format_timeline(timeline: &[Slice]) -> String {
    timeline
        .iter()
        .map(|slice| {
            let l = slice.latency;
            format!(
                "{:.1}s {}/{}/{} ({})",
                slice.from.as_secs_f64(),
                ms(l.p50_us),
                ms(l.p99_us),
                ms(l.max_us),
                l.samples
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// How many of the run's messages (`(first sequence number, count)`) a fresh reader finds in
/// `topic`, reading it from the start until all `sent` are there or nothing more arrives for
/// `timing.idle_after`.
async fn read_again(
    endpoints: &Endpoints,
    topic: &str,
    partitions: i32,
    (first_seq, count): (u64, u64),
    sent: u64,
    timing: Timing,
) -> Result<u64> {
    let (sink, progress) = TrackingSink::new(first_seq, count);
    let stop = CancellationToken::new();
    let reader = kafka_load::read(
        &endpoints.kafka_bootstrap,
        topic,
        partitions,
        ReadFrom::Beginning,
        sink,
        stop.clone(),
    )?;
    wait_drained(&progress, sent, timing).await;
    stop.cancel();
    let sink = reader.await??;
    Ok(sink.into_tracker().finish().delivered)
}

async fn send(
    endpoints: &Endpoints,
    ingress: &Ingress,
    plan: LoadPlan,
    window: Option<&Window>,
) -> Result<SendReport> {
    match ingress {
        Ingress::Mqtt(target) => mqtt_load::publish(&endpoints.mqtt, target, plan, window).await,
        Ingress::Kafka { topic } => {
            kafka_load::produce(&endpoints.kafka_bootstrap, topic, plan, window).await
        }
    }
}

/// Sends probes until one comes out at the far end: subscriptions, assignments, consumer group
/// joins and connections are then in place, and the load measures the pipeline, not its start-up.
async fn wait_ready(
    endpoints: &Endpoints,
    ingress: &Ingress,
    progress: &Progress,
    within: Duration,
) -> Result<()> {
    let single = match ingress {
        Ingress::Mqtt(target) => Ingress::Mqtt(PublishTarget {
            connections: 1,
            qos: QoS::AtLeastOnce,
            ..target.clone()
        }),
        other => other.clone(),
    };
    let deadline = Instant::now() + within;
    let mut probe = 0;
    while Instant::now() < deadline {
        send(
            endpoints,
            &single,
            LoadPlan::probe(PROBE_SEQ_BASE + probe),
            None,
        )
        .await?;
        probe += 1;
        let wait_until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < wait_until {
            if progress.probes() > 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Err(BenchError::timeout(
        "a probe message passing through the pipeline",
        within,
    ))
}

/// Waits until everything sent arrived, nothing arrived for a while, or the drain time is up.
async fn wait_drained(progress: &Progress, sent: u64, timing: Timing) {
    let give_up = Instant::now() + timing.drain_within;
    let mut last = progress.delivered();
    let mut last_change = Instant::now();
    while last < sent && last_change.elapsed() < timing.idle_after && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = progress.delivered();
        if now != last {
            last = now;
            last_change = Instant::now();
        }
    }
}

fn resource_use(
    before: &std::collections::BTreeMap<u32, ProcSample>,
    after: &std::collections::BTreeMap<u32, ProcSample>,
) -> ResourceUse {
    ResourceUse {
        processes: after.len(),
        cpu: proc_stats::ticks_to_duration(
            proc_stats::cpu_ticks_between(before, after),
            proc_stats::clock_ticks_per_second(),
        ),
        peak_rss_kib: after.values().map(|s| s.peak_rss_kib).max().unwrap_or(0),
    }
}
