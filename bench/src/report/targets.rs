//! The targets, judged PASS or MISS from the measured figures.

use crate::pipeline::Measurement;
use crate::scenarios::{Outcome, PipelineRun};

use super::Results;
use super::format::{ms, one_line};

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    Miss,
    NotMeasured(String),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pass => f.write_str("PASS"),
            Self::Miss => f.write_str("MISS"),
            Self::NotMeasured(why) => write!(f, "n/a ({})", one_line(why)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    pub target: String,
    pub goal: String,
    pub measured: String,
    pub verdict: Verdict,
}

const RSS_LIMIT_MB: f64 = 100.0;
const CPU_LIMIT_US: f64 = 10.0;
const P99_LIMIT_US: u64 = 20_000;

fn measured(
    run: &Option<PipelineRun>,
    pick: fn(&PipelineRun) -> &Outcome<Measurement>,
) -> Outcome<&Measurement> {
    match run {
        None => Err("scenario not run".to_owned()),
        Some(run) => pick(run).as_ref().map_err(Clone::clone),
    }
}

fn throughput(run: &PipelineRun) -> &Outcome<Measurement> {
    &run.throughput
}

fn latency(run: &PipelineRun) -> &Outcome<Measurement> {
    &run.latency
}

fn row(target: String, goal: &str, judged: Outcome<(String, bool)>) -> TargetRow {
    match judged {
        Ok((measured, pass)) => TargetRow {
            target,
            goal: goal.to_owned(),
            measured,
            verdict: if pass { Verdict::Pass } else { Verdict::Miss },
        },
        Err(why) => TargetRow {
            target,
            goal: goal.to_owned(),
            measured: "–".to_owned(),
            verdict: Verdict::NotMeasured(why),
        },
    }
}

fn ratio_target(
    name: String,
    goal: f64,
    flow: &Option<PipelineRun>,
    base: &Option<PipelineRun>,
) -> TargetRow {
    let judged = (|| {
        let flow = measured(flow, throughput)?.deliveries.rate;
        let base = measured(base, throughput)?.deliveries.rate;
        if base <= 0.0 {
            return Err("baseline delivered nothing".to_owned());
        }
        let ratio = flow / base;
        Ok((
            format!("{ratio:.2}× ({flow:.0} vs {base:.0} msg/s)"),
            ratio >= goal,
        ))
    })();
    row(name, &format!("≥ {goal:.2}× broker alone"), judged)
}

pub fn evaluate(results: &Results) -> Vec<TargetRow> {
    let k = results.k2m_qos;
    let k2m_base = if k == 0 {
        &results.broker_q0
    } else {
        &results.broker_q1
    };
    let flows: [(&str, &Option<PipelineRun>); 3] = [
        ("MQTT→Kafka QoS 0 async", &results.tributary_m2k_q0),
        ("MQTT→Kafka QoS 1 sync", &results.tributary_m2k_q1),
        ("Kafka→MQTT", &results.tributary_k2m),
    ];
    let mut rows = vec![
        ratio_target(
            "MQTT→Kafka QoS 0 async throughput".into(),
            0.70,
            &results.tributary_m2k_q0,
            &results.broker_q0,
        ),
        ratio_target(
            "MQTT→Kafka QoS 1 sync throughput".into(),
            0.50,
            &results.tributary_m2k_q1,
            &results.broker_q1,
        ),
        ratio_target(
            format!("Kafka→MQTT (QoS {k}) throughput"),
            0.70,
            &results.tributary_k2m,
            k2m_base,
        ),
    ];
    for (name, flow) in flows {
        let judged = measured(flow, latency).map(|m| {
            (
                format!("{} ms", ms(m.deliveries.latency.p99_us)),
                m.deliveries.latency.p99_us <= P99_LIMIT_US,
            )
        });
        rows.push(row(
            format!("{name} p99 latency at half load"),
            "≤ 20 ms",
            judged,
        ));
    }
    for (name, flow) in flows {
        let judged = measured(flow, throughput).and_then(|m| {
            let us = m
                .cpu_us_per_message()
                .ok_or("no worker process measured (see how pids were found)")?;
            Ok((format!("{us:.1} µs"), us <= CPU_LIMIT_US))
        });
        rows.push(row(
            format!("{name} worker CPU per message"),
            "≤ 10 µs",
            judged,
        ));
    }
    let peak = flows
        .iter()
        .filter_map(|(_, flow)| measured(flow, throughput).ok()?.resources)
        .map(|r| r.peak_rss_kib)
        .max();
    let judged = peak
        .map(|kib| {
            let mb = kib as f64 * 1024.0 / 1e6;
            (format!("{mb:.1} MB"), mb <= RSS_LIMIT_MB)
        })
        .ok_or_else(|| "no worker process measured".to_owned());
    rows.push(row("Worker peak RSS under load".into(), "≤ 100 MB", judged));
    let mut lossless: Vec<(&str, &Option<PipelineRun>)> =
        vec![("MQTT→Kafka QoS 1 sync", &results.tributary_m2k_q1)];
    if k > 0 {
        lossless.push(("Kafka→MQTT", &results.tributary_k2m));
    }
    for (name, flow) in lossless {
        let judged = (|| {
            let (throughput, latency) = (measured(flow, throughput)?, measured(flow, latency)?);
            let missing = throughput.missing + latency.missing;
            let lost = throughput.lost() + latency.lost();
            let text = if missing == lost {
                format!("{lost} missing")
            } else {
                format!(
                    "{lost} lost ({missing} missing at the drain, {} of them found in Kafka afterwards)",
                    missing - lost
                )
            };
            Ok((text, lost == 0))
        })();
        rows.push(row(
            format!("{name}: nothing lost (at least once)"),
            "0 missing at the end of the drain, or found in Kafka when read again",
            judged,
        ));
    }
    rows.extend(scale_targets(results));
    rows
}

/// At the largest number of rules measured (1,000 by default), on one connector.
fn scale_targets(results: &Results) -> Vec<TargetRow> {
    let Some(scale) = &results.scale else {
        return Vec::new();
    };
    let largest = scale.as_ref().map_err(Clone::clone).and_then(|s| {
        s.points
            .last()
            .cloned()
            .ok_or_else(|| "no size measured".to_owned())
    });
    let rules = largest.as_ref().map_or(0, |p| p.rules);
    let judge = |f: &dyn Fn(&crate::scenarios::scale::ScalePoint) -> (String, bool)| {
        largest.as_ref().map(f).map_err(Clone::clone)
    };
    vec![
        row(
            format!("Worker threads at {rules} rules"),
            "< 50",
            judge(&|p| (p.footprint.threads.to_string(), p.footprint.threads < 50)),
        ),
        row(
            format!("Worker open files at {rules} rules"),
            "< 100",
            judge(&|p| {
                (
                    p.footprint.open_files.to_string(),
                    p.footprint.open_files < 100,
                )
            }),
        ),
        row(
            format!("Worker RSS at {rules} rules"),
            "< 150 MB",
            judge(&|p| {
                let mb = p.footprint.rss_mib * 1.048_576;
                (format!("{mb:.0} MB"), mb < 150.0)
            }),
        ),
        row(
            format!("One rule changed at {rules} rules, applied by every worker"),
            "< 1 s",
            largest.as_ref().map_err(Clone::clone).and_then(|p| {
                let d = p.one_rule_change.as_ref().map_err(Clone::clone)?;
                Ok((format!("{} ms", d.as_millis()), d.as_secs_f64() < 1.0))
            }),
        ),
    ]
}
