#!/usr/bin/env bash
# Benchmarks Tributary on the local system beside its baselines (Mosquitto alone, Kafka alone,
# a Python paho-mqtt + confluent-kafka bridge), prints the tables and writes them into
# BENCHMARKS.md (between its results markers; the text around them is kept).
#
#   scripts/bench.sh                         everything (about 20 minutes once built, 10 of them
#                                            the soak run; --soak-duration shortens it)
#   scripts/bench.sh --scenarios broker-alone,mqtt-to-kafka
#   scripts/bench.sh --help                  every flag of tributary-bench
#
# Settings (environment):
#   TRIBUTARY_BENCH_SKIP_UP=1   do not run scripts/up.sh first (the system is already up)
#   TRIBUTARY_BENCH_*           any tributary-bench flag, see --help
# Numbers are only worth keeping from a quiet machine: nothing else compiling or running.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/kafka.sh
source "$ROOT/scripts/lib/kafka.sh"

DEV=$ROOT/.dev
VENV=$DEV/bench-venv
PAHO_MQTT_VERSION=2.1.0

# --- the system under test ------------------------------------------------------------------------
if [ "${TRIBUTARY_BENCH_SKIP_UP:-}" != 1 ]; then
  "$ROOT/scripts/up.sh"
fi
[ -f "$DEV/env" ] || die "$DEV/env is missing: run scripts/up.sh (or unset TRIBUTARY_BENCH_SKIP_UP)"
# shellcheck source=/dev/null
source "$DEV/env"

# --- the Python bridge baseline's libraries, from PyPI ------------------------------------------
if ! "$VENV/bin/python" -c "import paho.mqtt, confluent_kafka" 2>/dev/null; then
  command -v python3 >/dev/null || die "python3 is missing; install it: apt-get install python3 python3-venv"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >/dev/null 2>&1 \
    || die "python3 -m venv failed; install the venv module: apt-get install python3-venv"
  say "installing paho-mqtt $PAHO_MQTT_VERSION and confluent-kafka $CONFLUENT_KAFKA_VERSION into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "paho-mqtt==$PAHO_MQTT_VERSION" "confluent-kafka==$CONFLUENT_KAFKA_VERSION" >&2 \
    || die "pip could not install the Python bridge's libraries from PyPI; check the network and run this again"
fi

# --- the harness ----------------------------------------------------------------------------------
require_cargo
say "building tributary-bench (release)"
(cd "$ROOT" && cargo build --release -p tributary-bench >&2) || die "building tributary-bench failed; see cargo's errors above"

read -r load1 _ </proc/loadavg
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  say "the machine is busy (load average $load1 on $(nproc) cores): the figures will be low and noisy; rerun when it is quiet"
fi

cd "$ROOT"
export TRIBUTARY_BENCH_PYTHON=${TRIBUTARY_BENCH_PYTHON:-$VENV/bin/python}
export TRIBUTARY_BENCH_KAFKA_VERSION=$KAFKA_VERSION
export TRIBUTARY_BENCH_PID_DIR=${TRIBUTARY_BENCH_PID_DIR:-$DEV/run}
# The one-worker scenario freezes the other workers (SIGSTOP) while it runs and thaws them itself;
# should the harness be killed meanwhile, they are thawed here.
thaw_workers() {
  for pidfile in "$TRIBUTARY_BENCH_PID_DIR"/worker-*.pid; do
    [ -e "$pidfile" ] && kill -CONT "$(cat "$pidfile")" 2>/dev/null || true
  done
}
trap thaw_workers EXIT
# The harness bounds every run itself; this only stops a hang from holding the machine.
timeout --signal=INT 2400 "${CARGO_TARGET_DIR:-$ROOT/target}/release/tributary-bench" "$@"
