//! Baseline: Kafka alone, producer -> Kafka -> reader, same payloads.

use crate::kafka_load;
use crate::pipeline::{Egress, Ingress, Measurement};

use super::{Outcome, PipelineRun, Settings, latency, throughput_then_latency};

pub async fn run(settings: &Settings) -> PipelineRun {
    match topic(settings, "kafka-alone").await {
        Ok((ingress, egress)) => throughput_then_latency(settings, &ingress, &egress, &[]).await,
        Err(why) => PipelineRun::failed(why),
    }
}

/// Kafka alone paced as another pipeline's latency run (half of `sustained_rate`): the Kafka
/// hop that pipeline holds, at that pipeline's pace. Kafka alone's own latency run is paced at
/// half of Kafka's far higher sustained rate.
pub async fn latency_at_pace_of(settings: &Settings, sustained_rate: f64) -> Outcome<Measurement> {
    let (ingress, egress) = topic(settings, "kafka-alone-paced").await?;
    latency::at_half_rate(settings, &ingress, &egress, sustained_rate).await
}

/// A fresh topic of the run's partition count, written and read by the harness.
async fn topic(settings: &Settings, what: &str) -> Outcome<(Ingress, Egress)> {
    let topic = format!("bench-{}", settings.unique(what));
    kafka_load::create_topic(
        &settings.endpoints.kafka_bootstrap,
        &topic,
        settings.partitions,
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok((
        Ingress::Kafka {
            topic: topic.clone(),
        },
        Egress::Kafka {
            topic,
            partitions: settings.partitions,
        },
    ))
}
