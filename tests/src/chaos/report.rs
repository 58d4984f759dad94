//! A chaos run's results, reconciled, as Markdown (what RELIABILITY.md quotes).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Config;
use super::tally::Summary;
use super::traffic::Sent;

#[derive(Debug, Clone)]
pub struct FaultRecord {
    pub fault: String,
    pub note: String,
    /// When it started, from the start of the traffic.
    pub at: Duration,
    /// How long applying it took (killing, waiting down, starting again).
    pub took: Duration,
    /// From the fault's start until every message sent before it had arrived (None: never).
    pub m2k_recovered: Option<Duration>,
    pub k2m_recovered: Option<Duration>,
    /// Duplicates that arrived from this fault's start until the next fault's: the copies it
    /// caused, give or take a redelivery that took longer than the gap.
    pub m2k_duplicates: u64,
    pub k2m_duplicates: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SentFigures {
    pub sent: usize,
    pub acked: u64,
    pub sessions_lost: u64,
    pub retried: u64,
}

impl SentFigures {
    pub fn of(sent: &Sent) -> Self {
        Self {
            sent: sent.sent.load(Ordering::Relaxed),
            acked: sent.acked.load(Ordering::Relaxed),
            sessions_lost: sent.sessions_lost.load(Ordering::Relaxed),
            retried: sent.retried.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub config: Config,
    pub m2k: Summary,
    pub k2m: Summary,
    pub m2k_sent: SentFigures,
    pub k2m_sent: SentFigures,
    pub subscriber_sessions_lost: usize,
    pub rule_counters: BTreeMap<String, u64>,
    pub action_counters: BTreeMap<String, u64>,
    pub source_counters: BTreeMap<String, u64>,
    pub worker_processes: usize,
    /// The control plane's `/rules/{id}/metrics` and `/sources/{id}/metrics` at the end.
    pub control_metrics: (serde_json::Value, serde_json::Value),
    pub faults: Vec<FaultRecord>,
    pub faults_ended: Duration,
    pub traffic_time: Duration,
    pub total_time: Duration,
}

impl Report {
    /// Nothing lost either way, and every message was sent and acknowledged where it entered.
    pub fn lost(&self) -> usize {
        self.m2k.missing + self.k2m.missing
    }

    /// How often each fault ran.
    pub fn fault_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for record in &self.faults {
            *counts.entry(record.fault.clone()).or_default() += 1;
        }
        counts
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let c = &self.config;
        let _ = writeln!(
            out,
            "### Chaos run: {} messages each way at {}/s, {} workers, a worker killed every {:.0} s and another fault in between\n",
            c.messages,
            c.rate,
            c.workers,
            c.fault_interval.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "Traffic and faults {:.0} s (faults until {:.0} s), whole run {:.0} s; seed {}; {} worker processes ran.\n",
            self.traffic_time.as_secs_f64(),
            self.faults_ended.as_secs_f64(),
            self.total_time.as_secs_f64(),
            c.seed,
            self.worker_processes
        );
        if c.hold_publisher {
            let _ = writeln!(
                out,
                "The MQTT publisher is held while Mosquitto restarts, until a probe gets through the \
                 rule (Mosquitto restores sessions but not their shared subscriptions, and discards \
                 what is published before the workers subscribe again; see RELIABILITY.md).\n"
            );
        }
        let _ = writeln!(
            out,
            "| | sent | acknowledged where it entered | arrived (all) | distinct | duplicates | **lost** |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for (name, sent, summary) in [
            ("MQTT → Kafka (QoS 1, sync)", &self.m2k_sent, &self.m2k),
            ("Kafka → MQTT (QoS 1)", &self.k2m_sent, &self.k2m),
        ] {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} | {} | **{}** |",
                sent.sent,
                sent.acked,
                summary.received,
                summary.distinct,
                summary.duplicates,
                summary.missing
            );
        }
        for (name, summary) in [("MQTT → Kafka", &self.m2k), ("Kafka → MQTT", &self.k2m)] {
            if summary.missing > 0 {
                let _ = writeln!(
                    out,
                    "\n{name} lost {} messages; the first: {:?}",
                    summary.missing, summary.first_missing
                );
            }
            if summary.foreign > 0 {
                let _ = writeln!(
                    out,
                    "\n{name}: {} records without a number of this run",
                    summary.foreign
                );
            }
        }
        let _ = writeln!(out, "\n#### Reconciled with Tributary's counters\n");
        let _ = writeln!(
            out,
            "Summed over every worker process (each scraped every second and just before it was \
             stopped; what a SIGKILLed process counted after its last scrape is not in the sums)."
        );
        let get = |map: &BTreeMap<String, u64>, key: &str| map.get(key).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "\n- MQTT → Kafka: the publisher got {} PUBACKs for {} messages ({} session(s) lost on \
             reconnection); the rule matched {} and its actions succeeded {} times (failed {}); \
             the sink topic holds {} records, {} of them duplicates. Records produced by a \
             process that was then killed before it acknowledged the MQTT message are delivered \
             again by the broker: each is one duplicate.",
            self.m2k_sent.acked,
            self.m2k_sent.sent,
            self.m2k_sent.sessions_lost,
            get(&self.rule_counters, "matched"),
            get(&self.rule_counters, "actions_success"),
            get(&self.rule_counters, "actions_failed"),
            self.m2k.received,
            self.m2k.duplicates,
        );
        let _ = writeln!(
            out,
            "- Kafka → MQTT: {} records produced ({} produce retries); the source's counters: {}; \
             the subscriber got {} messages, {} of them duplicates ({} session(s) lost on \
             reconnection). A record published by a process that was stopped before it committed \
             the offset is consumed again by the group's next owner of the partition: each is \
             one duplicate.",
            self.k2m_sent.acked,
            self.k2m_sent.retried,
            counters(&self.source_counters),
            self.k2m.received,
            self.k2m.duplicates,
            self.subscriber_sessions_lost,
        );
        let _ = writeln!(
            out,
            "- The rule's counters: {}; the action's: {}.",
            counters(&self.rule_counters),
            counters(&self.action_counters)
        );
        let _ = writeln!(out, "\n#### Faults and recovery\n");
        let _ = writeln!(
            out,
            "Recovered: from the fault's start until every message sent before it had arrived at \
             the far end (the baseline is the same measure with nothing wrong).\n"
        );
        let _ = writeln!(
            out,
            "| fault | runs | applying it, median | recovered MQTT → Kafka, median / max | recovered Kafka → MQTT, median / max | not recovered | duplicates after it, MQTT → Kafka / Kafka → MQTT |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        let mut names: Vec<&str> = Vec::new();
        for record in &self.faults {
            if !names.contains(&record.fault.as_str()) {
                names.push(&record.fault);
            }
        }
        for name in names {
            let of: Vec<&FaultRecord> = self.faults.iter().filter(|r| r.fault == name).collect();
            let took: Vec<Duration> = of.iter().map(|r| r.took).collect();
            let m2k: Vec<Duration> = of.iter().filter_map(|r| r.m2k_recovered).collect();
            let k2m: Vec<Duration> = of.iter().filter_map(|r| r.k2m_recovered).collect();
            let never = of
                .iter()
                .filter(|r| r.m2k_recovered.is_none() || r.k2m_recovered.is_none())
                .count();
            let m2k_duplicates: u64 = of.iter().map(|r| r.m2k_duplicates).sum();
            let k2m_duplicates: u64 = of.iter().map(|r| r.k2m_duplicates).sum();
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} / {} | {} / {} | {never} | {m2k_duplicates} / {k2m_duplicates} |",
                of.len(),
                seconds(median(&took)),
                seconds(median(&m2k)),
                seconds(m2k.iter().max().copied()),
                seconds(median(&k2m)),
                seconds(k2m.iter().max().copied()),
            );
        }
        out
    }

    /// Every fault, one line each (the run's log).
    pub fn timeline(&self) -> String {
        let mut out = String::new();
        for r in &self.faults {
            let _ = writeln!(
                out,
                "{:>7.1} s  {:<18} took {:>5.1} s  recovered m2k {:>6}  k2m {:>6}  duplicates m2k {:>5}  k2m {:>5}  {}",
                r.at.as_secs_f64(),
                r.fault,
                r.took.as_secs_f64(),
                seconds(r.m2k_recovered),
                seconds(r.k2m_recovered),
                r.m2k_duplicates,
                r.k2m_duplicates,
                r.note
            );
        }
        out
    }
}

fn counters(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none scraped".to_owned();
    }
    // Workers export every counter from the start; the zeros say nothing here.
    map.iter()
        .filter(|(_, v)| **v != 0)
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn median(values: &[Duration]) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied()
}

fn seconds(value: Option<Duration>) -> String {
    value.map_or("–".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()))
}
