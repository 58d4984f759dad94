#!/usr/bin/env bash
# The chaos soak: sequence-numbered messages both ways (MQTT → Kafka through a QoS 1 `sync`
# kafka_producer action, Kafka → MQTT through a QoS 1 kafka_consumer source) at a steady rate
# while workers, Apache Kafka, Mosquitto, the control plane and PostgreSQL are killed and
# restarted and a rule and a source are changed; then what arrived, what was duplicated and what
# was lost, reconciled with Tributary's own counters, with the time to recover after each fault.
#
#   scripts/chaos.sh [--messages N] [--rate R] [--workers W] [--fault-interval S] [--faults LIST]
#                    [--max-minutes M] [--settle S] [--partitions P] [--seed X] [--report FILE]
#
# Every flag has an environment equivalent (CHAOS_MESSAGES, CHAOS_RATE, ...; `--help` lists them).
# Defaults: 1,000,000 messages each way at 2,000/s, 3 workers, a worker killed every 10 s with
# another fault in between, at most 30 minutes. Everything runs on loopback: the run starts its
# own PostgreSQL, Mosquitto (persistence on) and single-node KRaft Kafka on free ports in temporary
# directories, and its own control plane and workers (release builds), so it never touches the
# local system of scripts/up.sh or the test stack. All of it is stopped and removed when the run
# ends, also on Ctrl-C or SIGTERM. Process logs: target/e2e-logs/. Exit status 0 when nothing was
# lost either way, 1 when something was, 2 when interrupted.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/stack.sh
source "$ROOT/scripts/lib/stack.sh"

run_release_tool tributary-chaos "the soak" "$@"
