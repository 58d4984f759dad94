//! MQTT 5 through `rumqttc::v5`: subscription identifiers route each PUBLISH to the rules whose
//! subscriptions delivered it, and user properties reach rules as `pub_props`.

use std::time::Duration;

use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, Publish, PublishProperties, SubscribeProperties};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use tributary_connect::mqtt::{BrokerAddress, OptionsError, OutboundPublish, transport};
use tributary_protocol::resources::MqttConnectorConfig;

use super::client::{
    ClientError, MqttClient, MqttEventLoop, NetEvent, PendingAck, ReceivedPublish, pop_front_if,
    qos_from_u8,
};
use super::options::read_coalescing;

const REQUEST_CAPACITY: usize = 1024;

pub fn connect(
    client_id: &str,
    config: &MqttConnectorConfig,
) -> Result<(MqttClient, MqttEventLoop), OptionsError> {
    let address = BrokerAddress::parse(&config.server)?;
    let mut options = MqttOptions::new(client_id, address.host, address.port);
    let session_expiry =
        u32::try_from(config.session_expiry_interval.0.as_secs()).unwrap_or(u32::MAX);
    options
        .set_keep_alive(config.keepalive.0.max(Duration::from_secs(5)))
        .set_clean_start(config.clean_start)
        .set_session_expiry_interval((!config.clean_start).then_some(session_expiry))
        .set_manual_acks(true)
        // The broker sends at most this many unacknowledged QoS 1 messages: this is what bounds
        // the worker's in-flight work without ever blocking the poller.
        .set_receive_maximum(Some(config.max_inflight.max(1)))
        .set_outgoing_inflight_upper_limit(config.max_inflight.max(1))
        .set_max_packet_size(Some(16 * 1024 * 1024))
        .set_read_coalescing(read_coalescing())
        .set_transport(transport(&config.ssl)?);
    if let Some(username) = &config.username {
        options.set_credentials(username, config.password.clone().unwrap_or_default());
    }
    let mut network = options.network_options();
    // PUBACKs are tiny writes the broker waits for before sending more (receive maximum):
    // Nagle's algorithm would hold them back behind unacknowledged data.
    network.set_tcp_nodelay(true);
    options.set_network_options(network);
    let (client, eventloop) = AsyncClient::new(options, REQUEST_CAPACITY);
    Ok((
        MqttClient::V5(client),
        MqttEventLoop::V5(Box::new(eventloop)),
    ))
}

pub async fn publish(client: &AsyncClient, message: OutboundPublish) -> Result<(), ClientError> {
    let qos = qos(qos_from_u8(message.qos)?);
    let properties = PublishProperties {
        user_properties: message.user_properties,
        content_type: message.content_type,
        ..PublishProperties::default()
    };
    client
        .publish_bytes_with_properties(
            message.topic,
            qos,
            message.retain,
            message.payload,
            properties,
        )
        .await
        .map_err(|_| ClientError::Closed)
}

pub async fn subscribe(client: &AsyncClient, filter: &str, id: usize) -> Result<(), ClientError> {
    let properties = SubscribeProperties {
        id: Some(id),
        user_properties: Vec::new(),
    };
    client
        .subscribe_many_with_properties([Filter::new(filter, QoS::AtLeastOnce)], properties)
        .await
        .map_err(|_| ClientError::Closed)
}

/// Acknowledges the PUBLISH received under `pkid` at `qos`; false once the client is closed.
pub async fn ack(client: &AsyncClient, pkid: u16, qos: u8) -> bool {
    // rumqttc answers from the packet id and QoS alone.
    let header = Publish {
        dup: false,
        qos: self::qos(qos),
        retain: false,
        topic: bytes::Bytes::new(),
        pkid,
        payload: bytes::Bytes::new(),
        properties: None,
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

fn received(publish: Publish) -> ReceivedPublish {
    let qos = publish.qos as u8;
    let ack = PendingAck::for_publish(publish.pkid, qos);
    let (user_properties, subscription_ids) = publish
        .properties
        .map(|p| (p.user_properties, p.subscription_identifiers))
        .unwrap_or_default();
    ReceivedPublish {
        topic: String::from_utf8_lossy(&publish.topic).into_owned(),
        payload: publish.payload,
        qos,
        retain: publish.retain,
        dup: publish.dup,
        user_properties,
        subscription_ids,
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
    use rumqttc::v5::mqttbytes::v5::PingResp;

    use super::*;

    fn publish(topic: &str) -> Event {
        Event::Incoming(Packet::Publish(Publish::new(
            topic,
            QoS::AtLeastOnce,
            "{}",
            None,
        )))
    }

    #[test]
    fn buffered_publishes_are_taken_in_order_up_to_the_first_other_event() {
        let mut eventloop = EventLoop::new(MqttOptions::new("test", "localhost", 1883), 1);
        let events = &mut eventloop.state.events;
        events.push_back(publish("t/1"));
        events.push_back(publish("t/2"));
        events.push_back(Event::Incoming(Packet::PingResp(PingResp)));
        events.push_back(publish("t/3"));

        let taken: Vec<String> = std::iter::from_fn(|| buffered_publish(&mut eventloop))
            .map(|publish| publish.topic)
            .collect();
        assert_eq!(taken, ["t/1", "t/2"]);
        // The ping response, and what came after it, wait for the next poll.
        assert_eq!(eventloop.state.events.len(), 2);
        assert!(matches!(
            eventloop.state.events.front(),
            Some(Event::Incoming(Packet::PingResp(_)))
        ));
    }
}
