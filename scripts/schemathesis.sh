#!/usr/bin/env bash
# Checks that openapi/openapi.json describes exactly what the control plane does: runs
# schemathesis (PyPI) with all its checks against a live `tributary-control` on a fresh database
# of the test stack, and fails on any failure it finds.
#
#   scripts/schemathesis.sh            (after `scripts/test-stack.sh start` and a debug build)
#
# Bounded in time: a fixed number of examples per operation and a fixed seed, so a run is
# reproducible and takes about the same time each time. TRIBUTARY_SCHEMATHESIS_EXAMPLES and
# TRIBUTARY_SCHEMATHESIS_SEED change them. schemathesis is installed once into a virtualenv under
# $TRIBUTARY_CACHE_DIR (default ~/.cache/tributary). The report (JUnit, with every failing
# request as curl) goes to .test-stack/logs/schemathesis/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

SCHEMATHESIS_VERSION=4.32.5
CACHE=${TRIBUTARY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary}
VENV=$CACHE/schemathesis-$SCHEMATHESIS_VERSION
EXAMPLES=${TRIBUTARY_SCHEMATHESIS_EXAMPLES:-25}
SEED=${TRIBUTARY_SCHEMATHESIS_SEED:-14}
HTTP_PORT=${TRIBUTARY_SCHEMATHESIS_HTTP_PORT:-28083}
GRPC_PORT=${TRIBUTARY_SCHEMATHESIS_GRPC_PORT:-28090}
BINARY=$ROOT/target/debug/tributary-control
LOGS=$ROOT/.test-stack/logs
API_KEY=schemathesis
API_SECRET=schemathesis-secret-0123456789

ensure_schemathesis() {
  [ -f "$VENV/.complete" ] && return 0
  command -v python3 >/dev/null || die "python3 is missing; install it: apt-get install python3 python3-venv"
  mkdir -p "$CACHE"
  (
    flock -w 600 8 || die "another script has held $VENV.lock for 10 minutes"
    [ -f "$VENV/.complete" ] && exit 0
    rm -rf "$VENV"
    python3 -m venv "$VENV" >/dev/null 2>&1 \
      || die "python3 -m venv failed; install the venv module: apt-get install python3-venv"
    say "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2 \
      || die "pip could not install schemathesis from PyPI; check the network and run this again"
    touch "$VENV/.complete"
  ) 8>"$VENV.lock"
}

[ -f .test-stack/env ] || die "the test stack is not prepared; run scripts/test-stack.sh start first"
# shellcheck source=/dev/null
source .test-stack/env
[ -x "$BINARY" ] || die "$BINARY is missing; build it with: cargo build -p tributary-control-plane"
apt_install python3-venv
ensure_schemathesis
mkdir -p "$LOGS"

# A database of its own, so that what schemathesis creates never meets other tests' data.
DB=tributary_schemathesis_$$
psql -q "$DATABASE_URL" -c "CREATE DATABASE $DB" >/dev/null
DB_URL=${DATABASE_URL%/*}/$DB
PIDFILE=$LOGS/schemathesis-control.pid
LOG=$LOGS/schemathesis-control.log
cleanup() {
  if pid_alive "$PIDFILE"; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; fi
  # Wait for the control plane to close its connections before dropping the database.
  for _ in $(seq 50); do pid_alive "$PIDFILE" || break; sleep 0.1; done
  rm -f "$PIDFILE"
  psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

port_open "$HTTP_PORT" && die "port $HTTP_PORT is in use; set TRIBUTARY_SCHEMATHESIS_HTTP_PORT to a free port"
RUST_LOG=warn "$BINARY" \
  --database-url "$DB_URL" \
  --http-listen "127.0.0.1:$HTTP_PORT" \
  --grpc-listen "127.0.0.1:$GRPC_PORT" \
  --worker-token schemathesis-worker-token \
  --bootstrap-api-key "$API_KEY" \
  --bootstrap-api-secret "$API_SECRET" >"$LOG" 2>&1 &
echo $! >"$PIDFILE"
wait_healthy "the control plane" "http://127.0.0.1:$HTTP_PORT/healthz" 60 "$LOG" "$PIDFILE"

# The resources named in scripts/schemathesis.toml's dictionaries.
api() {
  curl -fsS -o /dev/null -u "$API_KEY:$API_SECRET" -H 'Content-Type: application/json' \
    -X POST "http://127.0.0.1:$HTTP_PORT/api/v5/$1" -d "$2" \
    || die "seeding $1 failed; see $LOG"
}
api connectors '{"type": "kafka_producer", "name": "seed", "bootstrap_hosts": "127.0.0.1:9092"}'
api connectors '{"type": "kafka_consumer", "name": "seed", "bootstrap_hosts": "127.0.0.1:9092"}'
api connectors '{"type": "mqtt", "name": "seed", "server": "127.0.0.1:1883"}'
api connectors '{"type": "mqtt", "name": "default", "server": "127.0.0.1:1883"}'
api actions '{"type": "kafka_producer", "name": "seed", "connector": "seed", "parameters": {"topic": "t"}}'
api sources '{"type": "kafka_consumer", "name": "seed", "connector": "seed", "parameters": {"topic": "t", "mqtt_connector": "seed"}}'
api rules '{"id": "seed", "sql": "SELECT * FROM \"t/#\"", "actions": ["kafka_producer:seed"]}'

say "schemathesis $SCHEMATHESIS_VERSION: all checks, $EXAMPLES examples per operation, seed $SEED"
rm -rf "$LOGS/schemathesis"
"$VENV/bin/schemathesis" --no-color --config-file "$ROOT/scripts/schemathesis.toml" run "http://127.0.0.1:$HTTP_PORT/api/v5/openapi.json" \
  --checks all \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --workers 1 \
  --auth "$API_KEY:$API_SECRET" \
  --request-timeout 30 \
  --report junit \
  --report-dir "$LOGS/schemathesis"
