//! Mosquitto down while Kafka traffic continues into a `kafka_consumer` source: the source must
//! not commit offsets past records MQTT has not acknowledged, must not hold the backlog in
//! memory (Kafka keeps it), and must deliver everything once the broker is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::offsets::CommittedOffsets;
use super::report::MqttDown;
use super::rss::{RssSampler, status_bytes};
use super::{Config, api_counters};
use crate::broker::{PrivateMosquitto, SessionSubscriber};
use crate::chaos::tally::Tally;
use crate::chaos::traffic::{self, Sent};
use crate::{Stack, kafka, unique};

pub(super) async fn run(
    config: &Config,
    stack: &Stack,
    mut mosquitto: PrivateMosquitto,
    progress: &impl Fn(&str),
) -> MqttDown {
    let api = stack.api();
    let env = &stack.env;
    let topic = unique("outage-source");
    kafka::create_topic(&env.kafka, &topic, config.partitions).await;
    let out_topic = format!("outage/{}", unique("out"));
    let subscriber = SessionSubscriber::start(&env.mqtt, &out_topic).await;
    let connector = unique("kc");
    api.post(
        "/connectors",
        json!({"type": "kafka_consumer", "name": connector, "bootstrap_hosts": env.kafka}),
    )
    .await;
    let source = unique("outage-src");
    let group = unique("outage-group");
    api.post(
        "/sources",
        json!({"type": "kafka_consumer", "name": source, "connector": connector, "parameters": {
            "topic_mapping": [{
                "kafka_topic": topic,
                "mqtt_topic": out_topic,
                "qos": 1,
                "payload_template": "${.value}"
            }],
            "group_id": group,
            "offset_reset_policy": "earliest",
            "offset_commit_interval_seconds": 1
        }}),
    )
    .await;
    let count = config.messages();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Tally::new(count);
    let reader = tokio::spawn(traffic::read_mqtt(
        subscriber,
        tally.clone(),
        Arc::clone(&stop),
    ));
    let pid = stack
        .worker_pid(0)
        .unwrap_or_else(|| panic!("the worker is not running"));
    let sent = Arc::new(Sent::default());
    progress(&format!(
        "MQTT down: {count} Kafka records at {}/s, {} s before the outage, {} s of outage",
        config.rate,
        config.before.as_secs(),
        config.outage.as_secs()
    ));
    let producer = tokio::spawn(traffic::produce_kafka(
        env.kafka.clone(),
        topic.clone(),
        config.partitions,
        count,
        config.rate,
        Arc::clone(&sent),
        Arc::clone(&stop),
    ));
    tokio::time::sleep(config.before).await;

    let offsets = Arc::new(CommittedOffsets::new(
        &env.kafka,
        &group,
        &topic,
        config.partitions,
    ));
    let rss_before = status_bytes(pid, "VmRSS").unwrap_or(0);
    let during = RssSampler::start(pid, Duration::from_millis(200));
    let whole = RssSampler::start(pid, Duration::from_millis(200));
    // Every record produced before the broker stopped may be delivered (and committed); none
    // produced later can be: the committed offsets must never pass what was produced by then.
    let acked_before = sent.acked.load(Ordering::Relaxed);
    let down_at = Instant::now();
    let outage = config.outage;
    let restart = tokio::task::spawn_blocking(move || {
        mosquitto.restart(outage);
        mosquitto
    });
    // The bound is read once the broker no longer accepts connections: a record produced while
    // it was still shutting down may have been delivered (and committed) legitimately.
    let refused_by = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(&env.mqtt).await.is_ok() && Instant::now() < refused_by {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let produced_before = sent.sent.load(Ordering::Relaxed) as u64;
    let (mut committed_max, mut samples) = (0_u64, 0_u32);
    let mut committed_at_start = None;
    while !restart.is_finished() {
        let reader = Arc::clone(&offsets);
        if let Ok(Some(total)) = tokio::task::spawn_blocking(move || reader.total()).await {
            committed_at_start.get_or_insert(total);
            committed_max = committed_max.max(total);
            samples += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mosquitto = restart
        .await
        .unwrap_or_else(|e| panic!("restarting Mosquitto: {e}"));
    let back = Instant::now();
    let sent_during = sent.sent.load(Ordering::Relaxed);
    let rss_peak_outage = during.stop();
    progress(&format!(
        "Mosquitto back after {:.1} s; worker RSS {} before, peak {} during; committed {} of {} produced before the outage",
        down_at.elapsed().as_secs_f64(),
        super::rss::mib(rss_before),
        super::rss::mib(rss_peak_outage),
        committed_max,
        produced_before
    ));

    let mut recovered = None;
    let mut last = (0, Instant::now());
    loop {
        if recovered.is_none() && tally.low() >= sent_during {
            recovered = Some(back.elapsed());
        }
        if tally.low() >= count {
            break;
        }
        let received = tally.summary_received();
        if received != last.0 {
            last = (received, Instant::now());
        } else if producer.is_finished() && last.1.elapsed() >= config.settle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The last commits (every second) and the counters' heartbeat (every 2 s).
    let mut committed_after = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while committed_after < count as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let reader = Arc::clone(&offsets);
        committed_after = tokio::task::spawn_blocking(move || reader.total())
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_peak = whole.stop();
    let rss_hwm = status_bytes(pid, "VmHWM").unwrap_or(0);
    let rss_after = status_bytes(pid, "VmRSS").unwrap_or(0);
    stop.store(true, Ordering::Relaxed);
    let subscriber_sessions_lost = reader.await.unwrap_or(0);
    producer.abort();
    let counters = api_counters(stack, &format!("/sources/kafka_consumer:{source}/metrics")).await;
    drop(mosquitto);
    MqttDown {
        sent: count,
        acknowledged: sent.acked.load(Ordering::Relaxed),
        acked_before,
        produced_before,
        committed_at_start: committed_at_start.unwrap_or(0),
        committed_max,
        committed_samples: samples,
        committed_after,
        summary: tally.summary(),
        counters,
        subscriber_sessions_lost,
        recovered,
        rss_before,
        rss_peak_outage,
        rss_peak,
        rss_hwm,
        rss_after,
    }
}
