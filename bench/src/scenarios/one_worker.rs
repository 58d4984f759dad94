//! The same pipelines with one worker instead of two: does a worker's CPU per message depend on
//! how many workers share the load? (It should not: the target is the same cost with one as with
//! two.)
//!
//! Every worker but the first is frozen (SIGSTOP) before the flows are created, so it never takes
//! their assignment, joins their shared subscription or their consumer group; it is thawed
//! (SIGCONT) afterwards, even when the run fails, and the scenario waits until it applied the
//! current revision again, so the scenarios after this one see every worker.

use std::time::{Duration, Instant};

use crate::workers;

use super::{Outcome, PipelineRun, Settings, kafka_to_mqtt, mqtt_to_kafka};

/// How long a thawed worker may take to re-register and apply the current revision.
const REJOIN_WITHIN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct OneWorker {
    pub measured_pid: u32,
    pub frozen_pids: Vec<u32>,
    pub m2k_q1: PipelineRun,
    pub k2m: PipelineRun,
    /// How long the frozen workers took to apply the current revision again once thawed.
    pub rejoined: Outcome<Duration>,
}

pub async fn run(settings: &Settings) -> Outcome<OneWorker> {
    let api = settings.api()?;
    let Some((&measured_pid, others)) = settings.worker_pids.split_first() else {
        return Err("no worker process found".to_owned());
    };
    if others.is_empty() {
        return Err("needs at least two workers (the system runs one)".to_owned());
    }
    let mut one = settings.clone();
    one.worker_pids = vec![measured_pid];
    // Names, topics and sequence numbers of its own: the two-worker runs' records are still in
    // their topics.
    one.endpoints.run_id = format!("{}1w", settings.endpoints.run_id);

    let frozen = Frozen::freeze(others)?;
    tracing::info!(measured_pid, frozen = ?others, "one worker: MQTT -> Kafka, QoS 1 sync");
    let m2k_q1 = mqtt_to_kafka::run(&one, 1, "sync").await;
    tracing::info!(measured_pid, "one worker: Kafka -> MQTT");
    let k2m = kafka_to_mqtt::run(&one).await;
    drop(frozen);

    let thawed = Instant::now();
    let rejoined = wait_all_applied(api)
        .await
        .map(|()| thawed.elapsed())
        .map_err(|why| format!("after thawing: {why}"));
    Ok(OneWorker {
        measured_pid,
        frozen_pids: others.to_vec(),
        m2k_q1,
        k2m,
        rejoined,
    })
}

/// Worker processes stopped with SIGSTOP until dropped.
struct Frozen(Vec<u32>);

impl Frozen {
    fn freeze(pids: &[u32]) -> Outcome<Self> {
        let frozen = Self(pids.to_vec());
        for pid in pids {
            signal(*pid, "-STOP")?;
        }
        Ok(frozen)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for pid in &self.0 {
            if let Err(why) = signal(*pid, "-CONT") {
                tracing::error!(pid, %why, "could not thaw a worker; run `kill -CONT {pid}`");
            }
        }
    }
}

/// `kill <signal> <pid>`: the harness has no other reason to link libc.
fn signal(pid: u32, signal: &str) -> Outcome<()> {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .map_err(|e| format!("running kill: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("kill {signal} {pid} failed ({status})"))
}

/// Until every registered worker applied the same, newest revision.
async fn wait_all_applied(api: &crate::api::ApiClient) -> Outcome<()> {
    let deadline = Instant::now() + REJOIN_WITHIN;
    loop {
        let listed = workers::list(api).await.map_err(|e| e.to_string())?;
        let revisions: Vec<Option<i64>> = listed.iter().map(|w| w.applied_revision).collect();
        let newest = revisions.iter().flatten().max().copied();
        if newest.is_some() && revisions.iter().all(|r| *r == newest) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "workers still at revisions {revisions:?} after {REJOIN_WITHIN:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
