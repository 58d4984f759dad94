#!/usr/bin/env bash
# Brings the whole local system up, idempotently: installs what is missing, starts PostgreSQL,
# Mosquitto and Apache Kafka (fetched from Maven Central once), builds and starts the control plane and the
# workers, creates the demo through the REST API and checks it end to end in both directions.
# Everything lives under .dev/ (logs in .dev/logs/, settings in .dev/env); scripts/down.sh stops it.
#
# Settings (environment):
#   DATABASE_URL                 use this PostgreSQL instead of a private one under .dev/
#   TRIBUTARY_DEV_PG_PORT        private PostgreSQL port     (15432)
#   TRIBUTARY_DEV_MQTT_PORT      Mosquitto port              (11883)
#   TRIBUTARY_DEV_KAFKA_PORT     Kafka port                  (19092; its controller takes the next)
#   TRIBUTARY_DEV_HTTP_PORT      control plane REST API      (18083)
#   TRIBUTARY_DEV_GRPC_PORT      control plane worker gRPC   (18090)
#   TRIBUTARY_DEV_WORKERS        how many workers to run     (2)
#   TRIBUTARY_DEV_ADMIN_PORT     first worker's admin port   (18181; worker-N uses 18180+N)
#   TRIBUTARY_LOG                log filter of our binaries  (info)
#   TRIBUTARY_MQTT_READ_COALESCING  the workers' --mqtt-read-coalescing (5ms; 0ms for none)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then
  # No arguments: everything is configured through the environment (see the comment above).
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  [ "$1" = -h ] || [ "$1" = --help ] || { echo "error: $(basename "$0") takes no arguments" >&2; exit 2; }
  exit 0
fi
# shellcheck source=lib/stack.sh
source "$ROOT/scripts/lib/stack.sh"
# shellcheck source=lib/tributary.sh
source "$ROOT/scripts/lib/tributary.sh"
# shellcheck source=lib/demo.sh
source "$ROOT/scripts/lib/demo.sh"

DEV=$ROOT/.dev
RUN=$DEV/run
LOGS=$DEV/logs
PG_PORT=${TRIBUTARY_DEV_PG_PORT:-15432}
MQTT_PORT=${TRIBUTARY_DEV_MQTT_PORT:-11883}
KAFKA_PORT=${TRIBUTARY_DEV_KAFKA_PORT:-19092}
HTTP_PORT=${TRIBUTARY_DEV_HTTP_PORT:-18083}
GRPC_PORT=${TRIBUTARY_DEV_GRPC_PORT:-18090}
WORKERS=${TRIBUTARY_DEV_WORKERS:-2}
ADMIN_PORT=${TRIBUTARY_DEV_ADMIN_PORT:-18181}
LOG_FILTER=${TRIBUTARY_LOG:-info}
READ_COALESCING=${TRIBUTARY_MQTT_READ_COALESCING:-5ms}
PRIVATE_DATABASE_URL=postgres://tributary@127.0.0.1:$PG_PORT/tributary

[[ $WORKERS =~ ^[0-9]+$ ]] || die "TRIBUTARY_DEV_WORKERS must be a number, not '$WORKERS'"
# .dev/ stays readable: as root, the private PostgreSQL runs as the `postgres` user and keeps its
# data in .dev/postgres. The files holding secrets are private (umask 077 below).
mkdir -p "$DEV" "$RUN" "$LOGS"
lock_state "$DEV"

# --- what the machine needs --------------------------------------------------------------------
require_cargo
apt_install "${STACK_PACKAGES[@]}" "${BUILD_PACKAGES[@]}" "${DEMO_PACKAGES[@]}"
KAFKA_VENV=$DEV/venv
ensure_kafka_tool "$KAFKA_VENV"

# --- secrets, created once and reused ---------------------------------------------------------
SECRETS=$DEV/secrets.env
if [ ! -f "$SECRETS" ]; then
  umask 077
  cat >"$SECRETS" <<ENV
TRIBUTARY_API_KEY=dev-$(random_hex 6)
TRIBUTARY_API_SECRET=$(random_hex 24)
TRIBUTARY_WORKER_TOKEN=$(random_hex 24)
ENV
  umask 022
  say "generated the admin API key and the worker token in $SECRETS"
