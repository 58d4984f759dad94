//! Baseline: Kafka alone, producer -> Kafka -> reader, same payloads.

use crate::kafka_load;
use crate::pipeline::{Egress, Ingress};

use super::{PipelineRun, Settings, throughput_then_latency};

pub async fn run(settings: &Settings) -> PipelineRun {
    let topic = format!("bench-{}", settings.unique("kafka-alone"));
    if let Err(err) = kafka_load::create_topic(
        &settings.endpoints.kafka_bootstrap,
        &topic,
        settings.partitions,
    )
    .await
    {
        return PipelineRun::failed(err.to_string());
    }
    let ingress = Ingress::Kafka {
        topic: topic.clone(),
    };
    let egress = Egress::Kafka {
        topic,
        partitions: settings.partitions,
    };
    throughput_then_latency(settings, &ingress, &egress, &[]).await
}
