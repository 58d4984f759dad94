//! One MQTT connection: a poller task that owns the event loop, and an acknowledging task that
//! sends PUBACKs in receive order. Rules claim, then attach, routes (see `dispatcher`); anyone
//! can publish through it. The poller starts once the pool is released (see `pool`), so a resumed
//! session's backlog always finds its rules claimed.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tributary_connect::mqtt::{OptionsError, OutboundPublish};
use tributary_protocol::resources::MqttConnectorConfig;
use tributary_rules::{MessageId, MessagePublish};

use super::ack_tracker::{AckTracker, AckWork};
use super::client::{
    ClientError, MqttClient, MqttEventLoop, NetEvent, PendingAck, ReceivedPublish,
};
use super::dispatcher::{Dispatcher, Tally};
use super::inbox::InboxSender;
use super::routing::{RouteChange, Subscription};
use super::{InboundMessage, v4, v5};
use crate::backoff::Backoff;
use crate::telemetry::{ConnectorState, MetricsHub, StatusBoard};

/// A live connection to a broker, shared by every flow of this worker that uses the connector.
/// Dropping the last handle closes it.
#[derive(Debug)]
pub struct MqttConnection {
    connector_id: String,
    client: MqttClient,
    dispatcher: Arc<Mutex<Dispatcher>>,
    metrics: MetricsHub,
    config: MqttConnectorConfig,
    /// Asks the acknowledging task to send what is finished, then DISCONNECT.
    closing: CancellationToken,
    /// Cancelled when the poller has ended.
    closed: CancellationToken,
    stop: CancellationToken,
}

/// What the connection's tasks share.
#[derive(Debug, Clone)]
struct Context {
    connector_id: String,
    node: Arc<str>,
    client: MqttClient,
    dispatcher: Arc<Mutex<Dispatcher>>,
    tracker: AckTracker,
    reconnect: Arc<Notify>,
    status: StatusBoard,
    metrics: MetricsHub,
}

impl MqttConnection {
    /// Connects in the background once `released` turns true; subscriptions and publishes queue
    /// until connected.
    pub fn start(
        connector_name: &str,
        client_id: &str,
        config: &MqttConnectorConfig,
        status: StatusBoard,
        metrics: MetricsHub,
        node: &str,
        released: watch::Receiver<bool>,
    ) -> Result<Arc<Self>, OptionsError> {
        let (client, eventloop) = match config.proto_ver {
            tributary_protocol::resources::MqttVersion::V4 => v4::connect(client_id, config)?,
            tributary_protocol::resources::MqttVersion::V5 => v5::connect(client_id, config)?,
        };
        let connector_id = format!("mqtt:{connector_name}");
        let dispatcher = Arc::new(Mutex::new(Dispatcher::default()));
        let stop = CancellationToken::new();
        let closing = CancellationToken::new();
        let closed = CancellationToken::new();
        let context = Context {
            connector_id: connector_id.clone(),
            node: Arc::from(node),
            client: client.clone(),
            dispatcher: Arc::clone(&dispatcher),
            tracker: AckTracker::new(),
            reconnect: Arc::new(Notify::new()),
            status,
            metrics: metrics.clone(),
        };
        context
            .status
            .set(&connector_id, ConnectorState::Connecting, "starting");
        // Its counters exist (at zero) from the start, not from the first dropped message.
        metrics.resource(&connector_id);
        tokio::spawn({
            let (context, stop, closed) = (context.clone(), stop.clone(), closed.clone());
            async move {
                poll_loop(context, eventloop, released, stop).await;
                closed.cancel();
            }
        });
        tokio::spawn(ack_loop(context, closing.clone(), stop.clone()));
        tracing::info!(connector = %connector_id, client_id, "MQTT connection starting");
        Ok(Arc::new(Self {
            connector_id,
            client,
            dispatcher,
            metrics,
            config: config.clone(),
            closing,
            closed,
            stop,
        }))
    }

    pub fn config(&self) -> &MqttConnectorConfig {
        &self.config
    }

    pub fn connector_id(&self) -> &str {
        &self.connector_id
    }

    /// Copies for `rule_id` wait for it from now on, until [`Self::attach_rule`] or
    /// [`Self::abandon_claim`]. Use [`super::RuleClaim`], which guarantees one of the two.
    pub(super) fn claim(&self, rule_id: &str) {
        self.lock_dispatcher().claim(rule_id);
    }

    /// Routes the messages of `rule_id`'s topic filters to `sender` (replacing an earlier route of
    /// the same rule, and first handing it the copies that waited for it) and subscribes what is
    /// new.
    pub(super) async fn attach_rule(
        &self,
        rule_id: &str,
        filters: &[String],
        sender: InboxSender,
    ) -> Result<(), ClientError> {
        let (change, tally) = self.lock_dispatcher().attach(rule_id, filters, sender);
        record(&self.metrics, &self.connector_id, &tally);
        apply_change(&self.client, change).await
    }

