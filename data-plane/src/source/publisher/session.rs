//! One connection of the source publisher, over either rumqttc client (MQTT 3.1.1 or 5), with
//! the events the publisher correlates: packet written, packet id parked, acknowledgement.
//!
//! PUBLISHes go out with TCP_NODELAY: rumqttc writes each request as it takes it, and Nagle's
//! algorithm would hold a lone PUBLISH back until the broker's delayed ACK (up to 40 ms).
//!
//! Every connection gets a fresh rumqttc client and event loop with a clean session, so nothing
//! of an earlier connection is replayed behind our back: the publisher alone decides what is
//! sent again (rumqttc would silently discard its pending requests when the broker lost the
//! session, and replay them when it did not, which would break the correlation).

use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::{PubAckReason, PubCompReason, PubRecReason, PublishProperties};
use tributary_connect::mqtt::OutboundPublish;
use tributary_connect::mqtt::{BrokerAddress, OptionsError, transport};
use tributary_protocol::resources::{MqttConnectorConfig, MqttVersion};

use crate::mqtt::options::read_coalescing;

/// The largest packet MQTT can carry (remaining length of 268,435,455 bytes).
pub const MQTT_MAX_PACKET: usize = 268_435_455;

/// What the publisher reacts to.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// CONNACK; MQTT 5 brokers may announce the largest packet they accept.
    Connected {
        max_packet_size: Option<u32>,
    },
    /// The oldest handed-over PUBLISH was written under this packet id (0 for QoS 0).
    Written(u16),
    /// The oldest handed-over PUBLISH waits until this packet id is acknowledged.
    Parked(u16),
    /// The exchange for this packet id ended: PUBACK, PUBCOMP, or a PUBREC with an error.
    /// `failure` is the broker's MQTT 5 error reason, if any.
    Acknowledged {
        pkid: u16,
        failure: Option<String>,
    },
    Other,
}

pub enum Session {
    V4 {
        client: rumqttc::AsyncClient,
        eventloop: Box<rumqttc::EventLoop>,
    },
    V5 {
        client: rumqttc::v5::AsyncClient,
        eventloop: Box<rumqttc::v5::EventLoop>,
    },
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V4 { .. } => "Session::V4",
            Self::V5 { .. } => "Session::V5",
        })
    }
}

impl Session {
    /// Prepares a connection; the first [`Session::poll`] connects. `window` bounds the requests
    /// handed over at once.
    pub fn open(
        client_id: &str,
        config: &MqttConnectorConfig,
        window: usize,
    ) -> Result<Self, OptionsError> {
        let address = BrokerAddress::parse(&config.server)?;
        let transport = transport(&config.ssl)?;
        let keep_alive = config.keepalive.0.max(Duration::from_secs(5));
        let connect_timeout = config.connect_timeout.0.as_secs().max(1);
        let inflight = config.max_inflight.max(1);
        Ok(match config.proto_ver {
            MqttVersion::V4 => {
                let mut options = rumqttc::MqttOptions::new(client_id, address.host, address.port);
                options
                    .set_keep_alive(keep_alive)
                    .set_clean_session(true)
                    .set_inflight(inflight)
                    // Nothing large is received; what is sent is checked against the limit first.
                    .set_max_packet_size(64 * 1024, MQTT_MAX_PACKET)
                    .set_read_coalescing(read_coalescing())
                    .set_transport(transport);
                if let Some(username) = &config.username {
                    options.set_credentials(username, config.password.clone().unwrap_or_default());
                }
                let (client, mut eventloop) = rumqttc::AsyncClient::new(options, window + 1);
                let mut network = eventloop.network_options();
                network.set_connection_timeout(connect_timeout);
                network.set_tcp_nodelay(true);
                eventloop.set_network_options(network);
                Self::V4 {
                    client,
                    eventloop: Box::new(eventloop),
                }
            }
            MqttVersion::V5 => {
                let mut options =
                    rumqttc::v5::MqttOptions::new(client_id, address.host, address.port);
                options
                    .set_keep_alive(keep_alive)
                    .set_clean_start(true)
                    .set_connection_timeout(connect_timeout)
                    .set_outgoing_inflight_upper_limit(inflight)
                    .set_max_packet_size(Some(64 * 1024))
                    .set_read_coalescing(read_coalescing())
                    .set_transport(transport);
                if let Some(username) = &config.username {
                    options.set_credentials(username, config.password.clone().unwrap_or_default());
                }
                let mut network = options.network_options();
                network.set_tcp_nodelay(true);
                options.set_network_options(network);
                let (client, eventloop) = rumqttc::v5::AsyncClient::new(options, window + 1);
                Self::V5 {
                    client,
                    eventloop: Box::new(eventloop),
                }
            }
        })
    }

