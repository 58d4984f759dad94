//! One MQTT connection: a poller task that owns the event loop, and an acknowledging task that
//! sends PUBACKs in receive order. Rules attach routes; anyone can publish through it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tributary_protocol::resources::MqttConnectorConfig;
use tributary_rules::MessagePublish;

use super::ack_tracker::{AckTracker, AckWork};
use super::backoff::Backoff;
use super::client::{
    ClientError, MqttClient, MqttEventLoop, NetEvent, OutboundPublish, ReceivedPublish,
};
use super::inbox::{InboxSender, Offer};
use super::options::OptionsError;
use super::routing::{RouteChange, Routes, Subscription};
use super::{InboundMessage, v4, v5};
use crate::telemetry::{ConnectorState, MetricsHub, StatusBoard};

/// A live connection to a broker, shared by every flow of this worker that uses the connector.
/// Dropping the last handle closes it.
#[derive(Debug)]
pub struct MqttConnection {
    connector_id: String,
    client: MqttClient,
    routes: Arc<Mutex<Routes>>,
    config: MqttConnectorConfig,
    stop: CancellationToken,
}

/// What the connection's tasks share.
#[derive(Debug, Clone)]
struct Context {
    connector_id: String,
    node: String,
    client: MqttClient,
    routes: Arc<Mutex<Routes>>,
    tracker: AckTracker,
    reconnect: Arc<Notify>,
    status: StatusBoard,
    metrics: MetricsHub,
}

impl MqttConnection {
    /// Starts connecting in the background; subscriptions and publishes queue until connected.
    pub fn start(
        connector_name: &str,
        client_id: &str,
        config: &MqttConnectorConfig,
        status: StatusBoard,
        metrics: MetricsHub,
        node: &str,
    ) -> Result<Arc<Self>, OptionsError> {
        let (client, eventloop) = match config.proto_ver {
            tributary_protocol::resources::MqttVersion::V4 => v4::connect(client_id, config)?,
            tributary_protocol::resources::MqttVersion::V5 => v5::connect(client_id, config)?,
        };
        let connector_id = format!("mqtt:{connector_name}");
        let routes = Arc::new(Mutex::new(Routes::default()));
        let stop = CancellationToken::new();
        let context = Context {
            connector_id: connector_id.clone(),
            node: node.to_owned(),
            client: client.clone(),
            routes: Arc::clone(&routes),
            tracker: AckTracker::new(),
            reconnect: Arc::new(Notify::new()),
            status,
            metrics,
        };
        context
            .status
            .set(&connector_id, ConnectorState::Connecting, "starting");
        tokio::spawn(poll_loop(context.clone(), eventloop, stop.clone()));
        tokio::spawn(ack_loop(context, stop.clone()));
        tracing::info!(connector = %connector_id, client_id, "MQTT connection starting");
        Ok(Arc::new(Self {
            connector_id,
            client,
            routes,
            config: config.clone(),
            stop,
        }))
    }

    pub fn config(&self) -> &MqttConnectorConfig {
        &self.config
    }

    pub fn connector_id(&self) -> &str {
        &self.connector_id
    }

    /// Routes the messages of `rule_id`'s topic filters to `sender` (replacing an earlier route of
    /// the same rule) and subscribes what is new.
    pub async fn attach_rule(
        &self,
        rule_id: &str,
        filters: &[String],
        sender: InboxSender,
    ) -> Result<(), ClientError> {
        let change = self.lock_routes().set(rule_id, filters, sender);
        apply_change(&self.client, change).await
    }

    /// Stops routing to `rule_id` and unsubscribes its filters.
    pub async fn detach_rule(&self, rule_id: &str) -> Result<(), ClientError> {
        let filters = self.lock_routes().remove(rule_id);
        apply_change(
            &self.client,
            RouteChange {
                subscribe: Vec::new(),
                unsubscribe: filters,
            },
        )
        .await
    }

    /// Queues a PUBLISH. Returns once the connection accepted it, not when the broker acknowledged
    /// it; QoS 1 publishes not acknowledged before a disconnect are resent on reconnect.
    pub async fn publish(&self, message: OutboundPublish) -> Result<(), ClientError> {
        self.client.publish(message).await
    }

