//! Command-line flags; every one can also be set from the environment (`scripts/bench.sh` sources
//! `.dev/env`, which provides the stack's addresses and credentials).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tributary_service::logging::LogArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Scenario {
    /// MQTT publisher -> Mosquitto -> subscriber, QoS 0 and 1.
    BrokerAlone,
    /// Kafka producer -> Kafka -> reader.
    KafkaAlone,
    /// paho-mqtt + confluent-kafka bridge, both directions.
    PythonBridge,
    /// Tributary MQTT -> rule -> Kafka, QoS 0 async and QoS 1 sync.
    MqttToKafka,
    /// Tributary Kafka -> source topic mapping -> MQTT.
    KafkaToMqtt,
    /// Time for a rule change to reach every worker.
    RuleChange,
    /// A worker's threads, files and memory, and the time to apply a change, at many rules.
    Scale,
    /// MQTT -> Kafka QoS 1 sync and Kafka -> MQTT again with one worker (the others frozen):
    /// CPU per message with one worker beside two.
    OneWorker,
    /// A long paced MQTT -> Kafka run sampling worker memory (--soak-duration, --soak-rate).
    Soak,
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "tributary-bench",
    about = "Throughput, latency and cost of Tributary beside its baselines"
)]
pub struct Args {
    /// Scenarios to run (comma-separated); all when absent.
    #[arg(
        long,
        env = "TRIBUTARY_BENCH_SCENARIOS",
        value_enum,
        value_delimiter = ','
    )]
    pub scenarios: Vec<Scenario>,

    /// Messages per throughput run (a run also stops at --duration).
    #[arg(long, env = "TRIBUTARY_BENCH_MESSAGES", default_value_t = 200_000)]
    pub messages: u64,
    /// Longest sending time of one throughput run.
    #[arg(long, env = "TRIBUTARY_BENCH_DURATION", default_value = "6s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Sending time of one latency run (at half the pipeline's sustained rate).
    #[arg(long, env = "TRIBUTARY_BENCH_LATENCY_DURATION", default_value = "4s", value_parser = parse_duration)]
    pub latency_duration: Duration,
    /// Pace every latency run at this many messages a second instead of half the pipeline's
    /// sustained rate: compares two builds or settings at the same load.
    #[arg(long, env = "TRIBUTARY_BENCH_LATENCY_RATE")]
    pub latency_rate: Option<f64>,
    /// A pipeline must pass its first probe message within this time.
    #[arg(long, env = "TRIBUTARY_BENCH_READY_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub ready_timeout: Duration,
    /// A run has drained when nothing arrived for this long.
    #[arg(long, env = "TRIBUTARY_BENCH_IDLE_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Longest wait for the far end after the last message was sent; later ones count as missing.
    #[arg(long, env = "TRIBUTARY_BENCH_DRAIN_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Messages allowed between the senders and the far end, so a slow pipeline is not buried
    /// under a backlog that outlives its run.
    #[arg(long, env = "TRIBUTARY_BENCH_WINDOW", default_value_t = 20_000)]
    pub window: u64,

    /// MQTT publisher connections (the load is spread over them).
    #[arg(long, env = "TRIBUTARY_BENCH_MQTT_CONNECTIONS", default_value_t = 2)]
    pub mqtt_connections: u64,
    /// QoS 1 messages in flight per publisher connection.
    #[arg(long, env = "TRIBUTARY_BENCH_MQTT_INFLIGHT", default_value_t = 1000)]
    pub mqtt_inflight: u16,
    /// Partitions of every Kafka topic the harness creates.
    #[arg(long, env = "TRIBUTARY_BENCH_PARTITIONS", default_value_t = 4)]
    pub partitions: i32,
    /// QoS of the Kafka -> MQTT topic mapping (and of its broker-alone baseline).
    #[arg(long, env = "TRIBUTARY_BENCH_K2M_QOS", default_value_t = 1)]
    pub k2m_qos: u8,
    /// Source `min_batch_bytes` for the Tributary Kafka -> MQTT flow: with `max_wait_time`,
    /// fetches are batched under load as the producer action's linger batches produce requests
    /// (`1B` and `1s` are the product defaults: a fetch answered as soon as anything is there).
    #[arg(
        long,
        env = "TRIBUTARY_BENCH_SOURCE_MIN_BATCH_BYTES",
        default_value = "32KB"
    )]
    pub source_min_batch_bytes: String,
    /// Source `max_wait_time` for the Tributary Kafka -> MQTT flow.
    #[arg(
        long,
        env = "TRIBUTARY_BENCH_SOURCE_MAX_WAIT_TIME",
        default_value = "5ms"
    )]
    pub source_max_wait_time: String,
    /// Source `max_inflight` for the Tributary Kafka -> MQTT flow (the product default when absent).
    #[arg(long, env = "TRIBUTARY_BENCH_SOURCE_MAX_INFLIGHT")]
    pub source_max_inflight: Option<u32>,
    /// Numbers of rules (each on its own topic filter, all through one action) the scale scenario
    /// measures at, in order.
    #[arg(
        long,
        env = "TRIBUTARY_BENCH_SCALE_RULES",
        value_delimiter = ',',
        default_value = "1,100,1000"
    )]
    pub scale_rules: Vec<usize>,
    /// Producer action `max_linger_time` for the Tributary MQTT -> Kafka flows.
    #[arg(long, env = "TRIBUTARY_BENCH_MAX_LINGER_TIME", default_value = "5ms")]
    pub max_linger_time: String,
    /// Producer action `max_inflight` (produce requests in flight per connection) for the
    /// Tributary MQTT -> Kafka flows; the product default when absent.
    #[arg(long, env = "TRIBUTARY_BENCH_MAX_INFLIGHT")]
    pub max_inflight: Option<u32>,

    /// Control plane REST base URL, including /api/v5.
    #[arg(long, env = "TRIBUTARY_API")]
    pub api: Option<String>,
    #[arg(long, env = "TRIBUTARY_API_KEY", default_value = "")]
    pub api_key: String,
    #[arg(
        long,
        env = "TRIBUTARY_API_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    pub api_secret: String,
    #[arg(long, env = "MQTT_HOST", default_value = "127.0.0.1")]
    pub mqtt_host: String,
    #[arg(long, env = "MQTT_PORT", default_value_t = 11883)]
    pub mqtt_port: u16,
    #[arg(long, env = "KAFKA_BOOTSTRAP", default_value = "127.0.0.1:19092")]
    pub kafka_bootstrap: String,

    /// Worker pids to measure; found from the workers' admin ports when absent.
    #[arg(long, env = "TRIBUTARY_BENCH_WORKER_PIDS", value_delimiter = ',')]
    pub worker_pids: Vec<u32>,
    /// Workers' admin ports (space- or comma-separated; scripts/up.sh exports them), used when
    /// GET /api/v5/workers lists no admin address.
    #[arg(long, env = "TRIBUTARY_WORKER_ADMIN_PORTS", value_delimiter = ' ', num_args = 0..)]
    pub worker_admin_ports: Vec<String>,
    /// Where the local stack keeps its pid files (`worker-N.pid`), the last way to find workers.
    #[arg(long, env = "TRIBUTARY_BENCH_PID_DIR", default_value = ".dev/run")]
    pub pid_dir: PathBuf,

    /// Python interpreter with paho-mqtt and confluent-kafka (bench.sh makes a venv).
    #[arg(
        long,
        env = "TRIBUTARY_BENCH_PYTHON",
        default_value = ".dev/bench-venv/bin/python"
    )]
    pub python: PathBuf,
    #[arg(
        long,
        env = "TRIBUTARY_BENCH_PYTHON_BRIDGE",
        default_value = "bench/baselines/python_bridge.py"
    )]
    pub python_bridge: PathBuf,

    /// Length of the soak run.
    #[arg(long, env = "TRIBUTARY_BENCH_SOAK_DURATION", default_value = "10m", value_parser = parse_duration)]
    pub soak_duration: Duration,

    /// Messages per second of the soak run (MQTT -> Kafka, QoS 1 sync).
    #[arg(long, env = "TRIBUTARY_BENCH_SOAK_RATE", default_value_t = 2_000.0)]
    pub soak_rate: f64,

    /// Markdown file whose results section is replaced (the text around it is kept).
    #[arg(long, env = "TRIBUTARY_BENCH_REPORT", default_value = "BENCHMARKS.md")]
    pub report: PathBuf,

    #[command(flatten)]
    pub log: LogArgs,
}

impl Args {
    /// The admin ports given with --worker-admin-ports, whatever the separator.
    pub fn admin_ports(&self) -> Vec<u16> {
        self.worker_admin_ports
            .iter()
            .flat_map(|s| s.split([',', ' ']))
            .filter_map(|p| p.trim().parse().ok())
            .collect()
    }

    pub fn runs(&self, scenario: Scenario) -> bool {
        self.scenarios.is_empty() || self.scenarios.contains(&scenario)
    }
}

/// `250ms`, `8s`, `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 500ms, 8s or 2m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" | "" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        _ => Err(format!("`{text}`: unit must be ms, s or m")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("8s"), Ok(Duration::from_secs(8)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn flags_parse_and_scenarios_filter() {
        let args =
            Args::try_parse_from(["bench", "--scenarios", "broker-alone,rule-change"]).unwrap();
        assert!(args.runs(Scenario::BrokerAlone));
        assert!(!args.runs(Scenario::KafkaAlone));
        let all =
            Args::try_parse_from(["bench", "--worker-admin-ports", "18181 18182,18183"]).unwrap();
        assert!(all.runs(Scenario::PythonBridge));
        assert_eq!(all.admin_ports(), vec![18181, 18182, 18183]);
    }
}
