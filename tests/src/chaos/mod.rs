//! The chaos soak: both directions at a steady rate through a control plane, N workers and
//! private PostgreSQL, Mosquitto and Apache Kafka, while a schedule of faults runs; then a
//! reconciliation of what each far end received with what was sent and with Tributary's own
//! counters. Used by the `tributary-chaos` binary (`scripts/chaos.sh`) and by the short version
//! in the test suite (tests/tests/chaos_short.rs).
//!
//! The schedule: every `fault_interval` a random worker is killed with SIGKILL and a new process
//! takes its place; half an interval later the next of the other faults runs, in turn. Faults
//! run one after the other; the schedule runs while traffic is being sent and, in any case,
//! until every fault ran `min_rounds` times. Then the run waits for the far ends to catch up.

pub mod faults;
pub mod metrics;
pub mod report;
pub mod tally;
pub mod traffic;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;

pub use faults::Fault;
use faults::Services;
use metrics::Counters;
pub use report::{FaultRecord, Report};
use tally::Tally;
use traffic::Sent;

use crate::broker::{PrivateMosquitto, SessionSubscriber};
use crate::env::TestEnv;
use crate::postgres::PrivatePostgres;
use crate::private_kafka::PrivateKafka;
use crate::{Stack, kafka, unique};

#[derive(Debug, Clone)]
pub struct Config {
    /// Messages each way.
    pub messages: usize,
    /// Messages per second each way.
    pub rate: u32,
    pub workers: usize,
    /// A worker is killed every interval; the other faults run half an interval after each kill.
    pub fault_interval: Duration,
    /// The faults besides the periodic worker kill, in the order they run.
    pub faults: Vec<Fault>,
    /// Rounds of `faults` that must complete even when the traffic was all sent earlier.
    pub min_rounds: usize,
    /// Once sending is done: how long the far ends may go without progress before the run ends.
    pub settle: Duration,
    /// The whole run (services started, traffic, faults, catching up) ends by then at the latest.
    pub max_duration: Duration,
    pub partitions: i32,
    /// The seed of the random choice of workers.
    pub seed: u64,
    /// MQTT → Kafka action parameters beyond topic and message.
    pub action: serde_json::Value,
    /// Hold the MQTT publisher across a Mosquitto restart until the workers subscribed again
    /// (Mosquitto discards what is published before: see `Fault::MosquittoRestart`).
    pub hold_publisher: bool,
}

impl Config {
    pub fn other_faults() -> Vec<Fault> {
        Fault::ALL
            .into_iter()
            .filter(|f| *f != Fault::WorkerKill)
            .collect()
    }
}

/// Where a fault's recovery is measured from: when it started and how far each side had sent.
#[derive(Debug, Clone, Copy)]
struct Mark {
    started: Instant,
    m2k_sent: usize,
    k2m_sent: usize,
}

