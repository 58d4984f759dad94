//! Tributary MQTT -> rule -> Kafka: the rule and a `kafka_producer` action, counted at the
//! Kafka end and cross-checked against the action's own metrics.

use std::collections::BTreeMap;

use crate::api::ApiClient;
use crate::flows::{MqttToKafka, rule_sql};
use crate::kafka_load;
use crate::mqtt_load::{PublishTarget, qos_from};
use crate::pipeline::{Egress, Ingress};

use super::{Outcome, PipelineRun, Settings, throughput_then_latency};

/// `query_mode` is the action's `async` or `sync`.
pub async fn run(settings: &Settings, qos: u8, query_mode: &str) -> PipelineRun {
    let flow = match Prepared::create(settings, qos, query_mode).await {
        Ok(flow) => flow,
        Err(reason) => return PipelineRun::failed(reason),
    };
    let mut run =
        throughput_then_latency(settings, &flow.ingress, &flow.egress, &settings.worker_pids).await;
    run.metrics = Some(flow.finish(settings).await);
    run
}

/// A created MQTT -> Kafka flow with where its load enters and is read back.
pub struct Prepared {
    flow: MqttToKafka,
    pub ingress: Ingress,
    pub egress: Egress,
}

impl Prepared {
    pub async fn create(settings: &Settings, qos: u8, query_mode: &str) -> Outcome<Self> {
        let api = settings.api()?;
        let name = format!("m2k_q{qos}_{query_mode}_{}", settings.endpoints.run_id);
        let topic = format!(
            "bench-{}",
            settings.unique(&format!("m2k-q{qos}-{query_mode}"))
        );
        kafka_load::create_topic(
            &settings.endpoints.kafka_bootstrap,
            &topic,
            settings.partitions,
        )
        .await
        .map_err(|e| e.to_string())?;
        let flow = MqttToKafka::create(
            api,
            &settings.flows,
            &name,
            &topic,
            query_mode,
            &rule_sql(""),
        )
        .await
        .map_err(|e| format!("creating the flow: {e}"))?;
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
        Ok(Self {
            flow,
            ingress,
            egress,
        })
    }

    /// The action's own counters, then the flow removed.
    pub async fn finish(self, settings: &Settings) -> Outcome<BTreeMap<String, f64>> {
        let api: &ApiClient = settings.api()?;
        let metrics = self
            .flow
            .action_metrics(api)
            .await
            .map_err(|e| e.to_string());
        if let Err(err) = self.flow.remove(api).await {
            tracing::warn!(rule = %self.flow.rule_id, error = %err, "could not remove a benchmark flow; the next run removes it");
        }
        metrics
    }
}
