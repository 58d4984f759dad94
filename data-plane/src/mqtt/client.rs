//! One small surface over rumqttc's two clients (MQTT 3.1.1 in `rumqttc`, MQTT 5 in
//! `rumqttc::v5`), so connection management, routing and acknowledgement are written once.

use std::collections::VecDeque;

use bytes::Bytes;
use tributary_connect::mqtt::OutboundPublish;

use super::{v4, v5};

/// A message received from the broker, in the shape the rest of the worker needs.
#[derive(Debug)]
pub struct ReceivedPublish {
    pub topic: String,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub user_properties: Vec<(String, String)>,
    /// MQTT 5 subscription identifiers of the subscriptions that matched; empty on 3.1.1.
    pub subscription_ids: Vec<usize>,
    pub ack: PendingAck,
}

/// What is needed to acknowledge a received message later: its packet id and QoS, all the
/// acknowledgement carries (not a copy of the PUBLISH, which cost a clone per message).
#[derive(Debug)]
pub enum PendingAck {
    /// QoS 0: nothing to acknowledge.
    None,
    /// QoS 1 (answered with PUBACK) or 2 (PUBREC), on the connection it arrived on.
    Packet { pkid: u16, qos: u8 },
    #[cfg(test)]
    Test(u16),
}

impl PendingAck {
    /// For a received PUBLISH of `qos` under `pkid`.
    pub fn for_publish(pkid: u16, qos: u8) -> Self {
        if qos == 0 {
            Self::None
        } else {
            Self::Packet { pkid, qos }
        }
    }
}

/// What the poller saw.
#[derive(Debug)]
pub enum NetEvent {
    Connected {
        session_present: bool,
    },
    Publish(Box<ReceivedPublish>),
    /// Our DISCONNECT was written: the connection is closed on purpose.
    Disconnected,
    /// Anything else (acks, pings, outgoing packets).
    Other,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The connection task is gone (the connector is shutting down).
    #[error("the MQTT connection is closed")]
    Closed,
    #[error("invalid QoS {0}: expected 0, 1 or 2")]
    InvalidQos(u8),
}

/// The request half of a connection: cheap to clone, never blocks on the network.
#[derive(Debug, Clone)]
pub enum MqttClient {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

impl MqttClient {
    pub async fn publish(&self, message: OutboundPublish) -> Result<(), ClientError> {
        match self {
            Self::V4(client) => v4::publish(client, message).await,
            Self::V5(client) => v5::publish(client, message).await,
        }
    }

    /// Subscribes at QoS 1; `id` is the MQTT 5 subscription identifier (ignored on 3.1.1).
    pub async fn subscribe(&self, filter: &str, id: usize) -> Result<(), ClientError> {
        match self {
            Self::V4(client) => client
                .subscribe(filter, rumqttc::QoS::AtLeastOnce)
                .await
                .map_err(|_| ClientError::Closed),
            Self::V5(client) => v5::subscribe(client, filter, id).await,
        }
    }

    pub async fn unsubscribe(&self, filter: &str) -> Result<(), ClientError> {
        let sent = match self {
            Self::V4(client) => client.unsubscribe(filter).await.is_ok(),
            Self::V5(client) => client.unsubscribe(filter).await.is_ok(),
        };
        sent.then_some(()).ok_or(ClientError::Closed)
    }

    pub async fn ack(&self, ack: &PendingAck) -> Result<(), ClientError> {
        let PendingAck::Packet { pkid, qos } = *ack else {
            return Ok(());
        };
        let sent = match self {
            Self::V4(client) => v4::ack(client, pkid, qos).await,
            Self::V5(client) => v5::ack(client, pkid, qos).await,
        };
        sent.then_some(()).ok_or(ClientError::Closed)
    }

    pub async fn disconnect(&self) {
        // Closing is best effort: the connection task may already be gone.
        match self {
            Self::V4(client) => drop(client.disconnect().await),
            Self::V5(client) => drop(client.disconnect().await),
        }
    }
}

/// The network half of a connection: polled by exactly one task.
pub enum MqttEventLoop {
    V4(Box<rumqttc::EventLoop>),
    V5(Box<rumqttc::v5::EventLoop>),
}

impl std::fmt::Debug for MqttEventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V4(_) => "MqttEventLoop::V4",
            Self::V5(_) => "MqttEventLoop::V5",
        })
    }
}

impl MqttEventLoop {
    /// The next event; an error means the connection dropped and the next poll reconnects.
    pub async fn poll(&mut self) -> Result<NetEvent, String> {
        match self {
            Self::V4(eventloop) => v4::poll(eventloop).await,
            Self::V5(eventloop) => v5::poll(eventloop).await,
        }
    }

    /// The next PUBLISH already read with the last poll's batch (a read returns up to 64
    /// packets), if nothing else comes before it. Taking it here rather than from `poll` saves a
    /// turn of the event loop's futures per message; anything else waits for the next `poll`.
    pub fn buffered_publish(&mut self) -> Option<ReceivedPublish> {
        match self {
            Self::V4(eventloop) => v4::buffered_publish(eventloop),
            Self::V5(eventloop) => v5::buffered_publish(eventloop),
        }
    }

    /// Drops the network connection so the next poll reconnects (pending PUBACKs are discarded:
    /// the broker redelivers those messages).
    pub fn drop_connection(&mut self) {
        match self {
            Self::V4(eventloop) => eventloop.clean(),
            Self::V5(eventloop) => eventloop.clean(),
        }
    }
}

/// The front of `queue` if it is `wanted`, else nothing (std's `VecDeque::pop_front_if`, newer
/// than the workspace's minimum Rust).
pub(super) fn pop_front_if<T>(
    queue: &mut VecDeque<T>,
    wanted: impl FnOnce(&T) -> bool,
) -> Option<T> {
    if queue.front().is_some_and(wanted) {
        queue.pop_front()
    } else {
        None
    }
}

pub(super) fn qos_from_u8(qos: u8) -> Result<u8, ClientError> {
    if qos <= 2 {
        Ok(qos)
    } else {
        Err(ClientError::InvalidQos(qos))
    }
}
