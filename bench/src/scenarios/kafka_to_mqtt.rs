//! Tributary Kafka -> MQTT: a `kafka_consumer` source with one topic mapping, counted at an MQTT
//! subscriber and cross-checked against the source's own metrics.

use crate::flows::KafkaToMqtt;
use crate::kafka_load;
use crate::mqtt_load::qos_from;
use crate::pipeline::{Egress, Ingress};

use super::{PipelineRun, Settings, throughput_then_latency};

pub async fn run(settings: &Settings) -> PipelineRun {
    let api = match settings.api() {
        Ok(api) => api,
        Err(reason) => return PipelineRun::failed(reason),
    };
    let qos = settings.k2m_qos;
    let name = format!("k2m_q{qos}_{}", settings.endpoints.run_id);
    let topic = format!("bench-{}", settings.unique(&format!("k2m-q{qos}")));
    let mqtt_topic = format!("bench/{}/k2m/q{qos}", settings.endpoints.run_id);
    if let Err(err) = kafka_load::create_topic(
        &settings.endpoints.kafka_bootstrap,
        &topic,
        settings.partitions,
    )
    .await
    {
        return PipelineRun::failed(err.to_string());
    }
    let flow =
        match KafkaToMqtt::create(api, &settings.flows, &name, &topic, &mqtt_topic, qos).await {
            Ok(flow) => flow,
            Err(err) => return PipelineRun::failed(format!("creating the flow: {err}")),
        };
    let ingress = Ingress::Kafka { topic };
    let egress = Egress::Mqtt {
        filter: mqtt_topic,
        qos: qos_from(qos),
    };
    let mut run = throughput_then_latency(settings, &ingress, &egress, &settings.worker_pids).await;
    run.metrics = Some(flow.source_metrics(api).await.map_err(|e| e.to_string()));
    if let Err(err) = flow.remove(api).await {
        tracing::warn!(source = %flow.source_id, error = %err, "could not remove a benchmark flow; the next run removes it");
    }
    run
}