    /// `rule_id` will not attach (its flow could not start): its copies are acknowledged and its
    /// filters unsubscribed, so the other workers take its share.
    pub(super) fn abandon_claim(&self, rule_id: &str) {
        let (filters, tally) = self.lock_dispatcher().abandon_claim(rule_id);
        record(&self.metrics, &self.connector_id, &tally);
        if filters.is_empty() {
            return;
        }
        let client = self.client.clone();
        // Called from `Drop`: the unsubscribe is queued by a task of its own.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = apply_change(&client, RouteChange::unsubscribing(filters)).await;
            });
        }
    }

    /// Detaches the rules not in `keep` (and not claimed): those this worker no longer runs.
    pub async fn retain_rules(&self, keep: &HashSet<String>) -> Result<(), ClientError> {
        let (filters, tally) = self.lock_dispatcher().retain(keep);
        self.unsubscribe(filters, &tally).await
    }

    /// Hands back what `rule_id`'s stopped flow left unread, for its successor (see
    /// [`Dispatcher::requeue`]).
    pub fn requeue(&self, rule_id: &str, unread: Vec<InboundMessage>) {
        self.lock_dispatcher().requeue(rule_id, unread);
    }

    /// Stops routing to `rule_id` and unsubscribes its filters.
    pub async fn detach_rule(&self, rule_id: &str) -> Result<(), ClientError> {
        let (filters, tally) = self.lock_dispatcher().detach(rule_id);
        self.unsubscribe(filters, &tally).await
    }

    /// Counts what detaching did with the waiting copies and unsubscribes the filters.
    async fn unsubscribe(&self, filters: Vec<String>, tally: &Tally) -> Result<(), ClientError> {
        record(&self.metrics, &self.connector_id, tally);
        apply_change(&self.client, RouteChange::unsubscribing(filters)).await
    }

    /// Queues a PUBLISH. Returns once the connection accepted it, not when the broker acknowledged
    /// it; QoS 1 publishes not acknowledged before a disconnect are resent on reconnect.
    pub async fn publish(&self, message: OutboundPublish) -> Result<(), ClientError> {
        self.client.publish(message).await
    }

    /// Closes the connection cleanly once its flows have stopped: acknowledges every finished
    /// message (each unsent acknowledgement would be a duplicate after a restart), sends
    /// DISCONNECT, and waits up to `grace` for it to be written. Unfinished messages stay in the
    /// persistent session.
    pub async fn close(&self, grace: Duration) {
        self.closing.cancel();
        if tokio::time::timeout(grace, self.closed.cancelled())
            .await
            .is_err()
        {
            tracing::warn!(connector = %self.connector_id, "MQTT connection did not close in time");
        }
        self.stop.cancel();
    }

    fn lock_dispatcher(&self) -> std::sync::MutexGuard<'_, Dispatcher> {
        lock(&self.dispatcher)
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
async fn poll_loop(
    context: Context,
    mut eventloop: MqttEventLoop,
    mut released: watch::Receiver<bool>,
    stop: CancellationToken,
) {
    tokio::select! {
        () = stop.cancelled() => return,
        // An error means the pool is gone, and with it every reason to wait.
        _ = released.wait_for(|released| *released) => {}
    }
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
    // Made once, not per event: each of these futures takes a lock when it is first polled and
    // again when it is dropped, and the loop turns once per received message.
    let stopped = stop.cancelled();
    let reconnect = context.reconnect.notified();
    tokio::pin!(stopped, reconnect);
    loop {
        let event = tokio::select! {
            () = &mut stopped => break,
            () = &mut reconnect => {
                reconnect.set(context.reconnect.notified());
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
                // Subscribe again on every connection, even to a session the broker says it kept:
                // Mosquitto 2.0 restores a persistent session after a restart but not its shared
                // subscriptions, so trusting `session_present` left the rules deaf until the
                // worker restarted (the chaos soak lost every message published meanwhile).
                // Subscribing to a filter the session still has replaces it, which is harmless.
                let subscriptions = lock(&context.dispatcher).all_subscriptions();
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
            Ok(NetEvent::Publish(publish)) => dispatch_read(&context, *publish, &mut eventloop),
            Ok(NetEvent::Disconnected) => {
                linger(&context.connector_id, &mut eventloop).await;
                break;
            }
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
                    () = &mut stopped => break,
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

/// How long a closing connection waits, after its DISCONNECT, for the broker to close the socket.
const LINGER: Duration = Duration::from_secs(2);

/// Reads (and ignores) what the broker still sends after our DISCONNECT until it closes the
/// connection. Closing the socket ourselves with unread PUBLISHes in its receive buffer makes the
/// kernel send a reset instead of a FIN, and a broker that has not read our last PUBACKs by then
/// loses them: every one of those messages came back as a duplicate after a clean shutdown.
/// What arrives here is unacknowledged, so it stays in the session for the next connection.
async fn linger(connector_id: &str, eventloop: &mut MqttEventLoop) {
    let drained = async {
        while !matches!(
            eventloop.poll().await,
            Err(_) | Ok(NetEvent::Connected { .. })
        ) {}
    };
    if tokio::time::timeout(LINGER, drained).await.is_err() {
        tracing::debug!(connector = %connector_id, "broker kept the connection open after DISCONNECT");
    }
}

/// Hands `first`, and the PUBLISHes read with it, to their rules: one clock reading, one
/// dispatcher lock and one metrics update for the read, not for each message. Messages of one
/// read arrived together, so they share their receive time.
fn dispatch_read(context: &Context, first: ReceivedPublish, eventloop: &mut MqttEventLoop) {
    let received_at = now_ms();
    let mut tally = Tally::default();
    {
        let mut dispatcher = lock(&context.dispatcher);
        let mut next = Some(first);
        while let Some(publish) = next {
            tally.add(dispatch(context, &mut dispatcher, publish, received_at));
            next = eventloop.buffered_publish();
        }
    }
    record(&context.metrics, &context.connector_id, &tally);
}

/// Hands a received PUBLISH to the rules that want it, without ever blocking the poller.
fn dispatch(
    context: &Context,
    dispatcher: &mut Dispatcher,
    publish: ReceivedPublish,
    received_at: i64,
) -> Tally {
    let ack = context.tracker.track(publish.ack);
    let message = MessagePublish {
        id: message_id(received_at),
        clientid: String::new(),
        username: None,
        topic: publish.topic,
        qos: publish.qos,
        retain: publish.retain,
        dup: publish.dup,
        payload: publish.payload,
        user_properties: publish.user_properties,
        peerhost: None,
        publish_received_at: received_at,
        node: context.node.clone(),
    };
    dispatcher.dispatch(InboundMessage { message, ack }, publish.subscription_ids)
}

fn record(metrics: &MetricsHub, connector_id: &str, tally: &Tally) {
    if *tally == Tally::default() {
        return;
    }
    let resource = metrics.resource(connector_id);
    for (name, count) in [
        ("dropped.queue_full", tally.shed),
        ("dropped.rule_unavailable", tally.rule_unavailable),
        ("unrouted", tally.unwanted),
    ] {
        if count > 0 {
            resource.add(name, count as u64);
        }
    }
}

fn lock(dispatcher: &Mutex<Dispatcher>) -> std::sync::MutexGuard<'_, Dispatcher> {
    dispatcher.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends PUBACKs for the contiguous completed prefix, from outside the poller. On `closing`,
/// sends what is finished and then DISCONNECT, behind those acknowledgements in the same queue.
async fn ack_loop(context: Context, closing: CancellationToken, stop: CancellationToken) {
    loop {
        let work = tokio::select! {
            () = stop.cancelled() => return,
            () = closing.cancelled() => break,
            work = context.tracker.next_work() => work,
        };
        match work {
            AckWork::Send(acks) => {
                if send_acks(&context.client, &acks).await.is_err() {
                    return;
                }
            }
            AckWork::Reconnect => context.reconnect.notify_one(),
        }
    }
    // Closing: an abandoned message stops the prefix; it stays in the session, no reconnect.
    while let Some(AckWork::Send(acks)) = context.tracker.try_work() {
        if send_acks(&context.client, &acks).await.is_err() {
            return;
        }
    }
    context.client.disconnect().await;
}

async fn send_acks(client: &MqttClient, acks: &[PendingAck]) -> Result<(), ClientError> {
    for ack in acks {
        client.ack(ack).await?;
    }
    Ok(())
}

/// The message id rules see as `id`: unique per worker process and time-ordered. Kept as its
/// two numbers; the rule engine writes the digits only for a rule that reads them.
fn message_id(received_at_ms: i64) -> MessageId {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    MessageId::Made {
        time_ms: u64::try_from(received_at_ms).unwrap_or(0),
        counter: COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_the_time_then_a_counter_in_hex() {
        let id = message_id(0x0000_0190_ABCD_EF12).to_string();
        assert_eq!(id.len(), 32);
        assert!(id.starts_with("00000190ABCDEF12"), "{id}");
        let next = message_id(0x0000_0190_ABCD_EF12).to_string();
        assert!(next > id, "time-ordered, then counted: {id} {next}");
    }
}