fi
# shellcheck source=/dev/null
source "$SECRETS"

# --- ports, checked now rather than after the build ------------------------------------------
claim_port "$KAFKA_PORT" Kafka "$DEV/kafka/pid" TRIBUTARY_DEV_KAFKA_PORT
claim_port $((KAFKA_PORT + 1)) "Kafka's controller" "$DEV/kafka/pid" TRIBUTARY_DEV_KAFKA_PORT
claim_port "$HTTP_PORT" "the control plane" "$RUN/control-plane.pid" TRIBUTARY_DEV_HTTP_PORT
claim_port "$GRPC_PORT" "the control plane" "$RUN/control-plane.pid" TRIBUTARY_DEV_GRPC_PORT
for i in $(seq 1 "$WORKERS"); do
  claim_port $((ADMIN_PORT + i - 1)) "worker-$i" "$RUN/worker-$i.pid" TRIBUTARY_DEV_ADMIN_PORT
done

# --- the services Tributary talks to -----------------------------------------------------------
# A DATABASE_URL from the environment is used as it is, unless it is the private one (a shell that
# sourced .dev/env has it): then the private cluster is ours to start.
if [ -n "${DATABASE_URL:-}" ] && [ "$DATABASE_URL" != "$PRIVATE_DATABASE_URL" ]; then
  say "using the PostgreSQL at DATABASE_URL from the environment"
  require_database "$DATABASE_URL"
else
  DATABASE_URL=$PRIVATE_DATABASE_URL
  ensure_postgres "$DEV" "$PG_PORT" TRIBUTARY_DEV_PG_PORT
  ensure_database "postgres://tributary@127.0.0.1:$PG_PORT/postgres" tributary
fi
ensure_mosquitto "$DEV" "$MQTT_PORT" TRIBUTARY_DEV_MQTT_PORT
# Started before the build, so the broker is ready (and its first download done) when it ends.
ensure_kafka "$DEV" "$KAFKA_PORT" TRIBUTARY_DEV_KAFKA_PORT

MQTT_HOST=127.0.0.1
KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
TRIBUTARY_API=http://127.0.0.1:$HTTP_PORT/api/v5
umask 077
cat >"$DEV/env" <<ENV
# Written by scripts/up.sh: \`source .dev/env\` to talk to the local system.
export TRIBUTARY_API=$TRIBUTARY_API
export TRIBUTARY_API_KEY=$TRIBUTARY_API_KEY
export TRIBUTARY_API_SECRET=$TRIBUTARY_API_SECRET
export TRIBUTARY_WORKER_TOKEN=$TRIBUTARY_WORKER_TOKEN
export TRIBUTARY_HTTP_PORT=$HTTP_PORT
export TRIBUTARY_GRPC_PORT=$GRPC_PORT
export TRIBUTARY_CONTROL_PLANE=http://127.0.0.1:$GRPC_PORT
export TRIBUTARY_WORKER_ADMIN_PORTS="$(seq -s ' ' "$ADMIN_PORT" $((ADMIN_PORT + WORKERS - 1)))"
export MQTT_HOST=$MQTT_HOST
export MQTT_PORT=$MQTT_PORT
export KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP
export DATABASE_URL=$DATABASE_URL
ENV
umask 022

# --- Tributary ------------------------------------------------------------------------------
# The web console, built first so that tributary-control embeds it and serves it at /; without
# Node.js 20 it is skipped and / says how to build it.
if command -v node >/dev/null; then
  "$ROOT/scripts/console.sh" build || say "the web console did not build; / says how to build it"
else
  say "Node.js is missing, so the web console is not built; / says how to build it"
fi
build_release "$ROOT"
create_demo_topics

BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
ensure_service control-plane "$RUN" "$LOGS/control-plane.log" \
  "$HTTP_PORT:TRIBUTARY_DEV_HTTP_PORT $GRPC_PORT:TRIBUTARY_DEV_GRPC_PORT" "$BIN/tributary-control" \
  "DATABASE_URL=$DATABASE_URL" \
  "TRIBUTARY_HTTP_LISTEN=127.0.0.1:$HTTP_PORT" \
  "TRIBUTARY_GRPC_LISTEN=127.0.0.1:$GRPC_PORT" \
  "TRIBUTARY_WORKER_TOKEN=$TRIBUTARY_WORKER_TOKEN" \
  "TRIBUTARY_BOOTSTRAP_API_KEY=$TRIBUTARY_API_KEY" \
  "TRIBUTARY_BOOTSTRAP_API_SECRET=$TRIBUTARY_API_SECRET" \
  "TRIBUTARY_LOG=$LOG_FILTER"