/// Runs the soak; returns its report. Every service it started is gone when it returns (or when
/// the future is dropped, e.g. on Ctrl-C).
pub async fn run(config: Config, progress: impl Fn(&str) + Send + Sync + 'static) -> Report {
    let begun = Instant::now();
    let deadline = begun + config.max_duration;
    let progress = Arc::new(progress);
    progress("starting PostgreSQL, Mosquitto and Apache Kafka");
    let postgres = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .unwrap_or_else(|e| panic!("postgres: {e}"));
    let mosquitto = PrivateMosquitto::start();
    let kafka = PrivateKafka::start().await;
    let env = TestEnv {
        database_url: postgres.admin_url(),
        mqtt: mosquitto.server(),
        kafka: kafka.bootstrap.clone(),
    };
    progress(&format!(
        "starting the control plane and {} workers",
        config.workers
    ));
    let stack = Stack::start_on(env.clone(), config.workers, BTreeMap::new()).await;
    let api = stack.api();

    // MQTT → Kafka.
    api.create_default_mqtt_connector(&env.mqtt).await;
    api.create_kafka_producer_connector("kafka", &env.kafka)
        .await;
    let sink_topic = unique("chaos-sink");
    kafka::create_topic(&env.kafka, &sink_topic, config.partitions).await;
    let mut parameters = json!({"topic": sink_topic, "message": {"value": "${payload.n}"}});
    if let (Some(all), serde_json::Value::Object(extra)) =
        (parameters.as_object_mut(), config.action.clone())
    {
        all.extend(extra);
    }
    let action = unique("chaos-sink");
    api.create_kafka_action(&action, "kafka", parameters).await;
    let prefix = unique("chaos-in");
    let rule_filter = format!("{prefix}/#");
    let rule = api
        .create_rule(
            &unique("chaos-rule"),
            &format!("SELECT payload FROM \"{rule_filter}\""),
            json!([format!("kafka_producer:{action}")]),
        )
        .await;
    stack
        .wait_flow_running(&format!("rule:{rule}"), config.workers)
        .await;

    // Kafka → MQTT.
    let source_topic = unique("chaos-source");
    kafka::create_topic(&env.kafka, &source_topic, config.partitions).await;
    let out_topic = format!("chaos/{}", unique("out"));
    let subscriber = SessionSubscriber::start(&env.mqtt, &out_topic).await;
    api.post(
        "/connectors",
        json!({"type": "kafka_consumer", "name": "kc", "bootstrap_hosts": env.kafka}),
    )
    .await;
    let source = unique("chaos-src");
    api.post(
        "/sources",
        json!({"type": "kafka_consumer", "name": source, "connector": "kc", "parameters": {
            "topic_mapping": [{
                "kafka_topic": source_topic,
                "mqtt_topic": out_topic,
                "qos": 1,
                "payload_template": "${.value}"
            }],
            "group_id": unique("chaos-group"),
            "offset_reset_policy": "earliest",
            "offset_commit_interval_seconds": 1
        }}),
    )
    .await;
    let source_id = format!("kafka_consumer:{source}");

    let admins = (0..stack.worker_count())
        .map(|i| stack.worker_admin(i).to_owned())
        .collect();
    let counters = Counters::new(admins);
    let mut services = Services::new(
        stack,
        kafka,
        mosquitto,
        postgres,
        counters.clone(),
        (rule.clone(), rule_filter, source_id.clone()),
        config.seed,
    );

    // The traffic and the far ends.
    let stop = Arc::new(AtomicBool::new(false));
    let m2k_tally = Tally::new(config.messages);
    let k2m_tally = Tally::new(config.messages);
    let m2k_sent = Arc::new(Sent::default());
    let k2m_sent = Arc::new(Sent::default());
    services.probe_topic = format!("{prefix}/probe");
    if config.hold_publisher {
        services.hold = Some(Arc::clone(&m2k_sent));
    }
    let reader_kafka = tokio::spawn(traffic::read_kafka(
        env.kafka.clone(),
        sink_topic.clone(),
        m2k_tally.clone(),
        Arc::clone(&services.probes),
        Arc::clone(&stop),
    ));
    let reader_mqtt = tokio::spawn(traffic::read_mqtt(
        subscriber,
        k2m_tally.clone(),
        Arc::clone(&stop),
    ));
    let scraper = tokio::spawn({
        let (counters, stop) = (counters.clone(), Arc::clone(&stop));
        async move {
            while !stop.load(Ordering::Relaxed) {
                counters.scrape_all().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    progress(&format!(
        "sending {} messages each way at {}/s",
        config.messages, config.rate
    ));
    let traffic_started = Instant::now();
    let publisher = tokio::spawn(traffic::publish_mqtt(
        env.mqtt.clone(),
        prefix,
        config.messages,
        config.rate,
        Arc::clone(&m2k_sent),
        Arc::clone(&stop),
    ));
    let producer = tokio::spawn(traffic::produce_kafka(
        env.kafka.clone(),
        source_topic,
        config.partitions,
        config.messages,
        config.rate,
        Arc::clone(&k2m_sent),
        Arc::clone(&stop),
    ));

    let records: Arc<Mutex<Vec<FaultRecord>>> = Arc::default();
    let measure = |fault: &str, note: String, mark: Mark, took: Duration| {
        let index = {
            let mut all = records.lock().unwrap_or_else(PoisonError::into_inner);
            all.push(FaultRecord {
                fault: fault.to_owned(),
                note,
                at: mark.started.duration_since(traffic_started),
                took,
                m2k_recovered: None,
                k2m_recovered: None,
                m2k_duplicates: 0,
                k2m_duplicates: 0,
            });
            all.len() - 1
        };
        let (records, stop) = (Arc::clone(&records), Arc::clone(&stop));
        let (m2k, k2m) = (m2k_tally.clone(), k2m_tally.clone());
        tokio::spawn(async move {
            let (mut m2k_done, mut k2m_done) = (false, false);
            while !(stop.load(Ordering::Relaxed) || m2k_done && k2m_done) {
                let elapsed = mark.started.elapsed();
                {
                    let mut all = records.lock().unwrap_or_else(PoisonError::into_inner);
                    if !m2k_done && m2k.low() >= mark.m2k_sent {
                        all[index].m2k_recovered = Some(elapsed);
                        m2k_done = true;
                    }
                    if !k2m_done && k2m.low() >= mark.k2m_sent {
                        all[index].k2m_recovered = Some(elapsed);
                        k2m_done = true;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    };
    let mark = || Mark {
        started: Instant::now(),
        m2k_sent: m2k_sent.sent.load(Ordering::Relaxed),
        k2m_sent: k2m_sent.sent.load(Ordering::Relaxed),
    };

    // A baseline: how long the newest message takes through each path with nothing wrong.
    tokio::time::sleep(config.fault_interval / 2).await;
    measure("none (baseline)", String::new(), mark(), Duration::ZERO);

    // The fault schedule.
    let half = config.fault_interval / 2;
    let mut next_fault = 0;
    let mut rounds_done = 0;
    let mut kill_next = true;
    let sending = || !(publisher.is_finished() && producer.is_finished());
    while (sending() || rounds_done < config.min_rounds) && Instant::now() + half < deadline {
        let tick = Instant::now();
        let fault = if kill_next {
            Fault::WorkerKill
        } else if config.faults.is_empty() {
            kill_next = !kill_next;
            tokio::time::sleep(half).await;
            if !sending() {
                rounds_done = config.min_rounds;
            }
            continue;
        } else {
            let fault = config.faults[next_fault];
            next_fault += 1;
            if next_fault == config.faults.len() {
                next_fault = 0;
                rounds_done += 1;
            }
            fault
        };
        kill_next = !kill_next;
        let at = mark();
        let note = services.apply(fault).await;
        let took = at.started.elapsed();
        progress(&format!(
            "{:>6.1} s  {:<18} {note} ({:.1} s)  m2k {}/{} k2m {}/{}",
            at.started.duration_since(traffic_started).as_secs_f64(),
            fault.name(),
            took.as_secs_f64(),
            m2k_tally.low(),
            m2k_sent.sent.load(Ordering::Relaxed),
            k2m_tally.low(),
            k2m_sent.sent.load(Ordering::Relaxed),
        ));
        measure(fault.name(), note, at, took);
        tokio::time::sleep(half.saturating_sub(tick.elapsed())).await;
    }
    let faults_ended = traffic_started.elapsed();

    // Catching up: until everything arrived or nothing moved for `settle`.
    progress("faults over; waiting for the far ends to catch up");
    let mut last = (0, 0, Instant::now());
    loop {
        let received = (m2k_tally.summary_received(), k2m_tally.summary_received());
        let complete = m2k_tally.low() >= config.messages && k2m_tally.low() >= config.messages;
        if complete || Instant::now() >= deadline {
            break;
        }
        if (received.0, received.1) != (last.0, last.1) {
            last = (received.0, received.1, Instant::now());
        } else if last.2.elapsed() >= config.settle && !sending() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Late duplicates (a redelivery still under way) are counted too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let traffic_time = traffic_started.elapsed();
    counters.scrape_all().await;
    stop.store(true, Ordering::Relaxed);
    let _ = reader_kafka.await;
    let subscriber_sessions_lost = reader_mqtt.await.unwrap_or(0);
    let _ = scraper.await;
    publisher.abort();
    producer.abort();

    let control_metrics = (
        services
            .stack
            .api()
            .try_call(
                reqwest::Method::GET,
                &format!("/rules/{rule}/metrics"),
                None,
            )
            .await
            .map(|(_, body)| body)
            .unwrap_or_default(),
        services
            .stack
            .api()
            .try_call(
                reqwest::Method::GET,
                &format!("/sources/{source_id}/metrics"),
                None,
            )
            .await
            .map(|(_, body)| body)
            .unwrap_or_default(),
    );
    let mut faults = records
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    attribute_duplicates(
        &mut faults,
        traffic_started,
        &m2k_tally.duplicates_at(),
        &k2m_tally.duplicates_at(),
    );
    Report {
        config,
        m2k: m2k_tally.summary(),
        k2m: k2m_tally.summary(),
        m2k_sent: report::SentFigures::of(&m2k_sent),
        k2m_sent: report::SentFigures::of(&k2m_sent),
        subscriber_sessions_lost,
        rule_counters: counters.totals(&format!("rule:{rule}")),
        action_counters: counters.totals(&format!("action:kafka_producer:{action}")),
        source_counters: counters.totals(&format!("source:{source_id}")),
        worker_processes: counters.processes(),
        control_metrics,
        faults,
        faults_ended,
        traffic_time,
        total_time: begun.elapsed(),
    }
}

/// Gives each fault the duplicates that arrived between its start and the next fault's start
/// (the baseline gets those before the first fault).
fn attribute_duplicates(
    faults: &mut [FaultRecord],
    traffic_started: Instant,
    m2k: &[Instant],
    k2m: &[Instant],
) {
    let starts: Vec<Duration> = faults.iter().map(|f| f.at).collect();
    let owner = |at: &Instant| {
        let since = at.saturating_duration_since(traffic_started);
        starts
            .iter()
            .rposition(|start| *start <= since)
            .unwrap_or(0)
    };
    let m2k_owners: Vec<usize> = m2k.iter().map(owner).collect();
    let k2m_owners: Vec<usize> = k2m.iter().map(owner).collect();
    for i in m2k_owners {
        if let Some(fault) = faults.get_mut(i) {
            fault.m2k_duplicates += 1;
        }
    }
    for i in k2m_owners {
        if let Some(fault) = faults.get_mut(i) {
            fault.k2m_duplicates += 1;
        }
    }
}
