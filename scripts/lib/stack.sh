# Shared by up.sh and test-stack.sh: start the services Tributary talks to, each under a state
# directory of our own, on ports of our own. Every function is idempotent: a service of ours that
# already answers is left alone; a port held by someone else stops the script with one clear line.
#
# Source it; it expects `set -euo pipefail`.

die() { echo "error: $*" >&2; exit 1; }
say() { echo "==> $*" >&2; }

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port PORT NAME SECONDS LOGFILE
wait_port() {
  local port=$1 name=$2 secs=$3 log=${4:-}
  for _ in $(seq 1 $((secs * 5))); do
    port_open "$port" && return 0
    sleep 0.2
  done
  [ -n "$log" ] && [ -f "$log" ] && tail -n 20 "$log" >&2
  die "$name did not start listening on 127.0.0.1:$port within ${secs}s (log: ${log:-none})"
}

# pid_alive PIDFILE: true when the pid file names a running process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# claim_port PORT NAME PIDFILE ENVVAR: ok when the port is free or held by our own process.
claim_port() {
  local port=$1 name=$2 pidfile=$3 var=$4
  if port_open "$port" && ! pid_alive "$pidfile"; then
    die "port $port is in use by another process, so $name cannot start there; free it or set $var to another port"
  fi
}

apt_install() {
  # apt_install PKG...: installs the Debian packages that are missing.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them; install them by hand"
  say "installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null || die "apt-get update failed; check the network or install ${missing[*]} by hand"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get could not install ${missing[*]}; install them by hand"
}

# The Debian packages the stack and the build need.
ensure_packages() {
  apt_install postgresql mosquitto mosquitto-clients build-essential pkg-config libssl-dev zlib1g-dev python3 curl
}

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql; install the postgresql package"
  echo "$dir"
}

# ensure_postgres STATE_DIR PORT: a private cluster (trust auth on loopback, superuser `tributary`).
ensure_postgres() {
  local dir=$1/postgres port=$2 bin
  bin=$(pg_bindir)
  local runas=()
  [ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
  if [ -f "$dir/data/postmaster.pid" ] && "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    return 0
  fi
  if port_open "$port"; then
    die "port $port is in use by another process, so PostgreSQL cannot start there; free it or choose another port"
  fi
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $dir/data"
    "${runas[@]}" "$bin/initdb" -D "$dir/data" -U tributary --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed (log: $dir/initdb.log)"; }
  fi
  say "starting PostgreSQL on 127.0.0.1:$port"
  "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500" \
    start >/dev/null || { tail -n 20 "$dir/postgres.log" >&2; die "PostgreSQL failed to start (log: $dir/postgres.log)"; }
}

stop_postgres() {
  local dir=$1/postgres bin
  [ -f "$dir/data/postmaster.pid" ] || return 0
  bin=$(pg_bindir)
  local runas=()
  [ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
  "${runas[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
}

# ensure_mosquitto STATE_DIR PORT: our own broker, queues large enough not to drop QoS 1 messages.
ensure_mosquitto() {
  local dir=$1/mosquitto port=$2
  mkdir -p "$dir"
  pid_alive "$dir/pid" && port_open "$port" && return 0
  claim_port "$port" Mosquitto "$dir/pid" "the port variable"
  command -v mosquitto >/dev/null || PATH="$PATH:/usr/sbin"
  cat >"$dir/mosquitto.conf" <<CONF
# Written by scripts/lib/stack.sh. Queues are sized so slow subscribers do not lose QoS 1 messages.
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
  nohup mosquitto -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_port "$port" Mosquitto 15 "$dir/mosquitto.log"
}

stop_pidfile() {
  local pidfile=$1
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  local pid; pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

NISSHI_VERSION=0.7.0-pre.2

# ensure_nisshi_installed: the Kafka-compatible broker, built from crates.io when absent (~20 min cold).
ensure_nisshi_installed() {
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v nisshi >/dev/null && return 0
  # Another install (a parallel up.sh or test.sh) is already building it: wait rather than race.
  if pgrep -f "cargo install nisshi" >/dev/null; then
    say "waiting for the nisshi install already under way"
    while pgrep -f "cargo install nisshi" >/dev/null; do sleep 5; done
    command -v nisshi >/dev/null && return 0
  fi
  command -v cargo >/dev/null || die "cargo not found; install Rust (rustup) first"
  say "installing nisshi $NISSHI_VERSION with cargo (about 20 minutes on 2 cores, once)"
  cargo install "nisshi@$NISSHI_VERSION" --locked --no-default-features --features dynostore >&2 \
    || die "cargo install nisshi failed; see the output above"
}

# ensure_nisshi STATE_DIR PORT: an in-memory Kafka-compatible broker on loopback.
ensure_nisshi() {
  local dir=$1/nisshi port=$2
  mkdir -p "$dir"
  pid_alive "$dir/pid" && port_open "$port" && return 0
  claim_port "$port" nisshi "$dir/pid" "the port variable"
  ensure_nisshi_installed
  say "starting nisshi (Kafka protocol) on 127.0.0.1:$port"
  nohup nisshi broker --storage-engine memory://nisshi/ \
    --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    >"$dir/nisshi.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_port "$port" nisshi 30 "$dir/nisshi.log"
}
