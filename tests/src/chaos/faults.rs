//! The faults a chaos run injects, each one applied to the run's private services.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::metrics::Counters;
use super::traffic::{PROBE, Sent};
use crate::Stack;
use crate::broker::PrivateMosquitto;
use crate::mqtt::{Message, publish_all};
use crate::postgres::PrivatePostgres;
use crate::private_kafka::PrivateKafka;

/// How long a killed or stopped service stays down before it is started again.
const DOWN: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL of a random worker; a new process takes its place (same name, so the same MQTT
    /// session, as a restarted pod of a StatefulSet).
    WorkerKill,
    /// SIGTERM of a random worker (it drains and exits), then a new process in its place.
    WorkerTerm,
    /// SIGKILL of the Kafka broker, restarted on its data directory.
    KafkaKill,
    /// Mosquitto stopped (SIGTERM: it saves its persistent sessions) and started again.
    MosquittoRestart,
    /// SIGKILL of the control plane, started again on the same database.
    ControlKill,
    /// PostgreSQL shut down (fast: connections dropped) and started again.
    PostgresRestart,
    /// The MQTT → Kafka rule's SQL edited (it still selects the payload).
    RuleEdit,
    /// The Kafka → MQTT source disabled for a few seconds, then enabled.
    SourceToggle,
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::WorkerKill,
        Fault::WorkerTerm,
        Fault::KafkaKill,
        Fault::MosquittoRestart,
        Fault::ControlKill,
        Fault::PostgresRestart,
        Fault::RuleEdit,
        Fault::SourceToggle,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::WorkerKill => "worker-kill",
            Fault::WorkerTerm => "worker-term",
            Fault::KafkaKill => "kafka-kill",
            Fault::MosquittoRestart => "mosquitto-restart",
            Fault::ControlKill => "control-kill",
            Fault::PostgresRestart => "postgres-restart",
            Fault::RuleEdit => "rule-edit",
            Fault::SourceToggle => "source-toggle",
        }
    }

    pub fn parse(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name.trim())
    }
}

/// The services a run owns, and what a fault needs to know about its flows.
#[derive(Debug)]
pub struct Services {
    pub stack: Stack,
    pub kafka: PrivateKafka,
    /// None only while a restart runs on a blocking thread.
    pub mosquitto: Option<PrivateMosquitto>,
    pub postgres: Arc<PrivatePostgres>,
    pub counters: Counters,
    pub rule_id: String,
    pub rule_filter: String,
    pub source_id: String,
    rule_edits: u32,
    random: u64,
    /// Holds the MQTT publisher across a Mosquitto restart (None: it keeps publishing).
    pub hold: Option<Arc<Sent>>,
    /// Probe records read from the sink topic, and the topic probes are published to.
    pub probes: Arc<AtomicU64>,
    pub probe_topic: String,
}

impl Services {
    pub fn new(
        stack: Stack,
        kafka: PrivateKafka,
        mosquitto: PrivateMosquitto,
        postgres: PrivatePostgres,
        counters: Counters,
        flows: (String, String, String),
        seed: u64,
    ) -> Self {
        let (rule_id, rule_filter, source_id) = flows;
        Self {
            stack,
            kafka,
            mosquitto: Some(mosquitto),
            postgres: Arc::new(postgres),
            counters,
            rule_id,
            rule_filter,
            source_id,
            rule_edits: 0,
            random: seed.max(1),
            hold: None,
            probes: Arc::default(),
            probe_topic: String::new(),
        }
    }

