//! What an outage run measured, as Markdown, and the checks it must pass.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::rss::mib;
use super::{Config, Scenario};
use crate::chaos::tally::Summary;

#[derive(Debug)]
pub struct Report {
    pub config: Config,
    /// The worker's label, whose log (`process::log_path`) a failed run points to.
    pub worker: String,
    pub kafka_down: Option<KafkaDown>,
    pub mqtt_down: Option<MqttDown>,
    pub total: Duration,
}

/// Resident memory of the worker: before the outage, the highest sample during it, the highest
/// sample until the end of the phase, the kernel's high-water mark (`VmHWM`, the process's whole
/// life) and at the end.
pub trait Memory {
    fn rss(&self) -> [u64; 5];
}

#[derive(Debug)]
pub struct KafkaDown {
    pub sent: usize,
    /// PUBACKs Mosquitto sent the publisher.
    pub acknowledged: u64,
    pub sessions_lost: u64,
    pub rss_before: u64,
    pub rss_peak_outage: u64,
    pub rss_peak: u64,
    pub rss_hwm: u64,
    pub rss_after: u64,
    pub flows: Vec<FlowOutcome>,
}

#[derive(Debug)]
pub struct FlowOutcome {
    pub mode: Scenario,
    pub summary: Summary,
    /// The action's counters from the REST API.
    pub counters: BTreeMap<String, u64>,
    /// From Kafka's return until everything sent before it had arrived (None: it never did).
    pub recovered: Option<Duration>,
}

impl FlowOutcome {
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
}

#[derive(Debug)]
pub struct MqttDown {
    pub sent: usize,
    /// Kafka delivery reports the producer got.
    pub acknowledged: u64,
    pub acked_before: u64,
    /// Records handed to the producer by the time Mosquitto was stopped.
    pub produced_before: u64,
    /// The group's committed offsets (summed over partitions) at the first sample during the
    /// outage, the highest sample during it, and after everything arrived.
    pub committed_at_start: u64,
    pub committed_max: u64,
    pub committed_samples: u32,
    pub committed_after: u64,
    pub summary: Summary,
    /// The source's counters from the REST API.
    pub counters: BTreeMap<String, u64>,
    pub subscriber_sessions_lost: usize,
    pub recovered: Option<Duration>,
    pub rss_before: u64,
    pub rss_peak_outage: u64,
    pub rss_peak: u64,
    pub rss_hwm: u64,
    pub rss_after: u64,
}

impl Memory for KafkaDown {
    fn rss(&self) -> [u64; 5] {
        [
            self.rss_before,
            self.rss_peak_outage,
            self.rss_peak,
            self.rss_hwm,
            self.rss_after,
        ]
    }
}

impl Memory for MqttDown {
    fn rss(&self) -> [u64; 5] {
        [
            self.rss_before,
            self.rss_peak_outage,
            self.rss_peak,
            self.rss_hwm,
            self.rss_after,
        ]
    }
}

