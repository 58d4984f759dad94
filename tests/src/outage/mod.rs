//! Bounded memory while a broker is away: MQTT traffic continues at a steady rate while Apache
//! Kafka is unreachable (`sync` and `async` `kafka_producer` actions), and Kafka traffic
//! continues while Mosquitto is down (a `kafka_consumer` source). The worker's resident memory
//! is sampled from /proc throughout; once the broker is back, what each side delivered, dropped
//! (counted) and lost is reconciled with what was sent. Used by the `tributary-outage` binary
//! (`scripts/outage.sh`, the 60 s version) and by tests/tests/outage_memory.rs (a short one).
//!
//! Kafka is made unreachable by freezing a private broker with SIGSTOP (connections stay open,
//! nothing answers: a network partition, the case in which requests pile up rather than fail
//! fast); Mosquitto is stopped with SIGTERM (it keeps its sessions) and started again. The run
//! starts its own Mosquitto and Kafka (and PostgreSQL unless given one), never the shared ones.

mod kafka_down;
mod mqtt_down;
pub mod offsets;
pub mod report;
pub mod rss;

use std::collections::BTreeMap;
use std::time::Duration;

pub use report::{FlowOutcome, KafkaDown, MqttDown, Report};

use crate::Stack;
use crate::broker::PrivateMosquitto;
use crate::env::TestEnv;
use crate::postgres::PrivatePostgres;
use crate::private_kafka::PrivateKafka;

/// What a run takes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    /// Kafka unreachable under a `sync` action: the MQTT broker holds the backlog.
    Sync,
    /// Kafka unreachable under an `async` action: its per-partition buffer drops the oldest.
    Async,
    /// Mosquitto down under a `kafka_consumer` source: Kafka holds the backlog.
    MqttDown,
}

impl Scenario {
    pub const ALL: [Scenario; 3] = [Self::Sync, Self::Async, Self::MqttDown];

    pub fn name(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Async => "async",
            Self::MqttDown => "mqtt-down",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name.trim())
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `Sync` and `Async` share one Kafka outage (one rule each on the same MQTT traffic);
    /// `MqttDown` is a second outage.
    pub scenarios: Vec<Scenario>,
    /// How long the broker is away.
    pub outage: Duration,
    /// Messages per second, sent before, during and after the outage.
    pub rate: u32,
    /// Traffic before the outage (the baseline) and after it.
    pub before: Duration,
    pub after: Duration,
    /// Partitions of every topic.
    pub partitions: i32,
    /// The `async` action's `buffer.per_partition_limit`.
    pub async_partition_limit: String,
    /// Bytes each Kafka record of the MQTT → Kafka actions carries (its key is padded to this):
    /// with records of a realistic size, memory that grows with the backlog shows.
    pub record_bytes: usize,
    /// How long to wait, once the traffic was all sent, for the far ends to have everything.
    pub settle: Duration,
    /// A PostgreSQL URL allowed to create databases; None starts a private PostgreSQL.
    pub database_url: Option<String>,
}

impl Config {
    /// The short version the test suite runs.
    pub fn short() -> Self {
        Self {
            scenarios: Scenario::ALL.to_vec(),
            outage: Duration::from_secs(15),
            // Enough to overflow the async buffer many times over; low enough that a debug build
            // drains the sync backlog quickly.
            rate: 600,
            before: Duration::from_secs(2),
            after: Duration::from_secs(1),
            partitions: 2,
            async_partition_limit: "256KB".to_owned(),
            record_bytes: 2048,
            settle: Duration::from_secs(45),
            database_url: None,
        }
    }

    /// How many messages one side sends.
    fn messages(&self) -> usize {
        let seconds = (self.before + self.outage + self.after).as_secs_f64();
        (seconds * f64::from(self.rate)) as usize
    }
}

/// Runs the configured outages one after the other; every service it started is gone when it
/// returns.
pub async fn run(config: Config, progress: impl Fn(&str)) -> Report {
    let started = std::time::Instant::now();
    let postgres = match &config.database_url {
        Some(_) => None,
        None => Some(
            tokio::task::spawn_blocking(PrivatePostgres::start)
                .await
                .unwrap_or_else(|e| panic!("postgres: {e}")),
        ),
    };
    let database_url = match (&config.database_url, &postgres) {
        (Some(url), _) => url.clone(),
        (None, Some(postgres)) => postgres.admin_url(),
        (None, None) => unreachable!("a private PostgreSQL is started when no URL is given"),
    };
    progress("starting Mosquitto and Apache Kafka");
    let mosquitto = PrivateMosquitto::start();
    let kafka = PrivateKafka::start().await;
    let env = TestEnv {
        database_url,
        mqtt: mosquitto.server(),
        kafka: kafka.bootstrap.clone(),
    };
    progress("starting the control plane and a worker");
    let stack = Stack::start_on(env, 1, BTreeMap::new()).await;
    // The source publishes through it.
    stack
        .api()
        .create_default_mqtt_connector(&stack.env.mqtt)
        .await;
    let modes: Vec<Scenario> = config
        .scenarios
        .iter()
        .copied()
        .filter(|s| *s != Scenario::MqttDown)
        .collect();
    let kafka_down = if modes.is_empty() {
        None
    } else {
        Some(kafka_down::run(&config, &modes, &stack, &kafka, &progress).await)
    };
    let mqtt_down = if config.scenarios.contains(&Scenario::MqttDown) {
        Some(mqtt_down::run(&config, &stack, mosquitto, &progress).await)
    } else {
        None
    };
    Report {
        config,
        worker: stack.worker_name(0).to_owned(),
        kafka_down,
        mqtt_down,
        total: started.elapsed(),
    }
}

/// The counters of `resource` (`rule:<id>`, `kafka_producer:<name>`, `kafka_consumer:<name>`)
/// as the REST API reports them, summed over workers; empty when the API did not answer.
async fn api_counters(stack: &Stack, path: &str) -> BTreeMap<String, u64> {
    let body = stack
        .api()
        .try_call(reqwest::Method::GET, path, None)
        .await
        .map(|(_, body)| body)
        .unwrap_or_default();
    body["metrics"]
        .as_object()
        .map(|metrics| {
            metrics
                .iter()
                .filter_map(|(k, v)| v.as_u64().map(|v| (k.clone(), v)))
                .collect()
        })
        .unwrap_or_default()
}
