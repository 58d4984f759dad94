#!/usr/bin/env bash
# The services the tests talk to, on ports of their own so they run beside scripts/up.sh:
#   scripts/test-stack.sh start     install what is missing, start everything, write .test-stack/env
#   scripts/test-stack.sh prepare   the same but without waiting for a nisshi build: starts that
#                                   build in the background (scripts/test.sh overlaps it with its own)
#   scripts/test-stack.sh stop      stop what start started
# Then `source .test-stack/env` and run `cargo test`. Ports: TRIBUTARY_TEST_PG_PORT (25432),
# TRIBUTARY_TEST_MQTT_PORT (21883), TRIBUTARY_TEST_KAFKA_PORT (29092).
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
  claim_port "$KAFKA_PORT" nisshi "$STATE/nisshi/pid" TRIBUTARY_TEST_KAFKA_PORT
  start_nisshi_build "$STATE"
  ensure_postgres "$STATE" "$PG_PORT" TRIBUTARY_TEST_PG_PORT
  ensure_mosquitto "$STATE" "$MQTT_PORT" TRIBUTARY_TEST_MQTT_PORT
}

lock_state "$STATE"
case "${1:-start}" in
  prepare) prepare ;;
  start)
    prepare
    ensure_nisshi "$STATE" "$KAFKA_PORT" TRIBUTARY_TEST_KAFKA_PORT
    cat >"$STATE/env" <<ENV
export TRIBUTARY_TEST_DATABASE_URL=postgres://tributary@127.0.0.1:$PG_PORT/postgres
export DATABASE_URL=postgres://tributary@127.0.0.1:$PG_PORT/postgres
export TRIBUTARY_TEST_MQTT=127.0.0.1:$MQTT_PORT
export TRIBUTARY_TEST_KAFKA=127.0.0.1:$KAFKA_PORT
ENV
    say "test stack ready: source $STATE/env"
    ;;
  stop)
    stop_nisshi "$STATE"
    stop_mosquitto "$STATE"
    stop_postgres "$STATE"
    rm -f "$STATE/env"
    ;;
  *) die "usage: $0 start|prepare|stop" ;;
esac
