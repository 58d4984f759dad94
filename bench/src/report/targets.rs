//! The targets, judged PASS or MISS from the measured figures.

use crate::pipeline::Measurement;
use crate::scenarios::one_worker::OneWorker;
use crate::scenarios::{Outcome, PipelineRun};

use super::Results;
use super::format::{ms, one_line, rate};

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

/// Issue 15's goals, all ratios against baselines measured in the same run.
const M2K_Q0_THROUGHPUT: f64 = 0.80;
const M2K_Q1_THROUGHPUT: f64 = 0.60;
const K2M_THROUGHPUT: f64 = 0.80;
const M2K_CPU_OF_BRIDGE: f64 = 0.20;
const K2M_CPU_OF_BRIDGE: f64 = 0.10;
const P99_OF_BEST_BASELINE: f64 = 2.0;
/// One worker's CPU per message against two workers': "the same", within the run-to-run noise.
const ONE_WORKER_CPU_BAND: (f64, f64) = (0.80, 1.20);
/// Worker RSS at the end of the soak against RSS once warmed up.
const SOAK_RSS_GROWTH: f64 = 1.10;

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

fn cpu_us(run: &Option<PipelineRun>) -> Outcome<f64> {
    measured(run, throughput)?
        .cpu_us_per_message()
        .ok_or_else(|| "no process measured (see how pids were found)".to_owned())
}

/// Worker CPU per message against the Python bridge's for the same job.
fn cpu_target(
    name: &str,
    goal: f64,
    flow: &Option<PipelineRun>,
    bridge: Option<&PipelineRun>,
) -> TargetRow {
    let judged = (|| {
        let ours = cpu_us(flow)?;
        let theirs = cpu_us(&bridge.cloned())?;
        let ratio = ours / theirs;
        Ok((
            format!("{ratio:.2}× ({ours:.1} vs {theirs:.1} µs)"),
            ratio <= goal,
        ))
    })();
    row(
        format!("{name} worker CPU per message"),
        &format!("≤ {goal:.2}× the Python bridge's"),
        judged,
    )
}

/// p99 at half load against the better (lower) p99 of the MQTT broker alone at the same QoS and
/// Kafka alone.
fn p99_target(
    name: &str,
    flow: &Option<PipelineRun>,
    broker: &Option<PipelineRun>,
    kafka: &Option<PipelineRun>,
) -> TargetRow {
    let judged = (|| {
        let ours = measured(flow, latency)?.deliveries.latency.p99_us;
        let best = [broker, kafka]
            .iter()
            .filter_map(|base| measured(base, latency).ok())
            .map(|m| m.deliveries.latency.p99_us)
            .min()
            .ok_or("no baseline latency measured")?;
        let ratio = ours as f64 / best.max(1) as f64;
        Ok((
            format!("{ratio:.2}× ({} vs {} ms)", ms(ours), ms(best)),
            ratio <= P99_OF_BEST_BASELINE,
        ))
    })();
    row(
        format!("{name} p99 latency at half load"),
        &format!("≤ {P99_OF_BEST_BASELINE:.0}× the better of broker alone and Kafka alone"),
        judged,
    )
}

/// What the QoS 0 p99 target asks beside what the Kafka hop alone takes at that pipeline's pace:
/// every MQTT→Kafka path holds that hop, so a bound under the hop's own p99 is one no bridge
/// through this Kafka meets.
pub fn kafka_hop_context(results: &Results) -> Option<String> {
    let hop = results.kafka_alone_at_m2k_q0_pace.as_ref()?.as_ref().ok()?;
    let hop_p99 = hop.deliveries.latency.p99_us;
    let pace = hop.sent.sent as f64 / hop.sent.elapsed.as_secs_f64().max(1e-9);
    let mut text = format!(
        "The Kafka hop alone at the QoS 0 pipeline's pace (Kafka alone paced at {} msg/s) \
         had a p99 of {} ms",
        rate(pace),
        ms(hop_p99)
    );
    if let Ok(broker) = measured(&results.broker_q0, latency) {
        let bound = (broker.deliveries.latency.p99_us as f64 * P99_OF_BEST_BASELINE) as u64;
        let against = if bound < hop_p99 {
            "under it: a path that holds this Kafka hop would have to beat Kafka alone at the \
             same pace to meet it"
        } else {
            "over it"
        };
        text.push_str(&format!(
            "; the QoS 0 p99 target's bound, {P99_OF_BEST_BASELINE:.0}× the broker alone's, is {} ms, {against}",
            ms(bound)
        ));
    }
    if let Ok(ours) = measured(&results.tributary_m2k_q0, latency) {
        let ratio = ours.deliveries.latency.p99_us as f64 / hop_p99.max(1) as f64;
        text.push_str(&format!(
            ". The QoS 0 pipeline's p99 was {ratio:.2}× the hop's"
        ));
    }
    text.push('.');
    Some(text)
}

