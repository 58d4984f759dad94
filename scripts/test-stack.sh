#!/usr/bin/env bash
# The services the tests talk to, on ports of their own so they run beside scripts/up.sh:
#   scripts/test-stack.sh start     install what is missing, start everything, write .test-stack/env
#   scripts/test-stack.sh prepare   the same without writing the env file (scripts/test.sh runs it
#                                   before its build, so Kafka's first download overlaps nothing)
#   scripts/test-stack.sh stop      stop what start started
# Then `source .test-stack/env` and run `cargo test`. Ports: TRIBUTARY_TEST_PG_PORT (25432),
# TRIBUTARY_TEST_MQTT_PORT (21883), TRIBUTARY_TEST_KAFKA_PORT (29092; Kafka takes the next four
# too: SASL_PLAINTEXT, SSL, SASL_SSL and its controller).
#
# Kafka is Apache Kafka with four listeners and test users (scripts/lib/kafka.sh): PLAINTEXT,
# SASL_PLAINTEXT and SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, and SSL, behind a
# throwaway CA made by openssl. The env file names each listener, user, password and CA file.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/stack.sh
source "$ROOT/scripts/lib/stack.sh"

STATE=$ROOT/.test-stack
PG_PORT=${TRIBUTARY_TEST_PG_PORT:-25432}
MQTT_PORT=${TRIBUTARY_TEST_MQTT_PORT:-21883}
KAFKA_PORT=${TRIBUTARY_TEST_KAFKA_PORT:-29092}

prepare() {
  mkdir -p "$STATE"
  apt_install "${STACK_PACKAGES[@]}"
  ensure_postgres "$STATE" "$PG_PORT" TRIBUTARY_TEST_PG_PORT
  ensure_mosquitto "$STATE" "$MQTT_PORT" TRIBUTARY_TEST_MQTT_PORT
  ensure_kafka "$STATE" "$KAFKA_PORT" TRIBUTARY_TEST_KAFKA_PORT secure
}

lock_state "$STATE"
case "${1:-start}" in
  prepare) prepare ;;
  start)
    prepare
    cat >"$STATE/env" <<ENV
export TRIBUTARY_TEST_DATABASE_URL=postgres://tributary@127.0.0.1:$PG_PORT/postgres
export DATABASE_URL=postgres://tributary@127.0.0.1:$PG_PORT/postgres
export TRIBUTARY_TEST_MQTT=127.0.0.1:$MQTT_PORT
export TRIBUTARY_TEST_KAFKA=127.0.0.1:$KAFKA_PORT
export TRIBUTARY_TEST_KAFKA_SASL_PLAINTEXT=127.0.0.1:$((KAFKA_PORT + 1))
export TRIBUTARY_TEST_KAFKA_SSL=127.0.0.1:$((KAFKA_PORT + 2))
export TRIBUTARY_TEST_KAFKA_SASL_SSL=127.0.0.1:$((KAFKA_PORT + 3))
export TRIBUTARY_TEST_KAFKA_CA=$STATE/kafka/tls/ca.pem
export TRIBUTARY_TEST_KAFKA_OTHER_CA=$STATE/kafka/tls/other-ca.pem
export TRIBUTARY_TEST_KAFKA_PLAIN_USER=$KAFKA_TEST_PLAIN_USER
export TRIBUTARY_TEST_KAFKA_PLAIN_PASSWORD=$KAFKA_TEST_PLAIN_PASSWORD
export TRIBUTARY_TEST_KAFKA_SCRAM256_USER=$KAFKA_TEST_SCRAM256_USER
export TRIBUTARY_TEST_KAFKA_SCRAM256_PASSWORD=$KAFKA_TEST_SCRAM256_PASSWORD
export TRIBUTARY_TEST_KAFKA_SCRAM512_USER=$KAFKA_TEST_SCRAM512_USER
export TRIBUTARY_TEST_KAFKA_SCRAM512_PASSWORD=$KAFKA_TEST_SCRAM512_PASSWORD
# For tests that run Kafka's own tools (SCRAM users created and revoked) or private brokers.
export TRIBUTARY_TEST_JAVA=$(kafka_java)
export TRIBUTARY_TEST_KAFKA_LIBS=$KAFKA_LIBS
ENV
    say "test stack ready: source $STATE/env"
    ;;
  stop)
    stop_kafka "$STATE"
    stop_mosquitto "$STATE"
    stop_postgres "$STATE"
    rm -f "$STATE/env"
    ;;
  *) die "usage: $0 start|prepare|stop" ;;
esac
