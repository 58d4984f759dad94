#!/usr/bin/env bash
# A Kafka client for trying the local system by hand (scripts/lib/kafka_tool.py in a virtualenv
# under .dev/). The broker is $KAFKA_BOOTSTRAP, else the one in .dev/env. Examples:
#   scripts/kafka.sh consume testtopic-in --from-beginning
#   scripts/kafka.sh produce testtopic-out '{"msg": "Hello MQTT"}'
#   scripts/kafka.sh create-topic my-topic --partitions 3
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

if [ -z "${KAFKA_BOOTSTRAP:-}" ] && [ -f "$ROOT/.dev/env" ]; then
  KAFKA_BOOTSTRAP=$(sed -n 's/^export KAFKA_BOOTSTRAP=//p' "$ROOT/.dev/env")
fi
[ -n "${KAFKA_BOOTSTRAP:-}" ] || die "no Kafka broker known: run scripts/up.sh first, or set KAFKA_BOOTSTRAP=host:port"
ensure_kafka_tool "$ROOT/.dev/venv"
exec "$ROOT/.dev/venv/bin/python" "$ROOT/scripts/lib/kafka_tool.py" --bootstrap "$KAFKA_BOOTSTRAP" "$@"
