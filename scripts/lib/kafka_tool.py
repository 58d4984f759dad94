"""A small Kafka client for the scripts and for trying the demo by hand.

It uses confluent-kafka, whose wheels bundle a recent librdkafka: Debian's librdkafka and kcat are
too old to talk to nisshi. Run it through scripts/kafka.sh, which prepares the virtualenv.

  create-topic NAME [--partitions N]      idempotent: an existing topic is fine
  produce TOPIC VALUE [--key KEY]         one record, waits for the broker's ack
  offsets TOPIC                           the end offset of every partition, as P:OFFSET,...
  consume TOPIC [--from-beginning | --start P:OFFSET,...] [--timeout S] [--max N] [--contains TEXT]
      prints records as JSON lines; with --contains, exits 0 as soon as a record's value contains
      TEXT and 1 when none did before the timeout

Consumers are assigned partitions directly rather than joining a group, so reading starts at once
and commits nothing.
"""

import argparse
import json
import sys
import time
from concurrent.futures import TimeoutError

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

REQUEST_TIMEOUT_S = 15


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def config(bootstrap, **settings):
    # librdkafka would log every failed connection attempt; failures are reported once, by us.
    return {"bootstrap.servers": bootstrap, "log_level": 0, **settings}


def partitions_of(bootstrap, topic):
    # Asking for all topics rather than this one: a broker that auto-creates topics would
    # otherwise create it just because we looked.
    metadata = AdminClient(config(bootstrap)).list_topics(timeout=REQUEST_TIMEOUT_S)
    info = metadata.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        fail(f"topic {topic!r} does not exist on {bootstrap}; create it first")
    return sorted(info.partitions)


def create_topic(args):
    admin = AdminClient(config(args.bootstrap))
    futures = admin.create_topics(
        [NewTopic(args.name, num_partitions=args.partitions, replication_factor=1)],
        request_timeout=REQUEST_TIMEOUT_S,
    )
    try:
        futures[args.name].result(timeout=REQUEST_TIMEOUT_S)
        print(f"created topic {args.name} with {args.partitions} partitions", file=sys.stderr)
    except TimeoutError:
        fail(f"no answer from {args.bootstrap} within {REQUEST_TIMEOUT_S}s while creating {args.name!r}")
    except KafkaException as err:
        if err.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            fail(f"creating topic {args.name!r} failed: {err}")
        print(f"topic {args.name} already exists", file=sys.stderr)


def produce(args):
    delivered = []

    def on_delivery(err, msg):
        delivered.append(err)

    producer = Producer(config(args.bootstrap, acks="all"))
    producer.produce(args.topic, value=args.value.encode(), key=args.key, on_delivery=on_delivery)
    producer.flush(REQUEST_TIMEOUT_S)
    if not delivered:
        fail(f"no acknowledgement from {args.bootstrap} within {REQUEST_TIMEOUT_S}s")
    if delivered[0] is not None:
        fail(f"producing to {args.topic!r} failed: {delivered[0]}")


def end_offsets(bootstrap, topic):
    consumer = Consumer(config(bootstrap, **{"group.id": "tributary-scripts"}))
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=REQUEST_TIMEOUT_S)[1]
            for p in partitions_of(bootstrap, topic)
        }
    finally:
        consumer.close()


def offsets(args):
    ends = end_offsets(args.bootstrap, args.topic)
    print(",".join(f"{p}:{o}" for p, o in sorted(ends.items())))


def parse_start(text):
    try:
        return {int(p): int(o) for p, o in (item.split(":") for item in text.split(",") if item)}
    except ValueError:
        fail(f"--start takes PARTITION:OFFSET,... (as printed by `offsets`), not {text!r}")


def decode(data):
    return None if data is None else data.decode("utf-8", errors="replace")


def consume(args):
    if args.start is not None:
        start = parse_start(args.start)
    elif args.from_beginning:
        start = {p: 0 for p in partitions_of(args.bootstrap, args.topic)}
    else:
        start = end_offsets(args.bootstrap, args.topic)
    consumer = Consumer(
        config(args.bootstrap, **{"group.id": "tributary-scripts", "enable.auto.commit": False})
    )
    consumer.assign([TopicPartition(args.topic, p, o) for p, o in start.items()])
    deadline = time.monotonic() + args.timeout
    seen = 0
    try:
        while time.monotonic() < deadline and (args.max is None or seen < args.max):
            msg = consumer.poll(min(1.0, max(0.0, deadline - time.monotonic())))
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                fail(f"consuming {args.topic!r} failed: {msg.error()}")
            value = decode(msg.value())
            record = {
                "topic": msg.topic(),
                "partition": msg.partition(),
                "offset": msg.offset(),
                "key": decode(msg.key()),
                "value": value,
                "headers": {k: decode(v) for k, v in (msg.headers() or [])},
            }
            print(json.dumps(record), flush=True)
            seen += 1
            if args.contains is not None and value is not None and args.contains in value:
                return 0
    finally:
        consumer.close()
    return 1 if args.contains is not None else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True, help="host:port of a Kafka broker")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("create-topic")
    p.add_argument("name")
    p.add_argument("--partitions", type=int, default=1)
    p.set_defaults(run=create_topic)

    p = commands.add_parser("produce")
    p.add_argument("topic")
    p.add_argument("value")
    p.add_argument("--key")
    p.set_defaults(run=produce)

    p = commands.add_parser("offsets")
    p.add_argument("topic")
    p.set_defaults(run=offsets)

    p = commands.add_parser("consume")
    p.add_argument("topic")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--from-beginning", action="store_true")
    where.add_argument("--start", help="PARTITION:OFFSET,... as printed by `offsets`")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for records")
    p.add_argument("--max", type=int, help="stop after this many records")
    p.add_argument("--contains", help="succeed as soon as a record's value contains this text")
    p.set_defaults(run=consume)

    args = parser.parse_args()
    try:
        sys.exit(args.run(args) or 0)
    except KafkaException as err:
        fail(f"Kafka at {args.bootstrap}: {err.args[0].str()}")


if __name__ == "__main__":
    main()
