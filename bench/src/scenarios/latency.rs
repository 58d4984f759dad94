//! End-to-end latency: a paced publisher at half the pipeline's sustained rate; each message
//! carries its send time, the receiving end subtracts it from its own clock (same machine).

use crate::load::LoadPlan;
use crate::pipeline::{self, Egress, Ingress, Measurement};

use super::{Outcome, Settings};

/// Latency runs use their own sequence range, so messages of the throughput run still sitting in a
/// Kafka topic are recognised as not theirs.
pub const LATENCY_SEQ_BASE: u64 = 1 << 32;

/// Half the sustained rate, or `--latency-rate` when given.
pub fn half_rate_plan(settings: &Settings, sustained_rate: f64) -> Outcome<LoadPlan> {
    let rate = settings.latency_rate.unwrap_or(sustained_rate / 2.0);
    let count = (rate * settings.latency_duration.as_secs_f64()).round() as u64;
    if count < 100 {
        return Err(format!(
            "sustained rate {sustained_rate:.0}/s is too low for a latency run"
        ));
    }
    Ok(LoadPlan {
        count,
        // Room for a slow start; the count, not the clock, ends a paced run.
        max_duration: settings.latency_duration * 2,
        rate: Some(rate),
        seq_base: LATENCY_SEQ_BASE,
    })
}

pub async fn at_half_rate(
    settings: &Settings,
    ingress: &Ingress,
    egress: &Egress,
    sustained_rate: f64,
) -> Outcome<Measurement> {
    let plan = half_rate_plan(settings, sustained_rate)?;
    pipeline::measure(
        &settings.endpoints,
        ingress,
        egress,
        plan,
        settings.timing,
        &[],
    )
    .await
    .map_err(|e| e.to_string())
}
