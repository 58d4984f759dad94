#!/usr/bin/env bash
# Bounded memory while a broker is away: MQTT traffic continues at a steady rate while Apache
# Kafka is unreachable (frozen with SIGSTOP) under a `sync` and an `async` kafka_producer action,
# and Kafka traffic continues while Mosquitto is down under a kafka_consumer source. The worker's
# resident memory is sampled from /proc; once the broker is back, what arrived, what was dropped
# (counted) and what was lost is reconciled with what was sent, and the source's committed
# offsets are checked against what was produced before Mosquitto stopped.
#
#   scripts/outage.sh [--scenarios sync,async,mqtt-down] [--outage SECONDS] [--rate R]
#                     [--record-bytes B] [--async-limit SIZE] [--rss-bound-mib M]
#                     [--rss-growth-mib M] [--report FILE]
#
# Every flag has an environment equivalent (OUTAGE_SCENARIOS, OUTAGE_SECONDS, ...; `--help` lists
# them). Defaults: all scenarios, 60 s outages at 2,000 messages/s of 1 KB records. Everything
# runs on loopback: the run starts its own PostgreSQL, Mosquitto and single-node KRaft Kafka, a
# control plane and one worker (release builds), and removes them when it ends, also on Ctrl-C or
# SIGTERM. Exit status 0 when every check passed, 1 when one failed, 2 when interrupted.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/stack.sh
source "$ROOT/scripts/lib/stack.sh"

run_release_tool tributary-outage "the outages" "$@"