wait_healthy "the control plane" "http://127.0.0.1:$HTTP_PORT/healthz" 60 "$LOGS/control-plane.log" "$RUN/control-plane.pid"

for i in $(seq 1 "$WORKERS"); do
  port=$((ADMIN_PORT + i - 1))
  ensure_service "worker-$i" "$RUN" "$LOGS/worker-$i.log" "$port:TRIBUTARY_DEV_ADMIN_PORT" "$BIN/tributary-worker" \
    "TRIBUTARY_CONTROL_PLANE=http://127.0.0.1:$GRPC_PORT" \
    "TRIBUTARY_WORKER_TOKEN=$TRIBUTARY_WORKER_TOKEN" \
    "TRIBUTARY_WORKER_NAME=worker-$i" \
    "TRIBUTARY_ADMIN_LISTEN=127.0.0.1:$port" \
    "TRIBUTARY_MQTT_READ_COALESCING=$READ_COALESCING" \
    "TRIBUTARY_LOG=$LOG_FILTER"
done
# Workers beyond TRIBUTARY_DEV_WORKERS are left from an earlier run with more of them.
for pidfile in "$RUN"/worker-*.pid; do
  [ -e "$pidfile" ] || continue
  n=${pidfile##*/worker-}
  n=${n%.pid}
  if [ "$n" -gt "$WORKERS" ]; then
    say "stopping worker-$n (TRIBUTARY_DEV_WORKERS is $WORKERS)"
    stop_service "$RUN" "worker-$n"
  fi
done
for i in $(seq 1 "$WORKERS"); do
  wait_healthy "worker-$i" "http://127.0.0.1:$((ADMIN_PORT + i - 1))/healthz" 60 "$LOGS/worker-$i.log" "$RUN/worker-$i.pid"
done

# --- the demo -----------------------------------------------------------------------------------
DEMO_WORK=$RUN/demo
mkdir -p "$DEMO_WORK"
create_demo_resources
verify_mqtt_to_kafka
verify_kafka_to_mqtt

cat >&2 <<DONE

Tributary is up.
  web console     http://127.0.0.1:$HTTP_PORT/   (sign in with the API key and secret below)
  REST API        $TRIBUTARY_API   (docs: http://127.0.0.1:$HTTP_PORT/api/v5/docs)
  API key         $TRIBUTARY_API_KEY
  API secret      $TRIBUTARY_API_SECRET
  worker gRPC     http://127.0.0.1:$GRPC_PORT
  workers         $WORKERS, admin (/healthz, /metrics) on 127.0.0.1:$ADMIN_PORT..$((ADMIN_PORT + WORKERS - 1))
  MQTT            $MQTT_HOST:$MQTT_PORT (Mosquitto)
  Kafka           $KAFKA_BOOTSTRAP (Apache Kafka $KAFKA_VERSION, data in $DEV/kafka/data)
  PostgreSQL      $DATABASE_URL
  logs            $LOGS/
These are in .dev/env. Try the demo:
  source .dev/env
  # MQTT -> Kafka: publish to t/1, read testtopic-in
  mosquitto_pub -h \$MQTT_HOST -p \$MQTT_PORT -t t/1 -q 1 -m '{ "msg": "Hello Kafka" }'
  scripts/kafka.sh consume testtopic-in --from-beginning
  # Kafka -> MQTT: subscribe to t/1, produce to testtopic-out
  mosquitto_sub -h \$MQTT_HOST -p \$MQTT_PORT -t t/1 -q 1 -v &
  scripts/kafka.sh produce testtopic-out '{"msg": "Hello MQTT"}'
  # what the rule did
  curl -u "\$TRIBUTARY_API_KEY:\$TRIBUTARY_API_SECRET" \$TRIBUTARY_API/rules/demo/metrics
Stop everything with scripts/down.sh.
DONE
