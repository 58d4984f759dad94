//! Time for a rule change to reach every worker, seen two ways while messages keep flowing:
//! the control plane's view (every worker's applied revision passed the one before the change) and
//! the data's view (every worker that produced rows before the change produces rows of the new SQL).
//! The rule selects `node` (the worker that ran it) and a revision marker for the second view.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::error::BenchError;
use crate::flows::{MqttToKafka, rule_sql};
use crate::kafka_load::{self, ReadFrom};
use crate::load::LoadPlan;
use crate::mqtt_load::{self, PublishTarget, qos_from};
use crate::sink::MessageSink;
use crate::workers;

use super::{Outcome, Settings};

/// Messages per second while the rule changes: enough that every worker sees several per 10 ms.
const BACKGROUND_RATE: f64 = 2000.0;
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub struct RuleChange {
    pub workers: usize,
    /// Distinct `node` values producing rows before the change.
    pub active_nodes: usize,
    pub applied_by_all: Outcome<Duration>,
    pub first_new_row: Outcome<Duration>,
    pub new_rows_from_all: Outcome<Duration>,
}

#[derive(Debug, Deserialize)]
struct MarkedRow {
    bench_rev: u32,
    #[serde(default)]
    bench_node: serde_json::Value,
}

/// When each node was first seen producing rows of each rule revision.
#[derive(Debug, Default)]
struct FirstSeen(BTreeMap<u32, BTreeMap<String, Instant>>);

