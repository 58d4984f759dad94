# shellcheck shell=bash disable=SC2034 # the package lists are read by the scripts sourcing this
# Installing what the scripts need: Debian packages, the Rust toolchain check and the Python
# virtualenv of the Kafka tool. Apache Kafka's jars: kafka.sh.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The services the tests and the local system run.
STACK_PACKAGES=(postgresql mosquitto curl openssl)
# What building the workspace needs (rdkafka builds its bundled librdkafka with these).
BUILD_PACKAGES=(build-essential pkg-config libssl-dev zlib1g-dev python3)
# What scripts/up.sh needs on top: MQTT clients for the demo and a virtualenv for the Kafka tool.
DEMO_PACKAGES=(mosquitto-clients python3-venv)

CONFLUENT_KAFKA_VERSION=2.16.1
OPENMETRICS_PARSER_VERSION=0.21.1

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

# ensure_openmetrics_parser VENV: a virtualenv with prometheus-client, whose OpenMetrics parser
# tests/tests/grafana_dashboard.rs runs over the live /metrics texts.
ensure_openmetrics_parser() {
  local venv=$1
  "$venv/bin/python" -c "import prometheus_client.openmetrics.parser" 2>/dev/null && return 0
  command -v python3 >/dev/null || die "python3 is missing; install it: apt-get install python3 python3-venv"
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
  rm -rf "$venv"
  python3 -m venv "$venv" >/dev/null 2>&1 \
    || die "python3 -m venv failed; install the venv module: apt-get install python3-venv"
  say "installing prometheus-client $OPENMETRICS_PARSER_VERSION into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "prometheus-client==$OPENMETRICS_PARSER_VERSION" >&2 \
    || die "pip could not install prometheus-client from PyPI; check the network and run this again"
}