impl Report {
    /// Every broken promise, in words; empty when the run passed. `rss_bound` is the most the
    /// worker's resident memory may reach during and after an outage, `growth_bound` the most it
    /// may grow over what it was before the outage.
    pub fn failures(&self, rss_bound: u64, growth_bound: u64) -> Vec<String> {
        let mut failures = Vec::new();
        let mut memory = |what: &str, rss: [u64; 5]| {
            let peak = rss[1].max(rss[2]);
            if peak > rss_bound {
                failures.push(format!(
                    "{what}: the worker's RSS reached {} (bound {})",
                    mib(peak),
                    mib(rss_bound)
                ));
            }
            if peak.saturating_sub(rss[0]) > growth_bound {
                failures.push(format!(
                    "{what}: the worker's RSS grew from {} to {} (by more than {})",
                    mib(rss[0]),
                    mib(peak),
                    mib(growth_bound)
                ));
            }
        };
        if let Some(kafka) = &self.kafka_down {
            memory("Kafka down", kafka.rss());
        }
        if let Some(mqtt) = &self.mqtt_down {
            memory("MQTT down", mqtt.rss());
        }
        if let Some(kafka) = &self.kafka_down {
            if kafka.acknowledged < kafka.sent as u64 {
                failures.push(format!(
                    "Kafka down: Mosquitto acknowledged only {} of {} messages",
                    kafka.acknowledged, kafka.sent
                ));
            }
            for flow in &kafka.flows {
                let s = &flow.summary;
                match flow.mode {
                    Scenario::Sync if s.missing > 0 => failures.push(format!(
                        "sync: lost {} (first: {:?})",
                        s.missing, s.first_missing
                    )),
                    Scenario::Async => {
                        let dropped = flow.counter("dropped") + flow.counter("failed");
                        if s.distinct as u64 + dropped != kafka.sent as u64 {
                            failures.push(format!(
                                "async: {} delivered + {dropped} dropped or failed (counted) != {} sent; counters {:?}",
                                s.distinct, kafka.sent, flow.counters
                            ));
                        }
                        if flow.counter("dropped.queue_full") == 0 {
                            failures.push(
                                "async: the outage dropped nothing from the buffer: it was not long enough to fill it".to_owned(),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(mqtt) = &self.mqtt_down {
            let s = &mqtt.summary;
            if s.missing > 0 {
                failures.push(format!(
                    "MQTT down: lost {} (first: {:?})",
                    s.missing, s.first_missing
                ));
            }
            if mqtt.committed_max > mqtt.produced_before {
                failures.push(format!(
                    "MQTT down: offsets committed up to {} while only {} records were produced before the broker went away",
                    mqtt.committed_max, mqtt.produced_before
                ));
            }
            if mqtt.committed_samples == 0 {
                failures.push("MQTT down: the committed offsets could not be read".to_owned());
            }
            if mqtt.committed_after < mqtt.sent as u64 {
                failures.push(format!(
                    "MQTT down: after the outage the group committed {} of {} records",
                    mqtt.committed_after, mqtt.sent
                ));
            }
            if mqtt.subscriber_sessions_lost > 0 {
                failures.push("MQTT down: the subscriber's session was lost".to_owned());
            }
        }
        failures
    }

    pub fn markdown(&self) -> String {
        let c = &self.config;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "#### Outage run: {} s of outage at {}/s ({} s of traffic before, {} after), {} partitions, async buffer {} per partition\n",
            c.outage.as_secs(),
            c.rate,
            c.before.as_secs(),
            c.after.as_secs(),
            c.partitions,
            c.async_partition_limit
        );
        let _ = writeln!(
            out,
            "| phase | RSS before | peak during the outage | peak until delivered | VmHWM | at the end |\n|---|---:|---:|---:|---:|---:|"
        );
        let row = |out: &mut String, name: &str, rss: [u64; 5]| {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} | {} |",
                mib(rss[0]),
                mib(rss[1]),
                mib(rss[2]),
                mib(rss[3]),
                mib(rss[4])
            );
        };
        if let Some(kafka) = &self.kafka_down {
            let modes: Vec<&str> = kafka.flows.iter().map(|f| f.mode.name()).collect();
            row(
                &mut out,
                &format!("Kafka down ({})", modes.join(" + ")),
                kafka.rss(),
            );
        }
        if let Some(mqtt) = &self.mqtt_down {
            row(&mut out, "MQTT down (source)", mqtt.rss());
        }
        let _ = writeln!(
            out,
            "\n| flow | sent | delivered (distinct) | duplicates | dropped, counted | **lost** | recovered after the broker's return |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        let recovered = |r: Option<Duration>| {
            r.map_or("never".to_owned(), |r| format!("{:.1} s", r.as_secs_f64()))
        };
        if let Some(kafka) = &self.kafka_down {
            for flow in &kafka.flows {
                let s = &flow.summary;
                let dropped = flow.counter("dropped");
                let lost = match flow.mode {
                    // Anything not delivered is a loss in sync mode; in async mode what the
                    // buffer dropped is counted and only the unaccounted rest is lost.
                    Scenario::Sync => s.missing as u64,
                    _ => (s.missing as u64).saturating_sub(dropped + flow.counter("failed")),
                };
                let _ = writeln!(
                    out,
                    "| MQTT → Kafka `{}` | {} | {} | {} | {dropped} (queue_full {}) | **{lost}** | {} |",
                    flow.mode.name(),
                    kafka.sent,
                    s.distinct,
                    s.duplicates,
                    flow.counter("dropped.queue_full"),
                    recovered(flow.recovered)
                );
            }
        }
        if let Some(mqtt) = &self.mqtt_down {
            let s = &mqtt.summary;
            let _ = writeln!(
                out,
                "| Kafka → MQTT (QoS 1) | {} | {} | {} | {} | **{}** | {} |",
                mqtt.sent,
                s.distinct,
                s.duplicates,
                mqtt.counters.get("dropped").copied().unwrap_or(0),
                s.missing,
                recovered(mqtt.recovered)
            );
            let _ = writeln!(
                out,
                "\nKafka → MQTT offsets: {} records produced before Mosquitto stopped; the group's committed offsets (sum over partitions) were {} at the outage's start and at most {} during it ({} samples), {} once everything arrived.",
                mqtt.produced_before,
                mqtt.committed_at_start,
                mqtt.committed_max,
                mqtt.committed_samples,
                mqtt.committed_after
            );
        }
        let _ = writeln!(out, "\nWhole run {:.0} s.", self.total.as_secs_f64());
        out
    }
}
