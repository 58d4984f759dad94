//! MQTT load with rumqttc: a publisher of stamped messages over several connections with a large
//! QoS 1 window, and a subscriber that hands every message to a sink.
//!
//! Each connection's event loop is polled in its own task and never blocked: the publishing task
//! only queues requests, the poller counts PUBACKs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::{BenchError, Result};
use crate::load::{LoadPlan, SendReport, Window, due_at, lane_plan};
use crate::payload;
use crate::sink::MessageSink;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a publisher waits for the last PUBACKs once everything is queued.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct MqttEndpoint {
    pub host: String,
    pub port: u16,
}

/// Where and how a publisher sends.
#[derive(Debug, Clone)]
pub struct PublishTarget {
    /// Connection `k` publishes to `<topic_prefix>/<k>`.
    pub topic_prefix: String,
    pub qos: QoS,
    pub connections: u64,
    /// QoS 1 messages in flight per connection.
    pub inflight: u16,
    pub client_id_prefix: String,
}

pub fn qos_from(level: u8) -> QoS {
    if level == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    }
}

fn options(endpoint: &MqttEndpoint, client_id: &str) -> MqttOptions {
    let mut options = MqttOptions::new(client_id, endpoint.host.clone(), endpoint.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(true)
        .set_max_packet_size(1 << 20, 1 << 20);
    options
}

/// A client whose socket sends at once: with Nagle's algorithm, small QoS 0 publishes waited for
/// the peer's delayed ACK and paced runs showed 10 ms of latency that was the harness's own.
fn connect(options: MqttOptions, capacity: usize) -> (AsyncClient, EventLoop) {
    let (client, mut eventloop) = AsyncClient::new(options, capacity);
    let mut network = eventloop.network_options();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    (client, eventloop)
}

/// Sends `plan` over `target.connections` connections and waits for every confirmation; with a
/// `window`, never more than its limit ahead of the far end.
pub async fn publish(
    endpoint: &MqttEndpoint,
    target: &PublishTarget,
    plan: LoadPlan,
    window: Option<&Window>,
) -> Result<SendReport> {
    let lanes = target.connections.max(1);
    let tasks: Vec<JoinHandle<Result<SendReport>>> = (0..lanes)
        .map(|lane| {
            let (count, rate) = lane_plan(&plan, lanes, lane);
            let lane_run = LaneRun {
                client_id: format!("{}-{lane}", target.client_id_prefix),
                topic: format!("{}/{lane}", target.topic_prefix),
                qos: target.qos,
                inflight: target.inflight,
                count,
                rate,
                first_seq: plan.seq_base + lane,
                stride: lanes,
                max_duration: plan.max_duration,
                window: window.cloned(),
            };
            let endpoint = endpoint.clone();
            tokio::spawn(async move { lane_run.run(&endpoint).await })
        })
        .collect();
    let mut report = SendReport::default();
    for task in tasks {
        report = report.merge(task.await??);
    }
    Ok(report)
}

#[derive(Debug)]
struct LaneRun {
    client_id: String,
    topic: String,
    qos: QoS,
    inflight: u16,
    count: u64,
    rate: Option<f64>,
    first_seq: u64,
    stride: u64,
    max_duration: Duration,
    window: Option<Window>,
}

impl LaneRun {
    async fn run(self, endpoint: &MqttEndpoint) -> Result<SendReport> {
        let mut opts = options(endpoint, &self.client_id);
        opts.set_inflight(self.inflight.max(1));
        let (client, eventloop) = connect(opts, 4096);
        let confirmed = Arc::new(AtomicU64::new(0));
        let (connected_tx, connected_rx) = tokio::sync::oneshot::channel();
        let poller = tokio::spawn(count_confirmations(
            eventloop,
            self.qos,
            confirmed.clone(),
            connected_tx,
        ));
        wait_connected(connected_rx, &self.client_id).await?;

        let start = Instant::now();
        let mut sent = 0;
        let deadline = start + self.max_duration;
        for index in 0..self.count {
            if Instant::now() >= deadline {
                break;
            }
            if let Some(window) = &self.window
                && !window.admit(deadline).await
            {
                break;
            }
            if let Some(rate) = self.rate {
                tokio::time::sleep_until(due_at(start, index, rate).into()).await;
            }
            let seq = self.first_seq + index * self.stride;
            client
                .publish(
                    self.topic.clone(),
                    self.qos,
                    false,
                    payload::build(seq, payload::now_us()),
                )
                .await
                .map_err(|e| BenchError::mqtt(format!("publish from {}", self.client_id), e))?;
            sent += 1;
        }
        let confirm_deadline = Instant::now() + CONFIRM_TIMEOUT;
        while confirmed.load(Ordering::Relaxed) < sent && Instant::now() < confirm_deadline {
            if poller.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let elapsed = start.elapsed();
        let confirmed = confirmed.load(Ordering::Relaxed);
        // A clean DISCONNECT; the poller ends when the broker closes the connection.
        let _ = client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), poller).await;
        Ok(SendReport {
            sent,
            confirmed,
            failed: sent.saturating_sub(confirmed),
            elapsed,
        })
    }
}

