# shellcheck shell=bash
# The services Tributary talks to, each run privately under a state directory and on a port of our
# own: PostgreSQL, Mosquitto and Apache Kafka. Shared by up.sh and test-stack.sh. Every ensure_* is idempotent: a service of ours that already answers is left
# alone; a port held by someone else stops the script with one clear line.
#
# Layout: STATE/<service>/ holds its pid file, config and data; STATE/logs/<service>.log its log.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/packages.sh"
# shellcheck source=kafka.sh
source "$(dirname "${BASH_SOURCE[0]}")/kafka.sh"

service_log() { echo "$1/logs/$2.log"; }

pg_bindir() {
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql; install them: apt-get install postgresql"
  echo "$dir"
}

# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user, which
# must be able to reach its data directory; a checkout under a private home directory is not
# reachable, and then the cluster lives under /tmp instead (named after the state directory).
pg_as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_dir() {
  local state=$1
  if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$state" 2>/dev/null; then
    echo "$state/postgres"
  else
    echo "${TMPDIR:-/tmp}/tributary-postgres-$(echo "$state" | sha256sum | cut -c1-12)"
  fi
}

pg_running() { [ -f "$1/data/postmaster.pid" ] && pg_as_owner "$(pg_bindir)/pg_ctl" -D "$1/data" status >/dev/null 2>&1; }

# ensure_postgres STATE PORT [PORT_VARIABLE]: a private cluster, trust auth on loopback,
# superuser `tributary`.
ensure_postgres() {
  local state=$1 port=$2 var=${3:-its port variable} dir bin log
  dir=$(pg_dir "$state")
  bin=$(pg_bindir)
  # The server writes its log as the cluster owner, so it stays beside a cluster moved to /tmp.
  if [ "$dir" = "$state/postgres" ]; then log=$(service_log "$state" postgres); else log=$dir/postgres.log; fi
  pg_running "$dir" && return 0
  port_open "$port" \
    && die "port $port is in use by another process, so PostgreSQL cannot start there; stop that process or set $var to a free port"
  mkdir -p "$dir" "$(dirname "$log")"
  touch "$log"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir" "$log"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $dir/data"
    pg_as_owner "$bin/initdb" -D "$dir/data" -U tributary --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { show_log "$dir/initdb.log"; die "initdb failed (log: $dir/initdb.log)"; }
  fi
  say "starting PostgreSQL on 127.0.0.1:$port"
  # Durability settings are off: these clusters hold development and test data only.
  pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$log" -w -t 60 \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500" \
    start >/dev/null 9>&- || { show_log "$log"; die "PostgreSQL failed to start (log: $log)"; }
}

