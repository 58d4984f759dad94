//! The vendored rumqttc's read coalescing against the test stack's Mosquitto: after a read, the
//! connection leaves incoming data unread (and unwatched) for the interval, then reads all of it;
//! after a quiet spell the next packet is read at once. A lost wake-up would leave packets unread
//! for good, and these tests would time out.
//!
//! Run with the test stack: `scripts/test-stack.sh start && source .test-stack/env`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use tokio::sync::mpsc;

/// Long enough that "read at once" and "held for the interval" cannot be confused on a busy
/// machine.
const INTERVAL: Duration = Duration::from_millis(1500);

fn broker() -> (String, u16) {
    let address = std::env::var("TRIBUTARY_TEST_MQTT").expect(
        "TRIBUTARY_TEST_MQTT is not set: run `scripts/test-stack.sh start && source .test-stack/env`",
    );
    let address = address
        .trim_start_matches("mqtt://")
        .trim_start_matches("tcp://");
    let (host, port) = address.rsplit_once(':').expect("host:port");
    (host.to_owned(), port.parse().expect("port"))
}

fn client(name: &str, coalescing: Duration) -> (AsyncClient, EventLoop) {
    let (host, port) = broker();
    let mut options = MqttOptions::new(format!("{name}-{}", std::process::id()), host, port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_read_coalescing(coalescing);
    AsyncClient::new(options, 100)
}

/// Drives the subscriber's event loop; sends each received payload with when it arrived.
fn received(mut eventloop: EventLoop) -> mpsc::UnboundedReceiver<(String, Instant)> {
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    let payload = String::from_utf8_lossy(&publish.payload).into_owned();
                    if sender.send((payload, Instant::now())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => panic!("subscriber connection failed: {error}"),
            }
        }
    });
    receiver
}

async fn next(receiver: &mut mpsc::UnboundedReceiver<(String, Instant)>) -> (String, Instant) {
    tokio::time::timeout(INTERVAL * 4, receiver.recv())
        .await
        .expect("a published message never arrived: a wake-up was lost")
        .expect("subscriber ended")
}

#[tokio::test]
async fn data_after_a_quiet_spell_is_read_at_once_and_data_within_the_interval_after_it() {
    let topic = format!("tributary/tests/coalescing/{}", std::process::id());
    let (subscriber, sub_loop) = client("coalescing-sub", INTERVAL);
    let (publisher, mut pub_loop) = client("coalescing-pub", Duration::ZERO);
    tokio::spawn(async move { while pub_loop.poll().await.is_ok() {} });
    subscriber
        .subscribe(topic.as_str(), QoS::AtLeastOnce)
        .await
        .unwrap();
    let mut receiver = received(sub_loop);
    // The SUBACK was read, so a quiet period may run: wait it out.
    tokio::time::sleep(INTERVAL * 2).await;

    // After the quiet spell: read as soon as it arrives.
    let first_at = read_at_once(&publisher, &topic, &mut receiver, "first").await;

    // Right behind it, within the quiet period that read started: held until the period ends,
    // then all read, in order.
    for payload in ["second", "third", "fourth"] {
        publish(&publisher, &topic, payload).await;
    }
    for expected in ["second", "third", "fourth"] {
        let (payload, at) = next(&mut receiver).await;
        assert_eq!(payload, expected);
        assert!(
            at - first_at >= INTERVAL * 9 / 10,
            "`{payload}` was read {:?} after the first, within the quiet period",
            at - first_at
        );
    }

    // A period that ends with nothing to read goes back to watching: the next one is at once.
    tokio::time::sleep(INTERVAL * 3).await;
    read_at_once(&publisher, &topic, &mut receiver, "fifth").await;
}

async fn publish(publisher: &AsyncClient, topic: &str, payload: &'static str) {
    publisher
        .publish(topic, QoS::AtLeastOnce, false, payload)
        .await
        .unwrap();
}

/// Publishes `payload` and checks it is read well within the interval; returns when it was.
async fn read_at_once(
    publisher: &AsyncClient,
    topic: &str,
    receiver: &mut mpsc::UnboundedReceiver<(String, Instant)>,
    payload: &'static str,
) -> Instant {
    let sent = Instant::now();
    publish(publisher, topic, payload).await;
    let (received, at) = next(receiver).await;
    assert_eq!(received, payload);
    assert!(
        at - sent < INTERVAL / 2,
        "`{payload}`, sent after a quiet spell, waited {:?}",
        at - sent
    );
    at
}
