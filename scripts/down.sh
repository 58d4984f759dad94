#!/usr/bin/env bash
# Stops everything scripts/up.sh started, found through its pid files under .dev/, and nothing
# else. Data (the private database), secrets and logs stay; `rm -rf .dev` after this starts afresh.
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

DEV=$ROOT/.dev
[ -d "$DEV" ] || { say "nothing to stop: $DEV does not exist"; exit 0; }
lock_state "$DEV"

# Workers first, so they drain while the control plane and the brokers are still there.
for pidfile in "$DEV"/run/worker-*.pid; do
  [ -e "$pidfile" ] || continue
  name=${pidfile##*/}
  say "stopping ${name%.pid}"
  stop_service "$DEV/run" "${name%.pid}"
done
if [ -e "$DEV/run/control-plane.pid" ]; then
  say "stopping the control plane"
  stop_service "$DEV/run" control-plane
fi
if pid_alive "$DEV/kafka/pid"; then say "stopping Kafka"; fi
stop_kafka "$DEV"
if pid_alive "$DEV/mosquitto/pid"; then say "stopping mosquitto"; fi
stop_mosquitto "$DEV"
stop_postgres "$DEV"
say "stopped"
