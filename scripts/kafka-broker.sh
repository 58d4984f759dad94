#!/usr/bin/env bash
# Runs one Apache Kafka broker in the foreground: a single KRaft process (broker and controller)
# on loopback, its data in DIR/data, which a restart keeps. The jars come from Maven Central into
# a cache outside the repository the first time (scripts/lib/kafka.sh).
#
#   scripts/kafka-broker.sh DIR PORT [plain|secure]
#
# plain: PLAINTEXT on PORT, the controller on PORT+1 (the local system, scripts/up.sh).
# secure: PLAINTEXT, SASL_PLAINTEXT, SSL and SASL_SSL on PORT..PORT+3 and the controller on PORT+4,
# with a throwaway CA in DIR/tls and test users (the test stack, scripts/test-stack.sh).
# The process becomes the JVM (exec), so its pid is the broker's: SIGTERM shuts it down cleanly,
# SIGKILL is a crash. The scripts start it in the background; the tests start private ones.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/kafka.sh
source "$ROOT/scripts/lib/kafka.sh"

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: $0 DIR PORT [plain|secure]"
DIR=$1
PORT=$2
MODE=${3:-plain}
[[ $PORT =~ ^[0-9]+$ ]] || die "PORT must be a number, not '$PORT'"
case $MODE in plain | secure) ;; *) die "the mode is plain or secure, not '$MODE'" ;; esac
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

ensure_kafka_dist
[ "$MODE" = secure ] && kafka_ensure_tls "$DIR"
kafka_write_log_config "$DIR/log4j2.properties"
kafka_write_config "$DIR" "$PORT" "$MODE"
kafka_format "$DIR" "$MODE"
JAVA=$(kafka_java)
# shellcheck disable=SC2086 # the heap options are several words
exec "$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
  -Djava.awt.headless=true -Dlog4j2.configurationFile="$DIR/log4j2.properties" \
  -cp "$KAFKA_LIBS/*" kafka.Kafka "$DIR/server.properties"
