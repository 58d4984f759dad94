#!/usr/bin/env bash
# The whole check, as CI runs it: prepares the test stack (PostgreSQL, Mosquitto and Apache Kafka
# in KRaft mode, on ports of their own, see scripts/test-stack.sh), then runs
#   cargo fmt --all --check
#   cargo clippy --workspace --all-targets -- -D warnings
#   scripts/console.sh build                (the web console into console/dist, before the build
#                                            so that tributary-control embeds it)
#   cargo build --workspace --bins --tests
#   cargo test --workspace --no-fail-fast   (with .test-stack/env sourced; end-to-end tests included)
#   scripts/console.sh test                 (the web console: typecheck, lint, format, unit and
#                                            browser tests against the real control plane)
#   scripts/schemathesis.sh                 (the OpenAPI document against the live control
#                                            plane: schemathesis, all checks, fixed seed)
#   scripts/helm-check.sh                   (the Helm chart: lint, template, Kubernetes schemas)
# and prints a summary. A failing step does not hide the others' results; the exit status is
# non-zero when any failed.
#
#   scripts/test.sh [--keep-stack | --stop-stack] [-- ARGS for cargo test, e.g. -p tributary-rules]
#
# The test stack is left running for the next run unless --stop-stack is given or CI=true.
# TRIBUTARY_TEST_THREADS=N passes --test-threads=N to the test binaries.
#
# On a fresh machine `test-stack.sh prepare` first installs what is missing (PostgreSQL and
# Mosquitto from apt, Apache Kafka's jars from Maven Central, cached under ~/.cache/tributary);
# the stack starts after the build. The build step includes the test targets so that the
# bins and the tests share one feature resolution: `cargo build --bins` alone resolves without
# dev-dependencies (tokio's test-util, for one) and `cargo test` would then rebuild half the tree.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

stop_stack=false
[ "${CI:-}" = true ] && stop_stack=true
cargo_test_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --keep-stack) stop_stack=false ;;
    --stop-stack) stop_stack=true ;;
    --) shift; cargo_test_args=("$@"); break ;;
    *) die "unknown argument $1; usage: scripts/test.sh [--keep-stack | --stop-stack] [-- cargo test args]" ;;
  esac
  shift
done
test_binary_args=()
[ -n "${TRIBUTARY_TEST_THREADS:-}" ] && test_binary_args=(--test-threads="$TRIBUTARY_TEST_THREADS")

LOGS=$ROOT/.test-stack/logs
mkdir -p "$LOGS"
rm -f "$LOGS/cargo-test.log"

require_cargo
require_cargo_components fmt clippy
apt_install "${BUILD_PACKAGES[@]}"
scripts/test-stack.sh prepare
if $stop_stack; then trap 'scripts/test-stack.sh stop' EXIT; fi

STEPS=()
RESULTS=()
TIMES=()

record() { STEPS+=("$1"); RESULTS+=("$2"); TIMES+=("$3"); }

# step NAME COMMAND...: runs one check and records how it went; never stops the script.
step() {
  local name=$1 start=$SECONDS
  shift
  say "$name: $*"
  if "$@"; then record "$name" ok $((SECONDS - start)); else record "$name" FAILED $((SECONDS - start)); fi
}

skip() { record "$1" "skipped ($2)" 0; }

passed() { [ "${RESULTS[-1]}" = ok ]; }

# shellcheck disable=SC2317 # called through `step`
run_tests() {
  # shellcheck source=/dev/null
  source .test-stack/env
  # The reference OpenMetrics parser for the /metrics check of tests/tests/grafana_dashboard.rs.
  local parser=${TRIBUTARY_CACHE_DIR:-$HOME/.cache/tributary}/openmetrics-parser-$OPENMETRICS_PARSER_VERSION
  # A subshell: a failed install leaves that one check out instead of ending the run.
  if (ensure_openmetrics_parser "$parser"); then
    export TRIBUTARY_OPENMETRICS_PYTHON=$parser/bin/python
  fi
  # --no-fail-fast: one failing test binary must not hide the results of the others.
  cargo test --workspace --no-fail-fast "${cargo_test_args[@]}" -- "${test_binary_args[@]}" 2>&1 | tee "$LOGS/cargo-test.log"
  return "${PIPESTATUS[0]}"
}

step fmt cargo fmt --all --check
step clippy cargo clippy --workspace --all-targets -- -D warnings
# Before the build: tributary-control embeds console/dist when it is built.
step assets scripts/console.sh build
step build cargo build --workspace --bins --tests
built=false
passed && built=true
step stack scripts/test-stack.sh start
stack_ok=false
passed && stack_ok=true
if ! passed; then
  skip test "the test stack did not start"
elif ! $built; then
  skip test "the build failed"
else
  step test run_tests
fi
if ! $built; then
  skip console "the build failed"
else
  # The build step made the binaries the browser tests start, with the console the assets step
  # built embedded.
  step console env TRIBUTARY_CONSOLE_PREBUILT=1 scripts/console.sh test
fi
step helm scripts/helm-check.sh
# openapi/openapi.json must describe exactly what the control plane does (1 to 2.5 minutes).
if ! $built; then
  skip openapi "the build failed"
elif ! $stack_ok; then
  skip openapi "the test stack did not start"
else
  step openapi scripts/schemathesis.sh
fi

echo
echo "==> summary"
failed=0
for i in "${!STEPS[@]}"; do
  printf '  %-7s %-40s %5ss\n' "${STEPS[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
  [ "${RESULTS[$i]}" = ok ] || failed=1
done
if [ -f "$LOGS/cargo-test.log" ] && printf '%s\n' "${STEPS[@]}" | grep -qx test; then
  # The sum over every test binary, in the one-line form CI reads.
  grep -E '^test .* FAILED$' "$LOGS/cargo-test.log" | sed 's/^test /  failed: /; s/ \.\.\. FAILED$//' || true
  awk '/^test result:/ { p += $4; f += $6; s += $8 }
       END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$LOGS/cargo-test.log"
fi
exit "$failed"
