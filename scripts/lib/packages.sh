# shellcheck shell=bash disable=SC2034 # the package lists are read by the scripts sourcing this
# Installing what the scripts need: Debian packages, the Rust toolchain check, the nisshi broker
# and the Python virtualenv of the Kafka tool.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The services the tests and the local system run.
STACK_PACKAGES=(postgresql mosquitto curl)
# What building the workspace needs (rdkafka builds its bundled librdkafka with these).
BUILD_PACKAGES=(build-essential pkg-config libssl-dev zlib1g-dev python3)
# What scripts/up.sh needs on top: MQTT clients for the demo and a virtualenv for the Kafka tool.
DEMO_PACKAGES=(mosquitto-clients python3-venv)

NISSHI_VERSION=0.7.0-pre.2
CONFLUENT_KAFKA_VERSION=2.16.1

APT_UPDATED=""

# apt_install PKG...: installs the Debian packages that are missing.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "packages ${missing[*]} are missing and there is no apt-get to install them; install them by hand"
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    die "packages ${missing[*]} are missing; install them as root: apt-get install ${missing[*]}"
  fi
  say "installing Debian packages: ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then
    as_root apt-get update -qq >/dev/null || die "apt-get update failed; check the network, or install ${missing[*]} by hand"
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null </dev/null \
    || die "apt-get could not install ${missing[*]}; install them by hand"
}

# Debian keeps some daemons out of a normal user's PATH.
add_sbin_to_path() { PATH="$PATH:/usr/sbin:/sbin"; }

require_cargo() {
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null \
    || die "cargo is missing; install Rust with rustup (https://rustup.rs), then run this again"
}

# require_cargo_components fmt clippy: the rustup components test.sh runs.
require_cargo_components() {
  local component
  for component in "$@"; do
    cargo "$component" --version >/dev/null 2>&1 \
      || die "cargo $component is missing; install it with: rustup component add $( [ "$component" = fmt ] && echo rustfmt || echo "$component")"
  done
}

nisshi_installed() { command -v nisshi >/dev/null; }

NISSHI_INSTALL=(cargo install "nisshi@$NISSHI_VERSION" --locked --no-default-features --features dynostore)

# Another script (a parallel up.sh or test.sh, or a developer) may be building nisshi already.
nisshi_install_running() { pgrep -f "cargo install nisshi" >/dev/null; }

# nisshi_install_background LOGFILE PIDFILE: starts building nisshi (~20 minutes cold on 2 cores)
# at low priority, so it overlaps with our own build instead of coming after it.
nisshi_install_background() {
  local log=$1 pidfile=$2
  require_cargo
  nisshi_installed && return 0
  nisshi_install_running && return 0
  say "building nisshi $NISSHI_VERSION in the background (log: $log)"
  mkdir -p "$(dirname "$log")"
  : >"$log"
  start_background "$pidfile" "$log" nice -n 10 "${NISSHI_INSTALL[@]}"
}

# ensure_nisshi_installed LOGFILE PIDFILE: waits for a build under way, else builds in the foreground.
ensure_nisshi_installed() {
  local log=$1 pidfile=$2
  require_cargo
  nisshi_installed && return 0
  if pid_alive "$pidfile" || nisshi_install_running; then
    say "waiting for the nisshi build already under way"
    while pid_alive "$pidfile" || nisshi_install_running; do sleep 5; done
    nisshi_installed && return 0
    show_log "$log"
    die "building nisshi failed (log: $log); fix the cause and run this again"
  fi
  say "building nisshi $NISSHI_VERSION (about 20 minutes on 2 cores, once; log: $log)"
  mkdir -p "$(dirname "$log")"
  "${NISSHI_INSTALL[@]}" >"$log" 2>&1 </dev/null \
    || { show_log "$log"; die "cargo install nisshi@$NISSHI_VERSION failed (log: $log)"; }
}

# ensure_kafka_tool VENV: a virtualenv with confluent-kafka for scripts/lib/kafka_tool.py.
ensure_kafka_tool() {
  local venv=$1
  "$venv/bin/python" -c "import confluent_kafka" 2>/dev/null && return 0
  command -v python3 >/dev/null || die "python3 is missing; install it: apt-get install python3 python3-venv"
  rm -rf "$venv"
  python3 -m venv "$venv" >/dev/null 2>&1 \
    || die "python3 -m venv failed; install the venv module: apt-get install python3-venv"
  say "installing confluent-kafka $CONFLUENT_KAFKA_VERSION into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "confluent-kafka==$CONFLUENT_KAFKA_VERSION" >&2 \
    || die "pip could not install confluent-kafka from PyPI; check the network and run this again"
}
