//! Both directions' traffic at a steady rate, and the far ends that count what arrives.
//!
//! - MQTT → Kafka: a QoS 1 MQTT 5 publisher with a persistent session sends `{"n": N}` to
//!   `<prefix>/<N % 8>`; a Kafka reader assigned every partition of the sink topic counts the
//!   records' values (the action writes `${payload.n}`).
//! - Kafka → MQTT: an idempotent Kafka producer writes `{"n": N}` to the source topic; a QoS 1
//!   MQTT subscriber with a persistent session counts what the source publishes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};

use super::tally::Tally;
use crate::broker::SessionSubscriber;
use crate::kafka;
use crate::mqtt::host_port;
use crate::unique;

/// How far one side's sender got.
#[derive(Debug, Default)]
pub struct Sent {
    /// Handed to the client (the sequence numbers below this were sent).
    pub sent: AtomicUsize,
    /// Acknowledged by the broker the client talks to (PUBACKs, Kafka delivery reports).
    pub acked: AtomicU64,
    /// Reconnections that found the client's session gone (MQTT only): what rumqttc held
    /// unacknowledged is then dropped by the client itself, not by Tributary.
    pub sessions_lost: AtomicU64,
    /// Kafka deliveries that failed and were sent again.
    pub retried: AtomicU64,
    /// While set, the MQTT publisher neither sends nor talks to the broker (see
    /// `Fault::MosquittoRestart`).
    pub hold: AtomicBool,
}

/// The value a probe message carries (no number, so no tally counts it).
pub const PROBE: &str = "probe";

/// The sequence numbers due after `elapsed` at `rate` per second, capped at `count`.
fn due(elapsed: Duration, rate: u32, count: usize) -> usize {
    let due = (elapsed.as_secs_f64() * f64::from(rate)) as usize;
    due.min(count)
}

/// Publishes `count` messages at `rate` per second; returns once all were sent and acknowledged
/// (or `stop` was set).
pub async fn publish_mqtt(
    server: String,
    prefix: String,
    count: usize,
    rate: u32,
    sent: Arc<Sent>,
    stop: Arc<AtomicBool>,
) {
    let (host, port) = host_port(&server);
    let mut options = MqttOptions::new(unique("chaos-pub"), host, port);
    options
        .set_keep_alive(Duration::from_secs(5))
        .set_clean_start(false)
        .set_session_expiry_interval(Some(3600));
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    let acks = {
        let sent = Arc::clone(&sent);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut connected_before = false;
            while !stop.load(Ordering::Relaxed) {
                if sent.hold.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        sent.acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                        if connected_before && !ack.session_present {
                            sent.sessions_lost.fetch_add(1, Ordering::Relaxed);
                        }
                        connected_before = true;
                    }
                    Ok(_) => {}
                    // The next poll reconnects and sends again what was not acknowledged.
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        })
    };
    let start = Instant::now();
    let mut next = 0;
    while next < count && !stop.load(Ordering::Relaxed) {
        let target = due(start.elapsed(), rate, count);
        while next < target && !sent.hold.load(Ordering::Relaxed) {
            let topic = format!("{prefix}/{}", next % 8);
            let payload = format!("{{\"n\":{next}}}");
            if client
                .publish(topic, QoS::AtLeastOnce, false, payload)
                .await
                .is_err()
            {
                return;
            }
            next += 1;
            sent.sent.store(next, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while sent.acked.load(Ordering::Relaxed) < count as u64 && !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    acks.abort();
}

/// Produces `count` records to `topic` (round-robin over `partitions`) at `rate` per second; a
/// record whose delivery fails is produced again. Returns once every record was acknowledged.
pub async fn produce_kafka(
    bootstrap: String,
    topic: String,
    partitions: i32,
    count: usize,
    rate: u32,
    sent: Arc<Sent>,
    stop: Arc<AtomicBool>,
) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "60000")
        .set("reconnect.backoff.max.ms", "1000")
        .create()
        .unwrap_or_else(|e| panic!("chaos producer: {e}"));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(50_000));
    let start = Instant::now();
    let mut next = 0;
    while next < count && !stop.load(Ordering::Relaxed) {
        let target = due(start.elapsed(), rate, count);
        while next < target {
            let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
                return;
            };
            let (producer, topic, counts, stop) = (
                producer.clone(),
                topic.clone(),
                Arc::clone(&sent),
                Arc::clone(&stop),
            );
            let n = next;
            tokio::spawn(async move {
                let value = format!("{{\"n\":{n}}}");
                let partition = i32::try_from(n % 1024).unwrap_or(0) % partitions.max(1);
                while !stop.load(Ordering::Relaxed) {
                    let record = FutureRecord::<str, str>::to(&topic)
                        .partition(partition)
                        .payload(&value);
                    match producer.send(record, Duration::from_secs(60)).await {
                        Ok(_) => {
                            counts.acked.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(_) => {
                            counts.retried.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                }
                drop(permit);
            });
            next += 1;
            sent.sent.store(next, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while sent.acked.load(Ordering::Relaxed) < count as u64 && !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads every partition of `topic` from the beginning into `tally` until `stop`, counting probe
/// records in `probes`. librdkafka reconnects on its own when the broker restarts.
pub async fn read_kafka(
    bootstrap: String,
    topic: String,
    tally: Tally,
    probes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", unique("chaos-reader"))
        .set("enable.auto.commit", "false")
        .set("reconnect.backoff.max.ms", "1000")
        .create()
        .unwrap_or_else(|e| panic!("chaos reader: {e}"));
    let mut ids = Vec::new();
    while ids.is_empty() && !stop.load(Ordering::Relaxed) {
        if let Ok(metadata) = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)) {
            ids = kafka::partition_ids(&metadata, &topic);
        }
        if ids.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let assignment = kafka::from_the_beginning(&topic, &ids);
    consumer
        .assign(&assignment)
        .unwrap_or_else(|e| panic!("assign {topic}: {e}"));
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await {
            Ok(Ok(message)) => {
                let value = message
                    .payload()
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .map(str::trim);
                if value == Some(PROBE) {
                    probes.fetch_add(1, Ordering::Relaxed);
                } else {
                    tally.add(value.and_then(|v| v.parse::<u64>().ok()));
                }
            }
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => {}
        }
    }
}

/// Counts what arrives on `filter` into `tally` until `stop`; returns how many reconnections
/// found the subscriber's session gone (messages queued for it are lost then, by the broker).
pub async fn read_mqtt(
    mut subscriber: SessionSubscriber,
    tally: Tally,
    stop: Arc<AtomicBool>,
) -> usize {
    while !stop.load(Ordering::Relaxed) {
        if let Some((_, payload)) = subscriber.next(Duration::from_millis(500)).await {
            tally.add(
                serde_json::from_slice::<serde_json::Value>(&payload)
                    .ok()
                    .and_then(|v| v["n"].as_u64()),
            );
        }
    }
    subscriber.sessions_lost()
}
