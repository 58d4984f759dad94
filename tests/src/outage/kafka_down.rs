//! Kafka unreachable while MQTT traffic continues: one rule per action mode on the same traffic.
//! `sync` must deliver everything once Kafka is back (the MQTT broker kept what the worker had not
//! acknowledged); `async` must account for every message as delivered or dropped (counted).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::report::{FlowOutcome, KafkaDown};
use super::rss::{RssSampler, status_bytes};
use super::{Config, Scenario, api_counters};
use crate::chaos::tally::Tally;
use crate::chaos::traffic::{self, Sent};
use crate::private_kafka::PrivateKafka;
use crate::{Stack, kafka, unique};

struct Flow {
    mode: Scenario,
    action: String,
    tally: Tally,
    reader: tokio::task::JoinHandle<()>,
}

pub(super) async fn run(
    config: &Config,
    modes: &[Scenario],
    stack: &Stack,
    broker: &PrivateKafka,
    progress: &impl Fn(&str),
) -> KafkaDown {
    let api = stack.api();
    let env = &stack.env;
    api.create_kafka_producer_connector("kafka", &env.kafka)
        .await;
    let prefix = unique("outage-in");
    let count = config.messages();
    let stop = Arc::new(AtomicBool::new(false));
    let mut flows = Vec::new();
    for &mode in modes {
        let topic = unique(&format!("outage-{}", mode.name()));
        kafka::create_topic(&env.kafka, &topic, config.partitions).await;
        let key = format!(
            "{}${{payload.n}}",
            "k".repeat(config.record_bytes.saturating_sub(8))
        );
        let mut parameters =
            json!({"topic": topic, "message": {"key": key, "value": "${payload.n}"}});
        let extra = match mode {
            Scenario::Sync => json!({"query_mode": "sync", "sync_query_timeout": "5s"}),
            // librdkafka's own queue kept small (2 batches of 64 KB), so that the backlog waits
            // in the action's buffer, whose limit is what the run exercises.
            _ => json!({"query_mode": "async", "max_batch_bytes": "64KB", "max_inflight": 2,
                        "buffer": {"per_partition_limit": config.async_partition_limit}}),
        };
        if let (Some(all), Some(extra)) = (parameters.as_object_mut(), extra.as_object()) {
            all.extend(extra.clone());
        }
        let action = unique(&format!("outage-{}", mode.name()));
        api.create_kafka_action(&action, "kafka", parameters).await;
        // A connection of its own per rule: on a shared one the `sync` rule's unacknowledged
        // messages would hold back what the broker hands the `async` rule too.
        let connector = unique("outage-mqtt");
        api.post(
            "/connectors",
            json!({"type": "mqtt", "name": connector, "server": env.mqtt, "keepalive": "10s"}),
        )
        .await;
        let rule = unique("outage-rule");
        api.post(
            "/rules",
            json!({"id": rule, "name": rule, "enable": true, "mqtt_connector": connector,
                   "sql": format!("SELECT payload FROM \"{prefix}/#\""),
                   "actions": [format!("kafka_producer:{action}")]}),
        )
        .await;
        stack.wait_flow_running(&format!("rule:{rule}"), 1).await;
        let tally = Tally::new(count);
        let reader = tokio::spawn(traffic::read_kafka(
            env.kafka.clone(),
            topic,
            tally.clone(),
            Arc::new(AtomicU64::new(0)),
            Arc::clone(&stop),
        ));
        flows.push(Flow {
            mode,
            action,
            tally,
            reader,
        });
    }

    let pid = stack
        .worker_pid(0)
        .unwrap_or_else(|| panic!("the worker is not running"));
    let sent = Arc::new(Sent::default());
    progress(&format!(
        "Kafka down: {count} MQTT messages at {}/s, {} s before the outage, {} s of outage",
        config.rate,
        config.before.as_secs(),
        config.outage.as_secs()
    ));
    let publisher = tokio::spawn(traffic::publish_mqtt(
        env.mqtt.clone(),
        prefix,
        count,
        config.rate,
        Arc::clone(&sent),
        Arc::clone(&stop),
    ));
    tokio::time::sleep(config.before).await;
    let rss_before = status_bytes(pid, "VmRSS").unwrap_or(0);
    let during = RssSampler::start(pid, Duration::from_millis(200));
    let whole = RssSampler::start(pid, Duration::from_millis(200));
    broker.pause();
    let paused = Instant::now();
    tokio::time::sleep(config.outage).await;
    broker.resume();
    let resumed = Instant::now();
    let sent_during = sent.sent.load(Ordering::Relaxed);
    let rss_peak_outage = during.stop();
    progress(&format!(
        "Kafka back after {:.1} s; worker RSS {} before, peak {} during",
        paused.elapsed().as_secs_f64(),
        super::rss::mib(rss_before),
        super::rss::mib(rss_peak_outage)
    ));

    // Until everything is accounted for, or nothing moved for `settle` after sending ended.
    let mut recovered: Vec<Option<Duration>> = vec![None; flows.len()];
    let mut last_move = Instant::now();
    let mut last_seen = 0;
    loop {
        let mut all_done = publisher.is_finished();
        let mut seen = 0;
        for (i, flow) in flows.iter().enumerate() {
            seen += flow.tally.summary_received();
            if recovered[i].is_none() && flow.tally.low() >= sent_during {
                recovered[i] = Some(resumed.elapsed());
            }
            let complete = match flow.mode {
                Scenario::Sync => flow.tally.low() >= count,
                _ => {
                    let counters = api_counters(
                        stack,
                        &format!("/actions/kafka_producer:{}/metrics", flow.action),
                    )
                    .await;
                    let accounted = flow.tally.summary().distinct as u64
                        + counters.get("dropped").copied().unwrap_or(0)
                        + counters.get("failed").copied().unwrap_or(0);
                    accounted >= count as u64
                }
            };
            all_done &= complete;
        }
        if seen != last_seen {
            last_seen = seen;
            last_move = Instant::now();
        }
        if all_done || (publisher.is_finished() && last_move.elapsed() >= config.settle) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Late duplicates (a redelivery still under way) are counted too; the async counters were
    // read from the API (the worker's heartbeats) above already.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_peak = whole.stop();
    let rss_hwm = status_bytes(pid, "VmHWM").unwrap_or(0);
    let rss_after = status_bytes(pid, "VmRSS").unwrap_or(0);
    stop.store(true, Ordering::Relaxed);
    publisher.abort();
    let mut outcomes = Vec::new();
    for (flow, recovered) in flows.into_iter().zip(recovered) {
        let _ = flow.reader.await;
        outcomes.push(FlowOutcome {
            mode: flow.mode,
            summary: flow.tally.summary(),
            counters: api_counters(
                stack,
                &format!("/actions/kafka_producer:{}/metrics", flow.action),
            )
            .await,
            recovered,
        });
    }
    KafkaDown {
        sent: count,
        acknowledged: sent.acked.load(Ordering::Relaxed),
        sessions_lost: sent.sessions_lost.load(Ordering::Relaxed),
        rss_before,
        rss_peak_outage,
        rss_peak,
        rss_hwm,
        rss_after,
        flows: outcomes,
    }
}
