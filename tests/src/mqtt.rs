//! MQTT helpers: an MQTT 5 publisher that waits for every PUBACK, and a collecting subscriber.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};

/// `host:port` split; panics with the text when it is not that.
pub fn host_port(server: &str) -> (String, u16) {
    let (host, port) = server
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("`{server}` is not host:port"));
    let port: u16 = port
        .parse()
        .unwrap_or_else(|_| panic!("bad port in `{server}`"));
    (host.to_owned(), port)
}

fn options(server: &str, client_id: &str) -> MqttOptions {
    let (host, port) = host_port(server);
    let mut options = MqttOptions::new(client_id, host, port);
    options.set_keep_alive(Duration::from_secs(10));
    options
}

/// A message to publish.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    pub user_properties: Vec<(String, String)>,
}

impl Message {
    pub fn new(topic: &str, payload: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.to_owned(),
            payload: payload.into(),
            user_properties: Vec::new(),
        }
    }

    pub fn property(mut self, key: &str, value: &str) -> Self {
        self.user_properties
            .push((key.to_owned(), value.to_owned()));
        self
    }
}

/// Publishes every message at QoS 1 and returns once the broker acknowledged all of them.
pub async fn publish_all(server: &str, client_id: &str, messages: Vec<Message>) {
    publish_paced(server, client_id, messages, Duration::ZERO).await;
}

/// Like [`publish_all`], waiting `interval` between messages: traffic that keeps flowing while a
/// test changes something.
pub async fn publish_paced(
    server: &str,
    client_id: &str,
    messages: Vec<Message>,
    interval: Duration,
) {
    let (client, mut eventloop) = AsyncClient::new(options(server, client_id), 1000);
    let total = messages.len();
    let sender = tokio::spawn(async move {
        for message in messages {
            let properties = PublishProperties {
                user_properties: message.user_properties,
                ..PublishProperties::default()
            };
            client
                .publish_with_properties(
                    message.topic,
                    QoS::AtLeastOnce,
                    false,
                    message.payload,
                    properties,
                )
                .await
                .unwrap_or_else(|e| panic!("publish: {e}"));
            if !interval.is_zero() {
                tokio::time::sleep(interval).await;
            }
        }
        client
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut acked = 0;
    while acked < total {
        assert!(
            Instant::now() < deadline,
            "only {acked} of {total} publishes acknowledged"
        );
        match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("publisher connection failed: {e}"),
            Err(_) => panic!("publisher stalled after {acked} of {total} acknowledgements"),
        }
    }
    if let Ok(client) = sender.await {
        let _ = client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
    }
}

/// A subscriber collecting what arrives on `filter`.
pub struct Subscriber {
    eventloop: EventLoop,
    _client: AsyncClient,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscriber")
    }
}

impl Subscriber {
    /// Connects and subscribes; returns once the subscription is acknowledged.
    pub async fn start(server: &str, filter: &str) -> Self {
        let (client, mut eventloop) =
            AsyncClient::new(options(server, &crate::unique("e2e-sub")), 1000);
        client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .unwrap_or_else(|e| panic!("subscribe: {e}"));
        loop {
            match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => break,
                Ok(Ok(_)) => {}
                other => panic!("subscribing to {filter} failed: {other:?}"),
            }
        }
        Self {
            eventloop,
            _client: client,
        }
    }

    /// (topic, payload) of up to `expected` messages, waiting at most `timeout`.
    pub async fn collect(&mut self, expected: usize, timeout: Duration) -> Vec<(String, Bytes)> {
        let deadline = Instant::now() + timeout;
        let mut received = Vec::new();
        while received.len() < expected {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                    received.push((String::from_utf8_lossy(&p.topic).into_owned(), p.payload));
                }
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => break,
            }
        }
        received
    }
}
