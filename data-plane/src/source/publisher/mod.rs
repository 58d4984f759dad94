//! The source's MQTT publisher: a PUBLISH is reported delivered only once the broker
//! acknowledged it (PUBACK for QoS 1, PUBCOMP for QoS 2, written to the socket for QoS 0), so the
//! Kafka offset behind it can be committed. Unacknowledged PUBLISHes are sent again after a
//! reconnect (jittered backoff); a PUBLISH is dropped only when the publisher shuts down, and
//! then its record stays uncommitted.

mod inflight;
mod session;

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tributary_connect::mqtt::OptionsError;
use tributary_connect::mqtt::OutboundPublish;
use tributary_protocol::resources::MqttConnectorConfig;

use self::inflight::Inflight;
use self::session::{MQTT_MAX_PACKET, Session, SessionEvent};
use super::failure::{DeliveryFailure, check_topic};
use super::plan::ActionError;
use crate::backoff::Backoff;
use crate::telemetry::{ConnectorState, StatusBoard};

/// Where the publisher connects and reports.
#[derive(Debug, Clone)]
pub struct PublisherSettings {
    pub client_id: String,
    pub config: MqttConnectorConfig,
    /// `mqtt:<connector name>` on the status board.
    pub status_id: String,
    pub status: StatusBoard,
}

/// Cheap to clone; every clone feeds the same connection.
#[derive(Debug, Clone)]
pub struct Publisher {
    requests: mpsc::UnboundedSender<Request>,
}

#[derive(Debug)]
struct Request {
    publish: OutboundPublish,
    reply: oneshot::Sender<Result<(), DeliveryFailure>>,
}

impl Publisher {
    /// Starts the connection task. It runs until `shutdown` is cancelled.
    pub fn spawn(
        settings: PublisherSettings,
        shutdown: CancellationToken,
    ) -> Result<(Self, JoinHandle<()>), OptionsError> {
        let window = usize::from(settings.config.max_inflight.max(1));
        let session = Session::open(&settings.client_id, &settings.config, window)?;
        let (requests, receiver) = mpsc::unbounded_channel();
        let driver = Driver {
            settings,
            window,
            requests: receiver,
            inflight: Inflight::new(),
            to_resend: Vec::new(),
            size_limit: MQTT_MAX_PACKET,
            backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(10)),
        };
        let task = tokio::spawn(driver.run(session, shutdown));
        Ok((Self { requests }, task))
    }

    /// Queues a PUBLISH; the future resolves when it was acknowledged or failed for good.
    /// `Abandoned` means the publisher stopped first: the message may or may not have reached
    /// the broker.
    pub fn publish(
        &self,
        publish: OutboundPublish,
    ) -> impl Future<Output = Result<(), ActionError>> + Send + use<> {
        let (reply, outcome) = oneshot::channel();
        let queued = self.requests.send(Request { publish, reply }).is_ok();
        async move {
            if !queued {
                return Err(ActionError::Abandoned);
            }
            match outcome.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(failure)) => Err(ActionError::Failed(failure)),
                Err(_) => Err(ActionError::Abandoned),
            }
        }
    }
}

/// How one connection ended.
enum Ended {
    Shutdown,
    Lost(String),
}

struct Driver {
    settings: PublisherSettings,
    /// Requests taken from the queue and not yet finished, at most.
    window: usize,
    requests: mpsc::UnboundedReceiver<Request>,
    inflight: Inflight<Request>,
    /// Unfinished requests of the last connection, sent again once the next one is up.
    to_resend: Vec<u64>,
    size_limit: usize,
    backoff: Backoff,
}

impl Driver {
    async fn run(mut self, mut session: Session, shutdown: CancellationToken) {
        self.set_status(ConnectorState::Connecting, "connecting");
        loop {
            match self.run_connection(&mut session, &shutdown).await {
                Ended::Shutdown => {
                    session.close().await;
                    break;
                }
                Ended::Lost(reason) => {
                    tracing::warn!(
                        client_id = %self.settings.client_id,
                        %reason,
                        unacknowledged = self.inflight.len(),
                        "MQTT connection lost; unacknowledged messages will be sent again"
                    );
                    self.set_status(ConnectorState::Connecting, reason);
                    self.to_resend = self.inflight.connection_lost();
                }
            }
            let delay = self.backoff.next_delay();
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
            session =
                match Session::open(&self.settings.client_id, &self.settings.config, self.window) {
                    Ok(session) => session,
                    // The options were valid when the publisher started and have not changed.
                    Err(error) => {
                        self.set_status(ConnectorState::Disconnected, error.to_string());
                        break;
                    }
                };
        }
        self.set_status(ConnectorState::Disconnected, "stopped");
        if !self.inflight.is_empty() {
            // Dropping them tells their senders; those records stay uncommitted.
            tracing::info!(
                client_id = %self.settings.client_id,
                abandoned = self.inflight.len(),
                "MQTT publisher stopped with unacknowledged messages"
            );
        }
    }

