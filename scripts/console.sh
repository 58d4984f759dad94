#!/usr/bin/env bash
# The web console (console/, TypeScript + Preact, built with Vite), served by the control plane
# at /console/ from --console-dir (TRIBUTARY_CONSOLE_DIR).
#
#   scripts/console.sh build   npm ci (when package-lock.json changed) and the build into console/dist
#   scripts/console.sh test    the build, then the typecheck, ESLint, the Prettier check, the unit
#                              tests and the Playwright browser tests: Debian's chromium (installed
#                              when missing) against a real control plane and worker on the test
#                              stack (scripts/test-stack.sh start, run here too)
#
# Needs Node.js 20.19 or newer. npm's cache stays in ~/.npm; no browser is downloaded.
# TRIBUTARY_CONSOLE_TIMEOUT bounds the browser tests (seconds, default 420).
# TRIBUTARY_CONSOLE_PREBUILT=1 skips building target/debug/tributary-{control,worker} (test.sh
# built them already).
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

build() {
  require_node
  install_deps
  say "console: building into console/dist"
  (cd "$CONSOLE" && npm run --silent build)
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
  # The browser tests: chromium, the binaries, and the test stack's PostgreSQL, Mosquitto, Kafka.
  [ -x /usr/bin/chromium ] || apt_install chromium
  if [ -z "${TRIBUTARY_CONSOLE_PREBUILT:-}" ]; then
    require_cargo
    say "console: building tributary-control and tributary-worker"
    (cd "$ROOT" && cargo build -p tributary-control-plane -p tributary-data-plane --bins)
  fi
  # Idempotent: quick when the stack is up (scripts/test.sh started it already).
  "$ROOT/scripts/test-stack.sh" start
  # shellcheck source=/dev/null
  source "$ROOT/.test-stack/env"
  check browser timeout --kill-after=10 "${TRIBUTARY_CONSOLE_TIMEOUT:-420}" npx playwright test --project browser
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