impl FirstSeen {
    fn nodes(&self, rev: u32) -> BTreeSet<String> {
        self.0
            .get(&rev)
            .map(|nodes| nodes.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// When every node of `nodes` had produced a row of `rev`, if it has.
    fn all_seen(&self, rev: u32, nodes: &BTreeSet<String>) -> Option<Instant> {
        let seen = self.0.get(&rev)?;
        nodes
            .iter()
            .map(|n| seen.get(n).copied())
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .max()
    }

    fn first(&self, rev: u32) -> Option<Instant> {
        self.0.get(&rev)?.values().min().copied()
    }
}

#[derive(Debug)]
struct RevisionSink(Arc<Mutex<FirstSeen>>);

impl MessageSink for RevisionSink {
    fn on_message(&mut self, payload: &[u8]) {
        let Ok(row) = serde_json::from_slice::<MarkedRow>(payload) else {
            return;
        };
        let node = match row.bench_node {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        seen.0
            .entry(row.bench_rev)
            .or_default()
            .entry(node)
            .or_insert_with(Instant::now);
    }
}

fn marked_sql(rev: u32) -> String {
    rule_sql(&format!(", node as bench_node, {rev} as bench_rev"))
}

pub async fn run(settings: &Settings) -> Outcome<RuleChange> {
    let api = settings.api()?;
    let name = format!("rule_change_{}", settings.endpoints.run_id);
    let topic = format!("bench-{}", settings.unique("rule-change"));
    let bootstrap = &settings.endpoints.kafka_bootstrap;
    kafka_load::create_topic(bootstrap, &topic, settings.partitions)
        .await
        .map_err(|e| e.to_string())?;
    let flow = MqttToKafka::create(api, &settings.flows, &name, &topic, "async", &marked_sql(1))
        .await
        .map_err(|e| format!("creating the flow: {e}"))?;

    let seen = Arc::new(Mutex::new(FirstSeen::default()));
    let stop = CancellationToken::new();
    let reader = kafka_load::read(
        bootstrap,
        &topic,
        settings.partitions,
        ReadFrom::Beginning,
        RevisionSink(seen.clone()),
        stop.clone(),
    );
    let target = PublishTarget {
        topic_prefix: format!("t/bench/{}/rule-change", settings.endpoints.run_id),
        qos: qos_from(1),
        connections: 1,
        inflight: settings.mqtt_inflight,
        client_id_prefix: format!("bench-pub-{name}"),
    };
    let plan = LoadPlan {
        count: (BACKGROUND_RATE * 120.0) as u64,
        max_duration: Duration::from_secs(120),
        rate: Some(BACKGROUND_RATE),
        seq_base: 0,
    };
    let endpoint = settings.endpoints.mqtt.clone();
    let publisher =
        tokio::spawn(async move { mqtt_load::publish(&endpoint, &target, plan, None).await });

    let outcome = match reader {
        Ok(_) => observe(settings, &flow, &seen).await,
        Err(err) => Err(err.to_string()),
    };
    publisher.abort();
    stop.cancel();
    if let Err(err) = flow.remove(api).await {
        tracing::warn!(rule = %flow.rule_id, error = %err, "could not remove a benchmark flow; the next run removes it");
    }
    outcome
}

async fn observe(
    settings: &Settings,
    flow: &MqttToKafka,
    seen: &Mutex<FirstSeen>,
) -> Outcome<RuleChange> {
    let api = settings.api()?;
    let lock = || seen.lock().unwrap_or_else(PoisonError::into_inner);
    let ready_by = Instant::now() + settings.timing.ready_within;
    while lock().first(1).is_none() {
        if Instant::now() > ready_by {
            return Err(BenchError::timeout(
                "the first row of the rule",
                settings.timing.ready_within,
            )
            .to_string());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let every worker holding a share of the subscription show up with the old rule.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let active = lock().nodes(1);
    let before = workers::list(api).await.map_err(|e| e.to_string())?;
    let revision_before = before.iter().filter_map(|w| w.applied_revision).max();

    let changed_at = Instant::now();
    flow.set_sql(api, &marked_sql(2))
        .await
        .map_err(|e| format!("updating the rule: {e}"))?;
    let mut applied_by_all: Option<Duration> = None;
    while changed_at.elapsed() < GIVE_UP_AFTER {
        if applied_by_all.is_none()
            && let (Some(r0), Ok(now)) = (revision_before, workers::list(api).await)
            && !now.is_empty()
            && now
                .iter()
                .all(|w| w.applied_revision.is_some_and(|r| r > r0))
        {
            applied_by_all = Some(changed_at.elapsed());
        }
        let all_rows = lock().all_seen(2, &active);
        if all_rows.is_some() && (applied_by_all.is_some() || revision_before.is_none()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = lock();
    let since_change = |at: Option<Instant>| {
        at.map(|t| t.saturating_duration_since(changed_at))
            .ok_or_else(|| format!("not within {GIVE_UP_AFTER:?}"))
    };
    Ok(RuleChange {
        workers: before.len(),
        active_nodes: active.len(),
        applied_by_all: match revision_before {
            None => Err("GET /api/v5/workers shows no applied_revision".to_owned()),
            Some(_) => applied_by_all.ok_or_else(|| format!("not within {GIVE_UP_AFTER:?}")),
        },
        first_new_row: since_change(seen.first(2)),
        new_rows_from_all: since_change(seen.all_seen(2, &active)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_seen_waits_for_every_node_and_reports_the_last() {
        let t0 = Instant::now();
        let mut seen = FirstSeen::default();
        let nodes: BTreeSet<String> = ["w1".to_owned(), "w2".to_owned()].into();
        seen.0
            .entry(2)
            .or_default()
            .insert("w1".into(), t0 + Duration::from_millis(5));
        assert_eq!(seen.all_seen(2, &nodes), None);
        seen.0
            .entry(2)
            .or_default()
            .insert("w2".into(), t0 + Duration::from_millis(9));
        assert_eq!(
            seen.all_seen(2, &nodes),
            Some(t0 + Duration::from_millis(9))
        );
        assert_eq!(seen.first(2), Some(t0 + Duration::from_millis(5)));
        assert_eq!(seen.first(3), None);
    }

    #[test]
    fn sink_reads_marker_columns_and_ignores_other_rows() {
        let shared = Arc::new(Mutex::new(FirstSeen::default()));
        let mut sink = RevisionSink(shared.clone());
        sink.on_message(br#"{"temp":1,"bench_node":"w1","bench_rev":2}"#);
        sink.on_message(br#"{"temp":1,"bench_rev":1}"#);
        sink.on_message(br#"{"temp":1}"#);
        let seen = shared.lock().unwrap();
        assert_eq!(seen.nodes(2), ["w1".to_owned()].into());
        assert_eq!(seen.nodes(1), ["null".to_owned()].into());
    }

    #[test]
    fn marked_sql_selects_node_and_revision() {
        assert!(marked_sql(2).contains(", node as bench_node, 2 as bench_rev FROM \"t/#\""));
    }
}
