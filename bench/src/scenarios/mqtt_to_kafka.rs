//! Tributary MQTT -> rule -> Kafka: the rule and a `kafka_producer` action, counted at the
//! Kafka end and cross-checked against the action's own metrics.

use crate::flows::{MqttToKafka, rule_sql};
use crate::kafka_load;
use crate::mqtt_load::{PublishTarget, qos_from};
use crate::pipeline::{Egress, Ingress};

use super::{PipelineRun, Settings, throughput_then_latency};

/// `query_mode` is the action's `async` or `sync`.
pub async fn run(settings: &Settings, qos: u8, query_mode: &str) -> PipelineRun {
    let api = match settings.api() {
        Ok(api) => api,
        Err(reason) => return PipelineRun::failed(reason),
    };
    let name = format!("m2k_q{qos}_{query_mode}_{}", settings.endpoints.run_id);
    let topic = format!(
        "bench-{}",
        settings.unique(&format!("m2k-q{qos}-{query_mode}"))
    );
    if let Err(err) = kafka_load::create_topic(
        &settings.endpoints.kafka_bootstrap,
        &topic,
        settings.partitions,
    )
    .await
    {
        return PipelineRun::failed(err.to_string());
    }
    let flow = match MqttToKafka::create(
        api,
        &settings.flows,
        &name,
        &topic,
        query_mode,
        &rule_sql(""),
    )
    .await
    {
        Ok(flow) => flow,
        Err(err) => return PipelineRun::failed(format!("creating the flow: {err}")),
    };
    let ingress = Ingress::Mqtt(PublishTarget {
        topic_prefix: format!("t/bench/{}/q{qos}", settings.endpoints.run_id),
        qos: qos_from(qos),
        connections: settings.mqtt_connections,
        inflight: settings.mqtt_inflight,
        client_id_prefix: format!("bench-pub-{name}"),
    });
    let egress = Egress::Kafka {
        topic,
        partitions: settings.partitions,
    };
    let mut run = throughput_then_latency(settings, &ingress, &egress, &settings.worker_pids).await;
    run.metrics = Some(flow.action_metrics(api).await.map_err(|e| e.to_string()));
    if let Err(err) = flow.remove(api).await {
        tracing::warn!(rule = %flow.rule_id, error = %err, "could not remove a benchmark flow; the next run removes it");
    }
    run
}
