//! Many rules on one connector: what a worker holds (threads, open files, memory) and how long a
//! change to one rule takes to reach every worker, at a growing number of rules that each read
//! their own topic filter (`SELECT * FROM "bench/scale/<i>/#"`) and all write through ONE
//! `kafka_producer` action. The cost must follow the traffic, not the number of idle flows: at
//! each size the one busy rule (rule 0) takes a fixed QoS 1 load and the workers' CPU per
//! delivered message is measured. Last, every rule is removed and the workers are read again:
//! what flows leave behind.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::ApiClient;
use crate::flows::{NAME_PREFIX, set_rule_sql};
use crate::load::LoadPlan;
use crate::mqtt_load::{PublishTarget, qos_from};
use crate::pipeline::{self, Egress, Ingress};
use crate::{kafka_load, workers};

use super::{Outcome, Settings};

/// How long the workers get to apply a change before it counts as not applied.
const APPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// Threads and memory settle a moment after flows stop.
const SETTLE: Duration = Duration::from_secs(5);
/// After the removal, long enough for the allocator to give freed pages back (jemalloc purges
/// unused pages over 10 s).
const SETTLE_AFTER_REMOVAL: Duration = Duration::from_secs(20);
/// Messages the busy rule takes per run: enough for a few hundred clock ticks of CPU.
const BUSY_MESSAGES: u64 = 40_000;
/// Runs of the busy rule at each size, of which the median counts: one run's CPU per message
/// varied by 1.7× between runs at the same size (0.85× to 1.60× between the sizes).
const BUSY_RUNS: u64 = 3;
/// Sequence numbers of successive sizes' loads do not overlap (they share one Kafka topic).
const SEQ_STRIDE: u64 = 10_000_000;

/// What the busiest worker holds (the most threads, files and memory of any worker).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Footprint {
    pub threads: u64,
    pub open_files: u64,
    pub rss_mib: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScalePoint {
    pub rules: usize,
    pub footprint: Footprint,
    /// A change to one rule, from the PUT until every worker applied it.
    pub one_rule_change: Outcome<Duration>,
    /// The workers' CPU microseconds per message delivered through the one busy rule.
    pub busy_rule_cpu_us: Outcome<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    pub before: Footprint,
    pub points: Vec<ScalePoint>,
    /// After every rule was removed (and `SETTLE` passed).
    pub after_removal: Footprint,
    /// From the first DELETE until every worker applied the last one.
    pub removal: Outcome<Duration>,
}

pub async fn run(settings: &Settings, sizes: &[usize]) -> Outcome<Scale> {
    let api = settings.api()?;
    let name = format!("{NAME_PREFIX}scale_{}", settings.endpoints.run_id);
    let topic = format!("bench-{}", settings.unique("scale"));
    kafka_load::create_topic(&settings.endpoints.kafka_bootstrap, &topic, 1)
        .await
        .map_err(|e| e.to_string())?;
    let bootstrap = &settings.endpoints.kafka_bootstrap;
    api.post(
        "/connectors",
        &json!({"type": "kafka_producer", "name": name, "bootstrap_hosts": bootstrap}),
    )
    .await
    .map_err(|e| e.to_string())?;
    api.post(
        "/actions",
        &json!({"type": "kafka_producer", "name": name, "connector": name,
                "parameters": {"topic": topic, "message": {"value": "${payload}"}}}),
    )
    .await
    .map_err(|e| e.to_string())?;
    let action = format!("kafka_producer:{name}");
    wait_applied(api, None).await?;
    let before = footprint(&settings.worker_pids);

    let mut rules = Vec::new();
    let mut points = Vec::new();
    for &size in sizes {
        while rules.len() < size {
            let id = format!("{name}_{}", rules.len());
            let sql = format!("SELECT * FROM \"bench/scale/{}/#\"", rules.len());
            api.post(
                "/rules",
                &json!({"id": id, "name": id, "sql": sql, "actions": [action], "enable": true}),
            )
            .await
            .map_err(|e| format!("creating rule {} of {size}: {e}", rules.len()))?;
            rules.push(id);
        }
        wait_applied(api, None).await?;
        tokio::time::sleep(SETTLE).await;
        let footprint = footprint(&settings.worker_pids);
        let one_rule_change = change_one_rule(api, &rules[0], rules.len()).await;
        let seq_base = points.len() as u64 * SEQ_STRIDE;
        let busy_rule_cpu_us = median_busy_rule_cost(settings, &topic, seq_base).await;
        tracing::info!(
            rules = size,
            ?footprint,
            ?one_rule_change,
            ?busy_rule_cpu_us,
            "scale point"
        );
        points.push(ScalePoint {
            rules: size,
            footprint,
            one_rule_change,
            busy_rule_cpu_us,
        });
    }

    let removing = Instant::now();
    let mut removal = Ok(());
    for id in &rules {
        if let Err(e) = api.delete(&format!("/rules/{id}")).await {
            removal = Err(format!("deleting {id}: {e}"));
            break;
        }
    }
    let removal = match removal {
        Ok(()) => wait_applied(api, None).await.map(|()| removing.elapsed()),
        Err(e) => Err(e),
    };
    tokio::time::sleep(SETTLE_AFTER_REMOVAL).await;
    let after_removal = footprint(&settings.worker_pids);
    let _ = api.delete(&format!("/actions/{action}")).await;
    let _ = api
        .delete(&format!("/connectors/kafka_producer:{name}"))
        .await;
    Ok(Scale {
        before,
        points,
        after_removal,
        removal,
    })
}

