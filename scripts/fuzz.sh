#!/usr/bin/env bash
# Runs one cargo-fuzz target for a given time, starting from the committed seeds
# (<crate>/fuzz/seeds/TARGET) plus whatever earlier runs found (<crate>/fuzz/corpus, not
# committed), and prints how many inputs it executed. The fuzz crates: rule-engine/fuzz,
# data-plane/fuzz and protocol/fuzz.
#
#   scripts/fuzz.sh TARGET SECONDS      e.g. scripts/fuzz.sh parse_eval 300
#   scripts/fuzz.sh list                the targets
#
# Targets: parse_eval (rule SQL parsed and evaluated against a payload), template (`${...}`
# templates rendered against JSON and rule rows), mqtt_publish (a PUBLISH packet decoded by the
# worker's MQTT client and seen by rules: payload JSON, user properties), rest_bodies (JSON
# request bodies decoded into the REST API's resource types and validated). Needs the nightly
# toolchain; installs cargo-fuzz with cargo when it is missing. A crash leaves its input in
# <crate>/fuzz/artifacts/TARGET/: make it a regression test (in <crate>/tests/) before fixing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
FUZZ_CRATES=("$ROOT/rule-engine/fuzz" "$ROOT/data-plane/fuzz" "$ROOT/protocol/fuzz")

[ $# -ge 1 ] || die "usage: $0 TARGET SECONDS | $0 list"
if [ "$1" = list ]; then
  for crate in "${FUZZ_CRATES[@]}"; do
    [ -f "$crate/Cargo.toml" ] || continue
    sed -n 's/^name = "\(.*\)"$/\1/p' "$crate/Cargo.toml" | grep -v -- '-fuzz$'
  done
  exit 0
fi
[ $# -eq 2 ] || die "usage: $0 TARGET SECONDS"
TARGET=$1
SECONDS_TO_RUN=$2
[[ $SECONDS_TO_RUN =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number, not '$SECONDS_TO_RUN'"
FUZZ=
for crate in "${FUZZ_CRATES[@]}"; do
  [ -f "$crate/fuzz_targets/$TARGET.rs" ] && FUZZ=$crate
done
[ -n "$FUZZ" ] || die "no fuzz target '$TARGET' (see: $0 list)"

rustup toolchain list | grep -q '^nightly' || die "the nightly toolchain is missing: rustup toolchain install nightly"
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

mkdir -p "$FUZZ/corpus/$TARGET"
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
say "fuzzing $TARGET for $SECONDS_TO_RUN s"
cd "$FUZZ"
# The fuzz crate has its own workspace and target directory (nightly, sanitizer flags), so it
# never invalidates the workspace's build.

cargo +nightly fuzz run "$TARGET" "corpus/$TARGET" "seeds/$TARGET" -- \
  -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 2>&1 | tee "$LOG" | grep -E "^(#[0-9]+.*(DONE|pulse)|==|SUMMARY|artifact)" || true
executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -n 1)
crashes=$(find "artifacts/$TARGET" -type f 2>/dev/null | wc -l)
echo "target=$TARGET seconds=$SECONDS_TO_RUN executions=${executed:-?} corpus=$(find "corpus/$TARGET" -type f | wc -l) artifacts=$crashes"
grep -q 'SUMMARY\|deadly signal\|panicked' "$LOG" && die "$TARGET crashed; the input is in ${FUZZ#"$ROOT"/}/artifacts/$TARGET/"
exit 0
