#!/usr/bin/env bash
# The web console (console/, TypeScript + Preact, built with Vite into console/dist), which
# tributary-control embeds when it is built afterwards and serves at / (--console-dir overrides).
#
#   scripts/console.sh build   npm ci (when package-lock.json changed) and the build into console/dist
#   scripts/console.sh test    the build, then the typecheck, ESLint, the Prettier check, the unit
#                              tests, the first-load size check (under 300 KB of gzip JavaScript)
#                              and the Playwright browser tests with axe-core's accessibility checks:
#                              Debian's chromium (installed when missing) against a real control
#                              plane and worker on the test stack (scripts/test-stack.sh start, run
#                              here too), with a Kafka client (confluent-kafka in a virtualenv under
#                              TRIBUTARY_CACHE_DIR, default ~/.cache/tributary)
#
# Needs Node.js 20.19 or newer. npm's cache stays in ~/.npm; no browser is downloaded.
# TRIBUTARY_CONSOLE_TIMEOUT bounds the browser tests (seconds, default 420).
# TRIBUTARY_CONSOLE_PREBUILT=1 skips building target/debug/tributary-{control,worker} (test.sh
# built them already, after the console).
# TRIBUTARY_CONSOLE_SCREENSHOTS=1 makes the browser tests write the README's screenshots to
# docs/screenshots/ (optimised with pngquant, installed when missing).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"
CONSOLE=$ROOT/console
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }

require_node() {
  command -v node >/dev/null && command -v npm >/dev/null \
    || die "Node.js is missing; install Node.js 20 (https://nodejs.org or NodeSource's Debian packages), then run this again"
  local version major minor
  version=$(node -p 'process.versions.node')
  major=${version%%.*}
  minor=${version#*.}
  minor=${minor%%.*}
  if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
    die "Node.js $version is too old for the console's build (Vite needs 20.19 or newer)"
  fi
}

# npm ci wipes node_modules, so it runs only when the lock file changed since the last install.
install_deps() {
  local stamp=$CONSOLE/node_modules/.tributary-lock.sha256 sum
  sum=$(sha256sum "$CONSOLE/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    return 0
  fi
  say "console: npm ci"
  (cd "$CONSOLE" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$sum" >"$stamp"
}

# What the build reads; when none of it changed, console/dist is left as it is, so cargo does not
# rebuild tributary-control (which embeds it) for nothing.
build_inputs() {
  (cd "$CONSOLE" && find src index.html vite.config.ts tsconfig.json package-lock.json -type f -print0 \
    | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

build() {
  require_node
  install_deps
  local stamp=$CONSOLE/node_modules/.tributary-dist.sha256 sum
  sum=$(build_inputs)
  if [ -f "$CONSOLE/dist/index.html" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    say "console: console/dist is up to date"
    return 0
  fi
  say "console: building into console/dist"
  (cd "$CONSOLE" && npm run --silent build)
  echo "$sum" >"$stamp"
}

FAILED=()
check() {
  local name=$1
  shift
  say "console: $name"
  if ! (cd "$CONSOLE" && "$@"); then FAILED+=("$name"); fi
}

run_tests() {
  build
  check typecheck npm run --silent typecheck
  check lint npm run --silent lint
  check format npm run --silent format:check
  check unit npx playwright test --project unit
  check size npx playwright test --project size
  # The browser tests: chromium, the binaries, and the test stack's PostgreSQL, Mosquitto, Kafka.
  [ -x /usr/bin/chromium ] || apt_install chromium
  if [ -z "${TRIBUTARY_CONSOLE_PREBUILT:-}" ]; then
    require_cargo
    # After the console's build, so tributary-control embeds it.
    say "console: building tributary-control and tributary-worker"
    (cd "$ROOT" && cargo build -p tributary-control-plane -p tributary-data-plane --bins)
  fi
  local venv=${TRIBUTARY_CACHE_DIR:-$HOME/.cache/tributary}/kafka-tool-venv
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
  ensure_kafka_tool "$venv"
  export TRIBUTARY_KAFKA_PYTHON=$venv/bin/python
  # Idempotent: quick when the stack is up (scripts/test.sh started it already).
  "$ROOT/scripts/test-stack.sh" start
  # shellcheck source=/dev/null
  source "$ROOT/.test-stack/env"
  check browser timeout --kill-after=10 "${TRIBUTARY_CONSOLE_TIMEOUT:-420}" npx playwright test --project browser
  if [ -n "${TRIBUTARY_CONSOLE_SCREENSHOTS:-}" ]; then
    apt_install pngquant
    pngquant --force --skip-if-larger --strip --quality 70-90 --ext .png "$ROOT"/docs/screenshots/*.png || true
  fi
  if [ ${#FAILED[@]} -gt 0 ]; then
    echo "console: failed: ${FAILED[*]} (browser test logs and screenshots: console/test-results/)" >&2
    return 1
  fi
  say "console: all checks passed"
}

case ${1:-} in
  build) build ;;
  test) run_tests ;;
  -h | --help) usage ;;
  *) usage; exit 2 ;;
esac