    async fn run_connection(
        &mut self,
        session: &mut Session,
        shutdown: &CancellationToken,
    ) -> Ended {
        let mut connected = false;
        let mut queue_open = true;
        // Made once: the future takes a lock when first polled and when dropped, and the loop
        // turns once per PUBLISH and per acknowledgement.
        let stopped = shutdown.cancelled();
        tokio::pin!(stopped);
        loop {
            let can_take = connected && queue_open && self.inflight.len() < self.window;
            tokio::select! {
                biased;
                () = &mut stopped => return Ended::Shutdown,
                event = session.poll() => match event {
                    Err(reason) => return Ended::Lost(reason),
                    Ok(event) => {
                        if let SessionEvent::Connected { .. } = event {
                            connected = true;
                        }
                        self.on_event(session, event);
                    }
                },
                request = self.requests.recv(), if can_take => match request {
                    Some(request) => {
                        self.take(session, request);
                        self.take_queued(session);
                    }
                    // Every handle is gone: nothing new will come.
                    None => queue_open = false,
                },
            }
        }
    }

    fn on_event(&mut self, session: &Session, event: SessionEvent) {
        match event {
            SessionEvent::Connected { max_packet_size } => {
                self.size_limit = max_packet_size
                    .and_then(|limit| usize::try_from(limit).ok())
                    .map_or(MQTT_MAX_PACKET, |limit| limit.min(MQTT_MAX_PACKET));
                self.backoff.reset();
                self.set_status(ConnectorState::Connected, "");
                tracing::info!(client_id = %self.settings.client_id, resending = self.to_resend.len(), "MQTT publisher connected");
                for seq in std::mem::take(&mut self.to_resend) {
                    self.hand_over(session, seq);
                }
            }
            SessionEvent::Written(pkid) => {
                if let Some(request) = self.inflight.written(pkid) {
                    let _ = request.reply.send(Ok(()));
                }
            }
            SessionEvent::Parked(_) => self.inflight.parked(),
            SessionEvent::Acknowledged { pkid, failure } => {
                if let Some(request) = self.inflight.acknowledged(pkid) {
                    let result = match failure {
                        None => Ok(()),
                        Some(reason) => Err(DeliveryFailure::Rejected { reason }),
                    };
                    let _ = request.reply.send(result);
                }
            }
            SessionEvent::Other => {}
        }
    }

    fn take(&mut self, session: &Session, request: Request) {
        if let Err(failure) = self.check(&request.publish) {
            let _ = request.reply.send(Err(failure));
            return;
        }
        let qos = request.publish.qos;
        let seq = self.inflight.add(request, qos);
        self.hand_over(session, seq);
    }

    /// Takes what else is already queued, up to the window, before the session is polled again:
    /// the event loop then writes them all with one system call, where one request per turn
    /// would be written (and flushed) on its own.
    fn take_queued(&mut self, session: &Session) {
        while self.inflight.len() < self.window {
            match self.requests.try_recv() {
                Ok(request) => self.take(session, request),
                // Empty, or every handle gone (`recv` says so on the next turn).
                Err(_) => break,
            }
        }
    }

    fn hand_over(&mut self, session: &Session, seq: u64) {
        let Some(request) = self.inflight.get(seq) else {
            return;
        };
        match session.hand_over(&request.publish) {
            Ok(()) => self.inflight.handed_over(seq),
            // The queue towards rumqttc is sized to the window, so this is a message rumqttc
            // refuses outright; it would be refused again.
            Err(reason) => {
                if let Some(request) = self.inflight.remove(seq) {
                    let _ = request
                        .reply
                        .send(Err(DeliveryFailure::Rejected { reason }));
                }
            }
        }
    }

    /// Refuses what the broker or rumqttc would refuse, before it can break the connection.
    fn check(&self, publish: &OutboundPublish) -> Result<(), DeliveryFailure> {
        check_topic(&publish.topic)?;
        if publish.qos > 2 {
            return Err(DeliveryFailure::Rejected {
                reason: format!("invalid QoS {}", publish.qos),
            });
        }
        let size = packet_size(publish);
        if size > self.size_limit {
            return Err(DeliveryFailure::TooLarge {
                size,
                limit: self.size_limit,
            });
        }
        Ok(())
    }

    fn set_status(&self, state: ConnectorState, reason: impl Into<String>) {
        self.settings
            .status
            .set(&self.settings.status_id, state, reason);
    }
}

/// An upper bound of the PUBLISH packet's size on the wire.
fn packet_size(publish: &OutboundPublish) -> usize {
    let properties: usize = publish
        .user_properties
        .iter()
        .map(|(k, v)| k.len() + v.len() + 5)
        .sum::<usize>()
        + publish.content_type.as_ref().map_or(0, |c| c.len() + 3);
    // fixed header (5) + topic length (2) + packet id (2) + properties length (4)
    13 + publish.topic.len() + properties + publish.payload.len()
}
