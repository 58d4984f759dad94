//! MQTT 3.1.1 through `rumqttc`.
//!
//! 3.1.1 has no subscription identifiers, so a received message cannot tell which subscription
//! delivered it. The pool therefore gives each rule its own 3.1.1 connection (see
//! `mqtt::pool`), and routing falls back to matching the topic against that rule's filters.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS};
use tributary_connect::mqtt::{BrokerAddress, OptionsError, OutboundPublish, transport};
use tributary_protocol::resources::MqttConnectorConfig;

use super::client::{
    ClientError, MqttClient, MqttEventLoop, NetEvent, PendingAck, ReceivedPublish, pop_front_if,
    qos_from_u8,
};
use super::options::read_coalescing;

/// Requests queued towards the event loop; acks and subscribes wait here while it is busy.
const REQUEST_CAPACITY: usize = 1024;

pub fn connect(
    client_id: &str,
    config: &MqttConnectorConfig,
) -> Result<(MqttClient, MqttEventLoop), OptionsError> {
    let address = BrokerAddress::parse(&config.server)?;
    let mut options = MqttOptions::new(client_id, address.host, address.port);
    options
        .set_keep_alive(config.keepalive.0.max(Duration::from_secs(5)))
        .set_clean_session(config.clean_start)
        .set_manual_acks(true)
        .set_inflight(config.max_inflight.max(1))
        .set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024)
        .set_read_coalescing(read_coalescing())
        .set_transport(transport(&config.ssl)?);
    if let Some(username) = &config.username {
        options.set_credentials(username, config.password.clone().unwrap_or_default());
    }
    let (client, mut eventloop) = AsyncClient::new(options, REQUEST_CAPACITY);
    let mut network = eventloop.network_options();
    // PUBACKs are tiny writes the broker waits for before sending more (receive maximum):
    // Nagle's algorithm would hold them back behind unacknowledged data.
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    Ok((
        MqttClient::V4(client),
        MqttEventLoop::V4(Box::new(eventloop)),
    ))
}

pub async fn publish(client: &AsyncClient, message: OutboundPublish) -> Result<(), ClientError> {
    let qos = qos(qos_from_u8(message.qos)?);
    client
        .publish_bytes(message.topic, qos, message.retain, message.payload)
        .await
        .map_err(|_| ClientError::Closed)
}

/// Acknowledges the PUBLISH received under `pkid` at `qos`; false once the client is closed.
pub async fn ack(client: &AsyncClient, pkid: u16, qos: u8) -> bool {
    // rumqttc answers from the packet id and QoS alone.
    let header = rumqttc::Publish {
        dup: false,
        qos: self::qos(qos),
        retain: false,
        topic: String::new(),
        pkid,
        payload: bytes::Bytes::new(),
    };
    client.ack(&header).await.is_ok()
}

pub async fn poll(eventloop: &mut EventLoop) -> Result<NetEvent, String> {
    match eventloop.poll().await.map_err(|e| e.to_string())? {
        Event::Incoming(Packet::ConnAck(connack)) => Ok(NetEvent::Connected {
            session_present: connack.session_present,
        }),
        Event::Incoming(Packet::Publish(publish)) => {
            Ok(NetEvent::Publish(Box::new(received(publish))))
        }
        Event::Outgoing(Outgoing::Disconnect) => Ok(NetEvent::Disconnected),
        _ => Ok(NetEvent::Other),
    }
}

/// The next PUBLISH the last poll already read and decoded, if it is next in line: what the next
/// `poll` would return first, without the futures it takes to get there.
pub fn buffered_publish(eventloop: &mut EventLoop) -> Option<ReceivedPublish> {
    let is_publish = |event: &Event| matches!(event, Event::Incoming(Packet::Publish(_)));
    match pop_front_if(&mut eventloop.state.events, is_publish)? {
        Event::Incoming(Packet::Publish(publish)) => Some(received(publish)),
        _ => None,
    }
}

fn received(publish: rumqttc::Publish) -> ReceivedPublish {
    let qos = publish.qos as u8;
    let ack = PendingAck::for_publish(publish.pkid, qos);
    ReceivedPublish {
        topic: publish.topic,
        payload: publish.payload,
        qos,
        retain: publish.retain,
        dup: publish.dup,
        user_properties: Vec::new(),
        subscription_ids: Vec::new(),
        ack,
    }
}

fn qos(qos: u8) -> QoS {
    match qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(topic: &str) -> Event {
        Event::Incoming(Packet::Publish(rumqttc::Publish::new(
            topic,
            QoS::AtLeastOnce,
            "{}",
        )))
    }

    #[test]
    fn buffered_publishes_are_taken_in_order_up_to_the_first_other_event() {
        let mut eventloop = EventLoop::new(MqttOptions::new("test", "localhost", 1883), 1);
        let events = &mut eventloop.state.events;
        events.push_back(publish("t/1"));
        events.push_back(Event::Outgoing(Outgoing::PingReq));
        events.push_back(publish("t/2"));

        let taken: Vec<String> = std::iter::from_fn(|| buffered_publish(&mut eventloop))
            .map(|publish| publish.topic)
            .collect();
        assert_eq!(taken, ["t/1"]);
        assert_eq!(eventloop.state.events.len(), 2);
        assert!(buffered_publish(&mut eventloop).is_none());
    }
}