/// The median of [`BUSY_RUNS`] runs of [`busy_rule_cost`]; the first failure if one fails.
async fn median_busy_rule_cost(settings: &Settings, topic: &str, seq_base: u64) -> Outcome<f64> {
    let mut costs = Vec::new();
    for run in 0..BUSY_RUNS {
        let base = seq_base + run * (SEQ_STRIDE / BUSY_RUNS);
        costs.push(busy_rule_cost(settings, topic, base).await?);
    }
    costs.sort_by(f64::total_cmp);
    costs
        .get(costs.len() / 2)
        .copied()
        .ok_or_else(|| "no run of the busy rule".to_owned())
}

/// Sends [`BUSY_MESSAGES`] at QoS 1 through rule 0 (`bench/scale/0/#`) and returns the workers'
/// CPU per message that reached Kafka. QoS 1 so that nothing is shed: every message costs a full
/// pass through the rule and the action.
async fn busy_rule_cost(settings: &Settings, topic: &str, seq_base: u64) -> Outcome<f64> {
    let ingress = Ingress::Mqtt(PublishTarget {
        topic_prefix: "bench/scale/0/busy".to_owned(),
        qos: qos_from(1),
        connections: settings.mqtt_connections,
        inflight: settings.mqtt_inflight,
        client_id_prefix: format!("bench-pub-scale-{}", settings.endpoints.run_id),
    });
    let egress = Egress::Kafka {
        topic: topic.to_owned(),
        partitions: 1,
    };
    let plan = LoadPlan {
        count: BUSY_MESSAGES,
        max_duration: settings.duration,
        rate: None,
        seq_base,
    };
    let measured = pipeline::measure(
        &settings.endpoints,
        &ingress,
        &egress,
        plan,
        settings.timing,
        &settings.worker_pids,
    )
    .await
    .map_err(|e| e.to_string())?;
    if measured.lost() > 0 {
        return Err(format!(
            "{} of the busy rule's messages lost",
            measured.lost()
        ));
    }
    measured
        .cpu_us_per_message()
        .ok_or_else(|| "no worker CPU or no message measured".to_owned())
}

/// PUTs a new SQL into one rule and times it until every worker applied the new revision.
async fn change_one_rule(api: &ApiClient, id: &str, n: usize) -> Outcome<Duration> {
    let before = revisions(api).await?.into_iter().max();
    let started = Instant::now();
    let changed = format!("SELECT *, {n} as bench_rules FROM \"bench/scale/0/#\"");
    set_rule_sql(api, id, &changed)
        .await
        .map_err(|e| e.to_string())?;
    wait_applied(api, before).await?;
    Ok(started.elapsed())
}

/// Waits until every worker applied the same revision, newer than `after` when given.
async fn wait_applied(api: &ApiClient, after: Option<i64>) -> Outcome<()> {
    let deadline = Instant::now() + APPLY_TIMEOUT;
    let mut last = Vec::new();
    while Instant::now() < deadline {
        last = revisions(api).await?;
        let settled = !last.is_empty()
            && last.windows(2).all(|w| w[0] == w[1])
            && after.is_none_or(|r0| last[0] > r0);
        if settled {
            // The control plane may still be publishing a newer revision: settled twice in a row.
            tokio::time::sleep(Duration::from_millis(200)).await;
            if revisions(api).await? == last {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(format!(
        "the workers did not apply the configuration within {APPLY_TIMEOUT:?} (revisions {last:?})"
    ))
}

async fn revisions(api: &ApiClient) -> Outcome<Vec<i64>> {
    let listed = workers::list(api).await.map_err(|e| e.to_string())?;
    Ok(listed
        .iter()
        .map(|w| w.applied_revision.unwrap_or(-1))
        .collect())
}

/// The largest figures among `pids`, from /proc.
fn footprint(pids: &[u32]) -> Footprint {
    pids.iter()
        .filter_map(|pid| read_footprint(*pid))
        .fold(Footprint::default(), |acc, f| Footprint {
            threads: acc.threads.max(f.threads),
            open_files: acc.open_files.max(f.open_files),
            rss_mib: acc.rss_mib.max(f.rss_mib),
        })
}

fn read_footprint(pid: u32) -> Option<Footprint> {
    let root = format!("/proc/{pid}");
    let status = std::fs::read_to_string(format!("{root}/status")).ok()?;
    let field = |name: &str| crate::proc_stats::parse_status_kib(&status, name);
    Some(Footprint {
        threads: field("Threads")?,
        open_files: std::fs::read_dir(format!("{root}/fd")).ok()?.count() as u64,
        rss_mib: field("VmRSS")? as f64 / 1024.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_processes_own_footprint_is_read() {
        let own = read_footprint(std::process::id()).unwrap_or_default();
        assert!(
            own.threads >= 1 && own.open_files >= 3 && own.rss_mib > 1.0,
            "{own:?}"
        );
        assert_eq!(footprint(&[u32::MAX]), Footprint::default());
    }
}
