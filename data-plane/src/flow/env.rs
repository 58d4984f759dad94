//! What every flow gets from the worker.

use crate::mqtt::MqttPool;
use crate::sink::kafka::ProducerClients;
use crate::sink::kafka::disk::DiskBuffers;
use crate::telemetry::{MetricsHub, StatusBoard};

/// Shared handles handed to every flow (rule flows here, source flows in `source/`).
#[derive(Debug, Clone)]
pub struct FlowEnv {
    /// This worker's name: the stable part of its MQTT client ids and the rules' `node`.
    pub worker_name: String,
    pub metrics: MetricsHub,
    /// Connector statuses, heartbeated to the control plane.
    pub status: StatusBoard,
    /// MQTT connections by connector, shared by the flows of this worker. Publishing (topic
    /// mappings, `republish`) goes through `mqtt.shared(&connector)`.
    pub mqtt: MqttPool,
    /// Kafka producer clients by connector and settings, shared by every action of this worker.
    pub kafka_producers: ProducerClients,
    /// The `disk` and `hybrid` buffers of Kafka actions, under the worker's data directory (none
    /// unless `--data-dir` is given).
    pub disk_buffers: DiskBuffers,
}

impl FlowEnv {
    pub fn new(worker_name: &str, metrics: MetricsHub, status: StatusBoard) -> Self {
        Self {
            worker_name: worker_name.to_owned(),
            mqtt: MqttPool::new(worker_name, status.clone(), metrics.clone()),
            kafka_producers: ProducerClients::default(),
            disk_buffers: DiskBuffers::default(),
            metrics,
            status,
        }
    }

    /// Where `disk` and `hybrid` actions keep their buffers.
    #[must_use]
    pub fn with_disk_buffers(mut self, disk_buffers: DiskBuffers) -> Self {
        self.disk_buffers = disk_buffers;
        self
    }
}