    /// Hands a PUBLISH to the event loop without waiting. The topic must already be valid.
    pub fn hand_over(&self, publish: &OutboundPublish) -> Result<(), String> {
        match self {
            Self::V4 { client, .. } => client
                .try_publish(
                    publish.topic.as_str(),
                    v4_qos(publish.qos),
                    publish.retain,
                    Vec::from(publish.payload.as_ref()),
                )
                .map_err(|e| e.to_string()),
            Self::V5 { client, .. } => {
                let properties = PublishProperties {
                    user_properties: publish.user_properties.clone(),
                    content_type: publish.content_type.clone(),
                    ..PublishProperties::default()
                };
                client
                    .try_publish_with_properties(
                        publish.topic.as_str(),
                        v5_qos(publish.qos),
                        publish.retain,
                        Bytes::clone(&publish.payload),
                        properties,
                    )
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// The next event. An error means this connection is over.
    pub async fn poll(&mut self) -> Result<SessionEvent, String> {
        match self {
            Self::V4 { eventloop, .. } => {
                use rumqttc::{Event, Outgoing, Packet};
                Ok(match eventloop.poll().await.map_err(|e| e.to_string())? {
                    Event::Incoming(Packet::ConnAck(_)) => SessionEvent::Connected {
                        max_packet_size: None,
                    },
                    Event::Outgoing(Outgoing::Publish(pkid)) => SessionEvent::Written(pkid),
                    Event::Outgoing(Outgoing::AwaitAck(pkid)) => SessionEvent::Parked(pkid),
                    Event::Incoming(Packet::PubAck(ack)) => SessionEvent::Acknowledged {
                        pkid: ack.pkid,
                        failure: None,
                    },
                    Event::Incoming(Packet::PubComp(comp)) => SessionEvent::Acknowledged {
                        pkid: comp.pkid,
                        failure: None,
                    },
                    _ => SessionEvent::Other,
                })
            }
            Self::V5 { eventloop, .. } => {
                use rumqttc::Outgoing;
                use rumqttc::v5::Event;
                use rumqttc::v5::mqttbytes::v5::Packet;
                Ok(match eventloop.poll().await.map_err(|e| e.to_string())? {
                    Event::Incoming(Packet::ConnAck(connack)) => SessionEvent::Connected {
                        max_packet_size: connack.properties.and_then(|p| p.max_packet_size),
                    },
                    Event::Outgoing(Outgoing::Publish(pkid)) => SessionEvent::Written(pkid),
                    Event::Outgoing(Outgoing::AwaitAck(pkid)) => SessionEvent::Parked(pkid),
                    Event::Incoming(Packet::PubAck(ack)) => SessionEvent::Acknowledged {
                        pkid: ack.pkid,
                        failure: puback_failure(&ack.reason),
                    },
                    Event::Incoming(Packet::PubRec(rec)) => match pubrec_failure(&rec.reason) {
                        // QoS 2 continues with PUBREL/PUBCOMP unless the broker refused it.
                        None => SessionEvent::Other,
                        failure => SessionEvent::Acknowledged {
                            pkid: rec.pkid,
                            failure,
                        },
                    },
                    Event::Incoming(Packet::PubComp(comp)) => SessionEvent::Acknowledged {
                        pkid: comp.pkid,
                        failure: match comp.reason {
                            PubCompReason::Success => None,
                            PubCompReason::PacketIdentifierNotFound => {
                                Some("packet identifier not found".to_owned())
                            }
                        },
                    },
                    _ => SessionEvent::Other,
                })
            }
        }
    }

    /// Sends DISCONNECT and gives the event loop a moment to write it.
    pub async fn close(&mut self) {
        let requested = match self {
            Self::V4 { client, .. } => client.try_disconnect().is_ok(),
            Self::V5 { client, .. } => client.try_disconnect().is_ok(),
        };
        if requested {
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                while self.poll().await.is_ok() {}
            })
            .await;
        }
    }
}

fn v4_qos(qos: u8) -> rumqttc::QoS {
    match qos {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

fn v5_qos(qos: u8) -> rumqttc::v5::mqttbytes::QoS {
    use rumqttc::v5::mqttbytes::QoS;
    match qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn puback_failure(reason: &PubAckReason) -> Option<String> {
    match reason {
        PubAckReason::Success | PubAckReason::NoMatchingSubscribers => None,
        other => Some(format!("{other:?}")),
    }
}

fn pubrec_failure(reason: &PubRecReason) -> Option<String> {
    match reason {
        PubRecReason::Success | PubRecReason::NoMatchingSubscribers => None,
        other => Some(format!("{other:?}")),
    }
}
