#!/usr/bin/env bash
# Instructions per message on the worker's own MQTT → Kafka path (data-plane/benches/hot_path.rs:
# decode the PUBLISH, evaluate the benchmark's rule, render the record, hand it to librdkafka),
# counted by callgrind on the calling thread. Unlike CPU time, the count is the same on a busy
# machine, so it compares builds: run it before and after a change.
#
#   scripts/instructions.sh [MESSAGES]     (20000 by default)
#
# It runs the path under callgrind with no message and with MESSAGES, and prints the difference
# divided by MESSAGES: setup (rule parsing, client creation) cancels out. librdkafka's
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
  local run
  run=$(mktemp -d "$out/run.XXXXXX")
  TRIBUTARY_HOT_PATH_MESSAGES=$1 valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$run/callgrind.%p" "$bench" >/dev/null 2>"$run/valgrind.log" ||
    die "callgrind failed; see $(cat "$run/valgrind.log")"
  # Thread 1 is main; its file ends in -01. Each run has a directory of its own, so that only
  # this run's file matches.
  awk '/^summary:/ { print $2 }' "$run"/callgrind.*-01
}

# librdkafka's threads share a few locks with the main thread, so now and then a run counts some
# percent more (a contended lock's slow path): the median of three runs is reported.
say "counting with callgrind: 0 and $messages messages, three times each"
runs=()
for _ in 1 2 3; do
  runs+=("$(main_thread_instructions 0)" "$(main_thread_instructions "$messages")")
done
python3 - "$messages" "${runs[@]}" <<'EOF'
import statistics, sys
messages, *counts = (int(v) for v in sys.argv[1:])
pairs = list(zip(counts[0::2], counts[1::2]))
per_message = sorted((loaded - base) / messages for base, loaded in pairs)
print(f"instructions per message (worker thread, MQTT PUBLISH -> librdkafka): {statistics.median(per_message):,.0f}")
print(f"  (three runs of {messages:,} messages: {', '.join(f'{p:,.0f}' for p in per_message)})")
EOF