    /// Applies `fault`; returns a note on what was done (which worker, how long it took to stop).
    pub async fn apply(&mut self, fault: Fault) -> String {
        match fault {
            Fault::WorkerKill => {
                let i = self.pick_worker();
                self.counters.replacing(i).await;
                self.stack.kill_worker(i).await;
                self.stack.restart_worker(i).await;
                format!("worker {i}")
            }
            Fault::WorkerTerm => {
                let i = self.pick_worker();
                self.counters.replacing(i).await;
                let asked = Instant::now();
                let status = self.stack.stop_worker(i).await;
                let took = asked.elapsed();
                self.stack.restart_worker(i).await;
                format!(
                    "worker {i} exited {} after {:.1} s",
                    status.map_or("?".to_owned(), |s| s.to_string()),
                    took.as_secs_f64()
                )
            }
            Fault::KafkaKill => {
                self.kafka.kill().await;
                tokio::time::sleep(DOWN).await;
                let started = Instant::now();
                self.kafka.restart().await;
                format!(
                    "broker serving again {:.1} s after its start",
                    started.elapsed().as_secs_f64()
                )
            }
            Fault::MosquittoRestart => {
                let Some(mut broker) = self.mosquitto.take() else {
                    return "no broker".to_owned();
                };
                if let Some(sent) = &self.hold {
                    sent.hold.store(true, Ordering::Relaxed);
                }
                let broker = tokio::task::spawn_blocking(move || {
                    broker.restart(DOWN);
                    broker
                })
                .await
                .unwrap_or_else(|e| panic!("mosquitto restart: {e}"));
                let server = broker.server();
                self.mosquitto = Some(broker);
                let Some(sent) = self.hold.clone() else {
                    return String::new();
                };
                // Mosquitto restores the workers' sessions but not their shared subscriptions;
                // what is published before a worker subscribes again matches nothing and the
                // broker discards it. The publisher waits until a probe gets through the rule.
                let back = Instant::now();
                let heard = self.probe_through(&server).await;
                sent.hold.store(false, Ordering::Relaxed);
                format!(
                    "publisher held {:.1} s after the broker was back{}",
                    back.elapsed().as_secs_f64(),
                    if heard {
                        ""
                    } else {
                        " (no probe got through in 60 s)"
                    }
                )
            }
            Fault::ControlKill => {
                self.stack.kill_control().await;
                tokio::time::sleep(DOWN).await;
                let healthy = self.stack.restart_control(Duration::from_secs(60)).await;
                assert!(healthy, "the control plane did not come back within 60 s");
                String::new()
            }
            Fault::PostgresRestart => {
                let postgres = Arc::clone(&self.postgres);
                tokio::task::spawn_blocking(move || postgres.restart(DOWN))
                    .await
                    .unwrap_or_else(|e| panic!("postgres restart: {e}"));
                String::new()
            }
            Fault::RuleEdit => {
                self.rule_edits += 1;
                let fields = if self.rule_edits % 2 == 1 {
                    "payload, clientid, topic"
                } else {
                    "payload"
                };
                let sql = format!("SELECT {fields} FROM \"{}\"", self.rule_filter);
                let path = format!("/rules/{}", self.rule_id);
                let tries = self.put_until_done(&path, Some(json!({"sql": sql}))).await;
                format!("SELECT {fields} ({tries} request(s))")
            }
            Fault::SourceToggle => {
                let base = format!("/sources/{}/enable", self.source_id);
                let off = self.put_until_done(&format!("{base}/false"), None).await;
                tokio::time::sleep(Duration::from_secs(3)).await;
                let on = self.put_until_done(&format!("{base}/true"), None).await;
                format!("disabled for 3 s ({} request(s))", off + on)
            }
        }
    }

    /// Publishes a probe every half second until one reaches the sink topic (or 60 s passed).
    async fn probe_through(&self, server: &str) -> bool {
        let before = self.probes.load(Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let probe = Message::new(&self.probe_topic, format!("{{\"n\":\"{PROBE}\"}}"));
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                publish_all(server, &crate::unique("chaos-probe"), vec![probe]),
            )
            .await;
            for _ in 0..5 {
                if self.probes.load(Ordering::Relaxed) > before {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        false
    }

    /// PUT until the API answers 2xx (a control plane or database that was just restarted may
    /// need a moment); returns the number of requests. Panics after 60 s or on a 4xx, which would
    /// be the run's own mistake.
    async fn put_until_done(&self, path: &str, body: Option<Value>) -> u32 {
        let api = self.stack.api();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut tries = 0;
        loop {
            tries += 1;
            match api.try_call(reqwest::Method::PUT, path, body.clone()).await {
                Ok((status, _)) if status.is_success() => return tries,
                Ok((status, answer)) if status.is_client_error() => {
                    panic!("PUT {path}: {status} {answer}")
                }
                Ok(_) | Err(_) => {
                    assert!(
                        Instant::now() < deadline,
                        "PUT {path} did not succeed within 60 s"
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// A worker index from the run's seeded generator (xorshift: the same seed, the same order).
    fn pick_worker(&mut self) -> usize {
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        let workers = self.stack.worker_count().max(1) as u64;
        usize::try_from(self.random % workers).unwrap_or(0)
    }
}
