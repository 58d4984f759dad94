#!/usr/bin/env python3
"""The MQTT <-> Kafka bridge a user would otherwise write in an afternoon: paho-mqtt plus
confluent-kafka, forwarding payloads unchanged, no rule engine. The benchmark harness runs it as a
baseline on the same broker, Kafka and payloads as Tributary.

Protocol with the harness: once connected and subscribed it prints one JSON line
{"ready": true, ...versions...} on stdout; it stops (flushing what it holds) when stdin closes.

  python_bridge.py mqtt-to-kafka --mqtt-host H --mqtt-port P --qos 1 --mqtt-topic 'x/#' \
      --kafka-bootstrap B --kafka-topic T
  python_bridge.py kafka-to-mqtt ... --mqtt-topic out/topic --kafka-topic T --group G
"""

import argparse
import json
import platform
import sys
import threading

import confluent_kafka
import paho.mqtt
import paho.mqtt.client as mqtt

# The same QoS 1 window Tributary's MQTT connector uses by default, so neither side is throttled
# by a smaller window than the other.
MQTT_INFLIGHT = 1000


def new_mqtt_client(client_id):
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    else:
        client = mqtt.Client(client_id=client_id)
    client.max_inflight_messages_set(MQTT_INFLIGHT)
    return client


def first(version):
    """confluent-kafka returns (text, number) pairs from version() and libversion()."""
    return version[0] if isinstance(version, tuple) else str(version)


def announce_ready():
    print(json.dumps({
        "ready": True,
        "python": platform.python_version(),
        "paho_mqtt": paho.mqtt.__version__,
        "confluent_kafka": first(confluent_kafka.version()),
        "librdkafka": first(confluent_kafka.libversion()),
    }), flush=True)


def wait_for_stdin_eof():
    for _ in sys.stdin:
        pass


def mqtt_to_kafka(args):
    producer = confluent_kafka.Producer({
        "bootstrap.servers": args.kafka_bootstrap,
        "linger.ms": 5,
        "queue.buffering.max.messages": 1000000,
    })
    subscribed = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties=None):
        client.subscribe(args.mqtt_topic, qos=args.qos)

    def on_subscribe(client, userdata, mid, *rest):
        subscribed.set()

    def on_message(client, userdata, msg):
        while True:
            try:
                producer.produce(args.kafka_topic, msg.payload)
                break
            except BufferError:  # local queue full: let deliveries drain, then retry
                producer.poll(0.01)
        producer.poll(0)

    client = new_mqtt_client(args.client_id)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(args.mqtt_host, args.mqtt_port, keepalive=30)
    client.loop_start()
    if not subscribed.wait(10):
        sys.exit("python bridge: no SUBACK within 10 s")
    announce_ready()
    wait_for_stdin_eof()
    client.loop_stop()
    client.disconnect()
    producer.flush(30)


def kafka_to_mqtt(args):
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": args.kafka_bootstrap,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
    })
    consumer.subscribe([args.kafka_topic])
    connected = threading.Event()
    client = new_mqtt_client(args.client_id)
    client.on_connect = lambda *a, **k: connected.set()
    client.connect(args.mqtt_host, args.mqtt_port, keepalive=30)
    client.loop_start()
    if not connected.wait(10):
        sys.exit("python bridge: no CONNACK within 10 s")
    stop = threading.Event()
    threading.Thread(target=lambda: (wait_for_stdin_eof(), stop.set()), daemon=True).start()
    announce_ready()
    while not stop.is_set():
        msg = consumer.poll(0.1)
        if msg is None or msg.error():
            continue
        client.publish(args.mqtt_topic, msg.value(), qos=args.qos)
    consumer.close()
    client.loop_stop()
    client.disconnect()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("direction", choices=["mqtt-to-kafka", "kafka-to-mqtt"])
    parser.add_argument("--mqtt-host", default="127.0.0.1")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--mqtt-topic", required=True)
    parser.add_argument("--qos", type=int, choices=[0, 1], default=1)
    parser.add_argument("--kafka-bootstrap", required=True)
    parser.add_argument("--kafka-topic", required=True)
    parser.add_argument("--group", default="python-bridge")
    parser.add_argument("--client-id", default="python-bridge")
    args = parser.parse_args()
    if args.direction == "mqtt-to-kafka":
        mqtt_to_kafka(args)
    else:
        kafka_to_mqtt(args)


if __name__ == "__main__":
    main()
