//! Baseline: the MQTT broker alone, publisher -> Mosquitto -> subscriber, no worker.

use crate::mqtt_load::{PublishTarget, qos_from};
use crate::pipeline::{Egress, Ingress};

use super::{PipelineRun, Settings, throughput_then_latency};

pub async fn run(settings: &Settings, qos: u8) -> PipelineRun {
    let topic = format!("bench/{}/broker/q{qos}", settings.endpoints.run_id);
    let ingress = Ingress::Mqtt(PublishTarget {
        topic_prefix: topic.clone(),
        qos: qos_from(qos),
        connections: settings.mqtt_connections,
        inflight: settings.mqtt_inflight,
        client_id_prefix: format!("bench-pub-{}", settings.unique(&format!("broker-q{qos}"))),
    });
    let egress = Egress::Mqtt {
        filter: format!("{topic}/#"),
        qos: qos_from(qos),
    };
    throughput_then_latency(settings, &ingress, &egress, &[]).await
}
