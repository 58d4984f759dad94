//! Baseline: the paho-mqtt + confluent-kafka bridge of `bench/baselines/python_bridge.py`, on the
//! same broker, Kafka and payloads. Its own CPU and memory are measured like a worker's.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::kafka_load;
use crate::mqtt_load::{PublishTarget, qos_from};
use crate::pipeline::{Egress, Ingress};

use super::{Outcome, PipelineRun, Settings, throughput_then_latency};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// A bridge run plus the library versions the bridge reported.
#[derive(Debug, Clone)]
pub struct BridgeRun {
    pub run: PipelineRun,
    pub versions: Option<String>,
}

pub async fn mqtt_to_kafka(settings: &Settings, qos: u8) -> BridgeRun {
    let name = settings.unique(&format!("py-m2k-q{qos}"));
    let topic = format!("bench-{name}");
    let mqtt_topic = format!("bench/{}/py/q{qos}", settings.endpoints.run_id);
    let ingress = Ingress::Mqtt(PublishTarget {
        topic_prefix: mqtt_topic.clone(),
        qos: qos_from(qos),
        connections: settings.mqtt_connections,
        inflight: settings.mqtt_inflight,
        client_id_prefix: format!("bench-pub-{name}"),
    });
    let egress = Egress::Kafka {
        topic: topic.clone(),
        partitions: settings.partitions,
    };
    let args = vec![
        "mqtt-to-kafka".to_owned(),
        "--mqtt-topic".to_owned(),
        format!("{mqtt_topic}/#"),
        "--qos".to_owned(),
        qos.to_string(),
        "--kafka-topic".to_owned(),
        topic.clone(),
        "--client-id".to_owned(),
        format!("bench-py-{name}"),
    ];
    run_bridge(settings, &topic, args, &ingress, &egress).await
}

pub async fn kafka_to_mqtt(settings: &Settings, qos: u8) -> BridgeRun {
    let name = settings.unique(&format!("py-k2m-q{qos}"));
    let topic = format!("bench-{name}");
    let mqtt_topic = format!("bench/{}/py-k2m/q{qos}", settings.endpoints.run_id);
    let ingress = Ingress::Kafka {
        topic: topic.clone(),
    };
    let egress = Egress::Mqtt {
        filter: mqtt_topic.clone(),
        qos: qos_from(qos),
    };
    let args = vec![
        "kafka-to-mqtt".to_owned(),
        "--mqtt-topic".to_owned(),
        mqtt_topic,
        "--qos".to_owned(),
        qos.to_string(),
        "--kafka-topic".to_owned(),
        topic.clone(),
        "--group".to_owned(),
        format!("bench-py-{name}"),
        "--client-id".to_owned(),
        format!("bench-py-{name}"),
    ];
    run_bridge(settings, &topic, args, &ingress, &egress).await
}

async fn run_bridge(
    settings: &Settings,
    kafka_topic: &str,
    direction_args: Vec<String>,
    ingress: &Ingress,
    egress: &Egress,
) -> BridgeRun {
    let failed = |reason: String| BridgeRun {
        run: PipelineRun::failed(reason),
        versions: None,
    };
    if let Err(err) = kafka_load::create_topic(
        &settings.endpoints.kafka_bootstrap,
        kafka_topic,
        settings.partitions,
    )
    .await
    {
        return failed(err.to_string());
    }
    let (mut child, versions) = match start(settings, direction_args).await {
        Ok(started) => started,
        Err(reason) => return failed(reason),
    };
    let pid: Vec<u32> = child.id().into_iter().collect();
    let run = throughput_then_latency(settings, ingress, egress, &pid).await;
    stop(&mut child).await;
    BridgeRun {
        run,
        versions: Some(versions),
    }
}

/// Starts the bridge and waits for its ready line (which carries its library versions).
async fn start(settings: &Settings, direction_args: Vec<String>) -> Outcome<(Child, String)> {
    let endpoints = &settings.endpoints;
    let mut child = Command::new(&settings.python)
        .arg(&settings.python_bridge)
        .args(direction_args)
        .args([
            "--mqtt-host",
            &endpoints.mqtt.host,
            "--mqtt-port",
            &endpoints.mqtt.port.to_string(),
        ])
        .args(["--kafka-bootstrap", &endpoints.kafka_bootstrap])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {} {} ({e}); scripts/bench.sh installs the venv",
                settings.python.display(),
                settings.python_bridge.display()
            )
        })?;
    let stdout = child.stdout.take().ok_or("bridge stdout not captured")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(READY_TIMEOUT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("\"ready\"") {
                return Some(line);
            }
        }
        None
    })
    .await;
    match ready {
        Ok(Some(line)) => Ok((child, describe_versions(&line))),
        Ok(None) => {
            Err("the Python bridge exited before it was ready (see its stderr above)".to_owned())
        }
        Err(_) => Err(format!(
            "the Python bridge was not ready within {READY_TIMEOUT:?}"
        )),
    }
}

/// Closing stdin asks the bridge to flush and exit.
async fn stop(child: &mut Child) {
    drop(child.stdin.take());
    if tokio::time::timeout(EXIT_TIMEOUT, child.wait())
        .await
        .is_err()
    {
        tracing::warn!("the Python bridge did not exit after stdin closed; killing it");
        let _ = child.kill().await;
    }
}

/// `python 3.11.7, paho-mqtt 2.1.0, confluent-kafka 2.6.0 (librdkafka 2.6.0)` from the ready line.
pub fn describe_versions(ready_line: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(ready_line) else {
        return "unknown".to_owned();
    };
    let field = |name: &str| {
        v.get(name)
            .and_then(|x| x.as_str())
            .unwrap_or("?")
            .to_owned()
    };
    format!(
        "python {}, paho-mqtt {}, confluent-kafka {} (librdkafka {})",
        field("python"),
        field("paho_mqtt"),
        field("confluent_kafka"),
        field("librdkafka")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_the_ready_line() {
        let line = r#"{"ready": true, "python": "3.11.7", "paho_mqtt": "2.1.0", "confluent_kafka": "2.6.1", "librdkafka": "2.6.1"}"#;
        assert_eq!(
            describe_versions(line),
            "python 3.11.7, paho-mqtt 2.1.0, confluent-kafka 2.6.1 (librdkafka 2.6.1)"
        );
        assert_eq!(describe_versions("garbage"), "unknown");
    }
}