pub fn evaluate(results: &Results) -> Vec<TargetRow> {
    let k = results.k2m_qos;
    let k2m_base = if k == 0 {
        &results.broker_q0
    } else {
        &results.broker_q1
    };
    let bridge =
        |b: &Option<crate::scenarios::python_bridge::BridgeRun>| b.as_ref().map(|b| b.run.clone());
    let mut rows = vec![
        ratio_target(
            "MQTT→Kafka QoS 0 async throughput".into(),
            M2K_Q0_THROUGHPUT,
            &results.tributary_m2k_q0,
            &results.broker_q0,
        ),
        ratio_target(
            "MQTT→Kafka QoS 1 sync throughput".into(),
            M2K_Q1_THROUGHPUT,
            &results.tributary_m2k_q1,
            &results.broker_q1,
        ),
        ratio_target(
            format!("Kafka→MQTT (QoS {k}) throughput"),
            K2M_THROUGHPUT,
            &results.tributary_k2m,
            k2m_base,
        ),
        p99_target(
            "MQTT→Kafka QoS 0 async",
            &results.tributary_m2k_q0,
            &results.broker_q0,
            &results.kafka_alone,
        ),
        p99_target(
            "MQTT→Kafka QoS 1 sync",
            &results.tributary_m2k_q1,
            &results.broker_q1,
            &results.kafka_alone,
        ),
        p99_target(
            "Kafka→MQTT",
            &results.tributary_k2m,
            k2m_base,
            &results.kafka_alone,
        ),
        cpu_target(
            "MQTT→Kafka QoS 0 async",
            M2K_CPU_OF_BRIDGE,
            &results.tributary_m2k_q0,
            bridge(&results.python_m2k_q0).as_ref(),
        ),
        cpu_target(
            "MQTT→Kafka QoS 1 sync",
            M2K_CPU_OF_BRIDGE,
            &results.tributary_m2k_q1,
            bridge(&results.python_m2k_q1).as_ref(),
        ),
        cpu_target(
            "Kafka→MQTT",
            K2M_CPU_OF_BRIDGE,
            &results.tributary_k2m,
            bridge(&results.python_k2m).as_ref(),
        ),
    ];
    rows.extend(one_worker_targets(results));
    let flows: [&Option<PipelineRun>; 3] = [
        &results.tributary_m2k_q0,
        &results.tributary_m2k_q1,
        &results.tributary_k2m,
    ];
    let peak = flows
        .iter()
        .filter_map(|flow| measured(flow, throughput).ok()?.resources)
        .map(|r| r.peak_rss_kib)
        .max();
    let judged = peak
        .map(|kib| {
            let mb = kib as f64 * 1024.0 / 1e6;
            (format!("{mb:.1} MB"), mb <= RSS_LIMIT_MB)
        })
        .ok_or_else(|| "no worker process measured".to_owned());
    rows.push(row("Worker peak RSS under load".into(), "≤ 100 MB", judged));
    rows.extend(soak_target(results));
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

/// Which of the one-worker runs a target reads.
type PickRun = fn(&OneWorker) -> &PipelineRun;

/// One worker's CPU per message against two workers' for the same flow.
fn one_worker_targets(results: &Results) -> Vec<TargetRow> {
    let Some(one) = &results.one_worker else {
        return Vec::new();
    };
    let (low, high) = ONE_WORKER_CPU_BAND;
    let pairs: [(&str, &Option<PipelineRun>, PickRun); 2] = [
        ("MQTT→Kafka QoS 1 sync", &results.tributary_m2k_q1, |o| {
            &o.m2k_q1
        }),
        ("Kafka→MQTT", &results.tributary_k2m, |o| &o.k2m),
    ];
    pairs
        .into_iter()
        .map(|(name, two, pick)| {
            let judged = (|| {
                let one = one.as_ref().map_err(Clone::clone)?;
                let single = cpu_us(&Some(pick(one).clone()))?;
                let double = cpu_us(two)?;
                let ratio = single / double;
                Ok((
                    format!("{ratio:.2}× ({single:.1} µs with one, {double:.1} µs with two)"),
                    (low..=high).contains(&ratio),
                ))
            })();
            row(
                format!("{name} worker CPU per message, one worker against two"),
                &format!("{low:.2}×–{high:.2}×"),
                judged,
            )
        })
        .collect()
}

fn soak_target(results: &Results) -> Option<TargetRow> {
    let soak = results.soak.as_ref()?;
    let judged = soak.as_ref().map_err(Clone::clone).and_then(|s| {
        let warm = s.warm_rss_kib().ok_or("no RSS sample")?;
        let last = s.final_rss_kib().ok_or("no RSS sample")?;
        let ratio = last as f64 / warm.max(1) as f64;
        Ok((
            format!(
                "{ratio:.2}× ({:.1} MB at the end, {:.1} MB after the first minute, over {} s)",
                last as f64 * 1.024 / 1000.0,
                warm as f64 * 1.024 / 1000.0,
                s.rss.last().map_or(0, |(at, _)| *at)
            ),
            ratio <= SOAK_RSS_GROWTH,
        ))
    });
    Some(row(
        "Worker RSS over the soak run".into(),
        &format!("flat: ≤ {SOAK_RSS_GROWTH:.2}× RSS after the first minute"),
        judged,
    ))
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
            format!("Busy rule's CPU per message at {rules} rules, against 1 rule"),
            "≤ 1.25×",
            busy_rule_growth(scale),
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

/// The busy rule's CPU per message at the largest size over that at the smallest: idle rules
/// must not make a busy one dearer.
fn busy_rule_growth(scale: &Outcome<crate::scenarios::scale::Scale>) -> Outcome<(String, bool)> {
    let scale = scale.as_ref().map_err(Clone::clone)?;
    let (Some(first), Some(last)) = (scale.points.first(), scale.points.last()) else {
        return Err("no size measured".to_owned());
    };
    let smallest = first.busy_rule_cpu_us.as_ref().map_err(Clone::clone)?;
    let largest = last.busy_rule_cpu_us.as_ref().map_err(Clone::clone)?;
    let ratio = largest / smallest;
    Ok((
        format!(
            "{ratio:.2}× ({largest:.1} µs at {} rules, {smallest:.1} µs at {})",
            last.rules, first.rules
        ),
        ratio <= 1.25,
    ))
}
