//! The benchmark's scenarios. Each pipeline is measured flat out (sustained rate), then paced at
//! half that rate (latency); Tributary's scenarios also read the flow's own metrics.

pub mod broker_alone;
pub mod kafka_alone;
pub mod kafka_to_mqtt;
pub mod latency;
pub mod mqtt_to_kafka;
pub mod one_worker;
pub mod python_bridge;
pub mod rule_change;
pub mod scale;
pub mod soak;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::api::ApiClient;
use crate::flows::FlowSettings;
use crate::load::LoadPlan;
use crate::pipeline::{Egress, Endpoints, Ingress, Measurement, Timing};

/// A scenario's figure, or why there is none (printed in its place).
pub type Outcome<T> = Result<T, String>;

/// What every scenario needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoints: Endpoints,
    pub timing: Timing,
    pub messages: u64,
    pub duration: Duration,
    pub latency_duration: Duration,
    /// `--latency-rate`: a fixed pace for latency runs instead of half the sustained rate.
    pub latency_rate: Option<f64>,
    pub mqtt_connections: u64,
    pub mqtt_inflight: u16,
    pub partitions: i32,
    pub k2m_qos: u8,
    pub python: PathBuf,
    pub python_bridge: PathBuf,
    /// The control plane, or why Tributary's scenarios cannot run (they report it in the table).
    pub api: Outcome<ApiClient>,
    pub flows: FlowSettings,
    pub worker_pids: Vec<u32>,
}

impl Settings {
    pub fn throughput_plan(&self) -> LoadPlan {
        LoadPlan {
            count: self.messages,
            max_duration: self.duration,
            rate: None,
            seq_base: 0,
        }
    }

    pub fn api(&self) -> Outcome<&ApiClient> {
        self.api.as_ref().map_err(Clone::clone)
    }

    /// A name unique to this harness run, for topics and resources.
    pub fn unique(&self, what: &str) -> String {
        format!("{}-{what}", self.endpoints.run_id)
    }
}

/// One pipeline's figures.
#[derive(Debug, Clone)]
pub struct PipelineRun {
    pub throughput: Outcome<Measurement>,
    pub latency: Outcome<Measurement>,
    /// The Tributary resource's own counters after both runs (action or source metrics).
    pub metrics: Option<Outcome<BTreeMap<String, f64>>>,
}

impl PipelineRun {
    pub fn failed(reason: String) -> Self {
        Self {
            throughput: Err(reason.clone()),
            latency: Err(reason),
            metrics: None,
        }
    }
}

/// Measures a pipeline flat out, then at half of what it sustained.
pub async fn throughput_then_latency(
    settings: &Settings,
    ingress: &Ingress,
    egress: &Egress,
    watched: &[u32],
) -> PipelineRun {
    let throughput = crate::pipeline::measure(
        &settings.endpoints,
        ingress,
        egress,
        settings.throughput_plan(),
        settings.timing,
        watched,
    )
    .await
    .map_err(|e| e.to_string());
    let latency = match &throughput {
        Ok(measured) => {
            latency::at_half_rate(settings, ingress, egress, measured.deliveries.rate).await
        }
        Err(_) => Err("no sustained rate to halve".to_owned()),
    };
    PipelineRun {
        throughput,
        latency,
        metrics: None,
    }
}