async fn wait_connected(
    connected: tokio::sync::oneshot::Receiver<Result<()>>,
    who: &str,
) -> Result<()> {
    match tokio::time::timeout(CONNECT_TIMEOUT, connected).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(BenchError::mqtt(
            format!("connect {who}"),
            "event loop ended before CONNACK",
        )),
        Err(_) => Err(BenchError::timeout(
            format!("CONNACK for {who}"),
            CONNECT_TIMEOUT,
        )),
    }
}

/// Polls a publisher's connection: PUBACKs (QoS 1) or written publishes (QoS 0) are confirmations.
async fn count_confirmations(
    mut eventloop: EventLoop,
    qos: QoS,
    confirmed: Arc<AtomicU64>,
    connected: tokio::sync::oneshot::Sender<Result<()>>,
) {
    let mut connected = Some(connected);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Some(tx) = connected.take() {
                    let _ = tx.send(Ok(()));
                }
            }
            Ok(Event::Incoming(Packet::PubAck(_))) if qos == QoS::AtLeastOnce => {
                confirmed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Outgoing(Outgoing::Publish(_))) if qos == QoS::AtMostOnce => {
                confirmed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(err) => {
                match connected.take() {
                    Some(tx) => {
                        let _ = tx.send(Err(BenchError::mqtt("connect", err)));
                    }
                    None => tracing::warn!(error = %err, "publisher connection ended"),
                }
                return;
            }
        }
    }
}

/// Subscribes `filter` and hands every message to `sink` until `stop`; returns once the broker
/// acknowledged the subscription, so nothing published afterwards can be missed.
pub async fn subscribe<S: MessageSink>(
    endpoint: &MqttEndpoint,
    client_id: &str,
    filter: &str,
    qos: QoS,
    mut sink: S,
    stop: CancellationToken,
) -> Result<JoinHandle<Result<S>>> {
    let (client, mut eventloop) = connect(options(endpoint, client_id), 64);
    client
        .subscribe(filter, qos)
        .await
        .map_err(|e| BenchError::mqtt(format!("subscribe {filter}"), e))?;
    let subscribed = async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(err) => return Err(BenchError::mqtt(format!("subscribe {filter}"), err)),
            }
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT, subscribed)
        .await
        .map_err(|_| BenchError::timeout(format!("SUBACK for {filter}"), CONNECT_TIMEOUT))??;

    let filter = filter.to_owned();
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                event = eventloop.poll() => match event {
                    Ok(Event::Incoming(Packet::Publish(publish))) => sink.on_message(&publish.payload),
                    Ok(_) => {}
                    Err(err) => return Err(BenchError::mqtt(format!("subscription {filter}"), err)),
                },
            }
        }
        let _ = client.try_disconnect();
        Ok(sink)
    }))
}