    fn lock_routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for MqttConnection {
    fn drop(&mut self) {
        self.stop.cancel();
        tracing::info!(connector = %self.connector_id, "MQTT connection closed");
    }
}

async fn apply_change(client: &MqttClient, change: RouteChange) -> Result<(), ClientError> {
    for filter in &change.unsubscribe {
        client.unsubscribe(filter).await?;
    }
    for Subscription { shared_filter, id } in &change.subscribe {
        client.subscribe(shared_filter, *id).await?;
    }
    Ok(())
}

/// Owns the event loop. Never awaits anything but the network, so keepalives keep flowing.
async fn poll_loop(context: Context, mut eventloop: MqttEventLoop, stop: CancellationToken) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => break,
            () = context.reconnect.notified() => {
                tracing::warn!(connector = %context.connector_id, "reconnecting so the broker redelivers unfinished messages");
                eventloop.drop_connection();
                context.tracker.new_generation();
                continue;
            }
            event = eventloop.poll() => event,
        };
        match event {
            Ok(NetEvent::Connected { session_present }) => {
                backoff.reset();
                context.tracker.new_generation();
                context
                    .status
                    .set(&context.connector_id, ConnectorState::Connected, "");
                tracing::info!(connector = %context.connector_id, session_present, "MQTT connected");
                if !session_present {
                    let subscriptions = context
                        .routes
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .all_subscriptions();
                    // Subscribing goes through the request channel the poller drains: never from here.
                    let client = context.client.clone();
                    tokio::spawn(async move {
                        let change = RouteChange {
                            subscribe: subscriptions,
                            unsubscribe: Vec::new(),
                        };
                        let _ = apply_change(&client, change).await;
                    });
                }
            }
            Ok(NetEvent::Publish(publish)) => dispatch(&context, *publish),
            Ok(NetEvent::Other) => {}
            Err(reason) => {
                context.tracker.new_generation();
                context.status.set(
                    &context.connector_id,
                    ConnectorState::Connecting,
                    reason.clone(),
                );
                let delay = backoff.next_delay();
                tracing::warn!(connector = %context.connector_id, %reason, retry_in_ms = delay.as_millis() as u64, "MQTT connection lost");
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    context.status.set(
        &context.connector_id,
        ConnectorState::Disconnected,
        "stopped",
    );
}

/// Hands a received PUBLISH to the rules that want it, without ever blocking the poller.
fn dispatch(context: &Context, publish: ReceivedPublish) {
    let targets = context
        .routes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .route(&publish.topic, &publish.subscription_ids);
    let token = context.tracker.track(publish.ack);
    if targets.is_empty() {
        // No rule wants it any more (rule removed, or a duplicate copy): acknowledge and move on.
        token.complete();
        return;
    }
    let message = MessagePublish {
        id: message_id(),
        clientid: String::new(),
        username: None,
        topic: publish.topic,
        qos: publish.qos,
        retain: publish.retain,
        dup: publish.dup,
        payload: publish.payload,
        user_properties: publish.user_properties,
        peerhost: None,
        publish_received_at: now_ms(),
        node: context.node.clone(),
    };
    for sender in targets {
        let inbound = InboundMessage {
            message: message.clone(),
            ack: token.clone(),
        };
        match sender.offer(inbound) {
            Offer::Queued => {}
            // QoS 0 under overload: at most once allows dropping it.
            Offer::Shed(dropped) => {
                context
                    .metrics
                    .resource(&context.connector_id)
                    .inc("dropped.queue_full");
                dropped.ack.complete();
            }
            // The rule is restarting: dropping the token unfinished makes the broker redeliver
            // the message (to the restarted rule).
            Offer::Closed(unfinished) => drop(unfinished),
        }
    }
    token.complete();
}

/// Sends PUBACKs for the contiguous completed prefix, from outside the poller.
async fn ack_loop(context: Context, stop: CancellationToken) {
    loop {
        let work = tokio::select! {
            () = stop.cancelled() => break,
            work = context.tracker.next_work() => work,
        };
        match work {
            AckWork::Send(acks) => {
                for ack in &acks {
                    if context.client.ack(ack).await.is_err() {
                        return;
                    }
                }
            }
            AckWork::Reconnect => context.reconnect.notify_one(),
        }
    }
}

/// The message id rules see as `id`: unique per worker process and time-ordered.
fn message_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{:016X}{:016X}", now_ms(), n)
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
