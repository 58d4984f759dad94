#!/usr/bin/env bash
# Instructions per message on the worker's own MQTT → Kafka path (data-plane/benches/hot_path.rs:
# decode the PUBLISH, evaluate the benchmark's rule, render the record, hand it to librdkafka),
# counted by callgrind on the calling thread. Unlike CPU time, the count is the same on a busy
# machine, so it compares builds: run it before and after a change.
#
#   scripts/instructions.sh [MESSAGES]     (20000 by default)
#
# It runs the path twice under callgrind, with no message and with MESSAGES, and prints the
# difference divided by MESSAGES: setup (rule parsing, client creation) cancels out. librdkafka's
# own threads (sending, delivery reports) are not in the figure; BENCHMARKS.md's CPU per message
# has everything.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

messages=${1:-20000}
case $messages in '' | *[!0-9]*) die "usage: scripts/instructions.sh [MESSAGES]" ;; esac

require_cargo
command -v valgrind >/dev/null || apt_install valgrind
say "building the hot-path benchmark (release)"
bench=$(cargo bench -p tributary-data-plane --bench hot_path --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "hot_path" and m.get("executable"):
        print(m["executable"])')
[ -x "$bench" ] || die "building data-plane/benches/hot_path.rs failed; run: cargo bench -p tributary-data-plane --bench hot_path --no-run"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# main_thread_instructions N: the instructions the benchmark's main thread executed for N messages.
main_thread_instructions() {
  TRIBUTARY_HOT_PATH_MESSAGES=$1 valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$out/run-$1.%p" "$bench" >/dev/null 2>"$out/valgrind-$1.log" ||
    die "callgrind failed; see $(cat "$out/valgrind-$1.log")"
  # Thread 1 is main; its file ends in -01.
  awk '/^summary:/ { print $2 }' "$out"/run-"$1".*-01
}

say "counting with callgrind: 0 and $messages messages"
base=$(main_thread_instructions 0)
loaded=$(main_thread_instructions "$messages")
python3 - "$base" "$loaded" "$messages" <<'EOF'
import sys
base, loaded, messages = (int(v) for v in sys.argv[1:])
print(f"instructions per message (worker thread, MQTT PUBLISH -> librdkafka): {(loaded - base) / messages:,.0f}")
print(f"  ({loaded:,} with {messages:,} messages, {base:,} with none)")
EOF