stop_postgres() {
  local dir
  dir=$(pg_dir "$1")
  pg_running "$dir" || return 0
  say "stopping PostgreSQL"
  pg_as_owner "$(pg_bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# ensure_database URL NAME: creates database NAME on the server URL points at, when missing.
ensure_database() {
  local url=$1 name=$2
  PGCONNECT_TIMEOUT=5 psql "$url" -XAtqc "SELECT 1 FROM pg_database WHERE datname = '$name'" 2>/dev/null | grep -q 1 && return 0
  PGCONNECT_TIMEOUT=5 psql "$url" -Xqc "CREATE DATABASE \"$name\"" >/dev/null \
    || die "could not create database $name on the private PostgreSQL; see its log"
}

# require_database URL: the control plane cannot start without it, so check before starting it.
require_database() {
  PGCONNECT_TIMEOUT=5 psql "$1" -XAtqc "SELECT 1" >/dev/null 2>&1 \
    || die "PostgreSQL at DATABASE_URL is unreachable (try: psql \"\$DATABASE_URL\"); start it, fix DATABASE_URL, or unset it to use a private one"
}

# ensure_mosquitto STATE PORT [PORT_VARIABLE]: our own broker. Queues are unbounded so that a slow subscriber never
# makes the broker drop QoS 1 messages (the default caps would, and at-least-once tests see it).
ensure_mosquitto() {
  local dir=$1/mosquitto port=$2 var=${3:-its port variable} log
  log=$(service_log "$1" mosquitto)
  mkdir -p "$dir" "$(dirname "$log")"
  pid_alive "$dir/pid" && port_open "$port" && return 0
  claim_port "$port" Mosquitto "$dir/pid" "$var"
  add_sbin_to_path
  cat >"$dir/mosquitto.conf" <<CONF
# Written by scripts/lib/stack.sh.
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 0
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
CONF
  say "starting Mosquitto on 127.0.0.1:$port"
  start_background "$dir/pid" "$log" mosquitto -c "$dir/mosquitto.conf"
  wait_port "$port" Mosquitto 15 "$log" "$dir/pid"
}

stop_mosquitto() { stop_pidfile "$1/mosquitto/pid"; }

# ensure_kafka STATE PORT [PORT_VARIABLE] [plain|secure]: Apache Kafka (scripts/kafka-broker.sh)
# with its data in STATE/kafka/data, which a restart keeps. Ready once the broker says it started,
# not merely once its port accepts connections: until then metadata requests fail.
ensure_kafka() {
  local dir=$1/kafka port=$2 var=${3:-its port variable} mode=${4:-plain} log last p offset
  log=$(service_log "$1" kafka)
  mkdir -p "$dir" "$(dirname "$log")"
  pid_alive "$dir/pid" && port_open "$port" && return 0
  last=$((port + 1))
  [ "$mode" = secure ] && last=$((port + 4))
  for p in $(seq "$port" "$last"); do claim_port "$p" Kafka "$dir/pid" "$var"; done
  ensure_kafka_dist
  touch "$log"
  offset=$(wc -c <"$log")
  say "starting Apache Kafka $KAFKA_VERSION on 127.0.0.1:$port ($mode)"
  start_background "$dir/pid" "$log" "$(dirname "${BASH_SOURCE[0]}")/../kafka-broker.sh" "$dir" "$port" "$mode"
  local deadline=$((SECONDS + 120))
  while [ "$SECONDS" -lt "$deadline" ]; do
    tail -c +$((offset + 1)) "$log" | grep -q "Kafka Server started" && port_open "$port" && return 0
    pid_alive "$dir/pid" || { show_log "$log"; die "Kafka exited while starting (log: $log)"; }
    sleep 0.5
  done
  show_log "$log"
  die "Kafka did not start within 120s (log: $log)"
}

# A clean shutdown moves partition leadership and flushes logs; give it the time it needs.
stop_kafka() { stop_pidfile "$1/kafka/pid" 60; }

# Runs one of the long tools of tests/src/bin (tributary-chaos, tributary-outage) on loopback
# against services of its own: installs what they need, builds the release binaries and execs the
# tool (nice: it takes both cores), which owns every service it starts and stops them on its way
# out, so a signal to it is all the cleaning up there is.
#   run_release_tool NAME WHAT [ARGS...]
run_release_tool() {
  local name=$1 what=$2 root
  shift 2
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  for arg in "$@"; do
    case $arg in -h | --help) exec cargo run --quiet --release -p tributary-e2e --bin "$name" -- --help ;; esac
  done
  apt_install "${STACK_PACKAGES[@]}"
  add_sbin_to_path
  require_cargo
  ensure_kafka_dist
  pg_bindir >/dev/null
  say "building the release binaries (tributary-control, tributary-worker, $name)"
  (cd "$root" && cargo build --release -p tributary-control-plane -p tributary-data-plane --bins \
    && cargo build --release -p tributary-e2e --bin "$name")
  local target=${CARGO_TARGET_DIR:-$root/target}
  export TRIBUTARY_E2E_BIN_DIR=$target/release
  say "running $what (nice: it takes both cores)"
  exec nice -n 10 "$target/release/$name" "$@"
}
