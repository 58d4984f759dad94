# shellcheck shell=bash
# Helpers every script uses: messages, ports, pid files and background processes.
# Source it from a script running with `set -euo pipefail`.

# One clear line saying what is wrong and how to fix it, then stop.
die() { echo "error: $*" >&2; exit 1; }
say() { echo "==> $*" >&2; }

# Commands that need root run through sudo when we are not root.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive PIDFILE: true when the pid file names a running process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# claim_port PORT NAME PIDFILE VARIABLE: fine when the port is free or held by our own process.
claim_port() {
  local port=$1 name=$2 pidfile=$3 var=$4
  if port_open "$port" && ! pid_alive "$pidfile"; then
    die "port $port is in use by another process, so $name cannot start there; stop that process or set $var to a free port"
  fi
}

# show_log LOGFILE: the end of a log, to explain a failure without sending anyone hunting.
show_log() { [ -n "${1:-}" ] && [ -f "$1" ] && tail -n 25 "$1" >&2; return 0; }

# wait_port PORT NAME SECONDS LOGFILE [PIDFILE]: gives up early when the process died.
wait_port() {
  local port=$1 name=$2 secs=$3 log=${4:-} pidfile=${5:-}
  local deadline=$((SECONDS + secs))
  while [ "$SECONDS" -lt "$deadline" ]; do
    port_open "$port" && return 0
    if [ -n "$pidfile" ] && ! pid_alive "$pidfile"; then
      show_log "$log"
      die "$name exited while starting (log: ${log:-none})"
    fi
    sleep 0.2
  done
  show_log "$log"
  die "$name did not start listening on 127.0.0.1:$port within ${secs}s (log: ${log:-none})"
}

# wait_healthy NAME URL SECONDS LOGFILE PIDFILE: polls an HTTP health endpoint until it answers 2xx.
wait_healthy() {
  local name=$1 url=$2 secs=$3 log=$4 pidfile=$5
  local deadline=$((SECONDS + secs))
  while [ "$SECONDS" -lt "$deadline" ]; do
    curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null && return 0
    if ! pid_alive "$pidfile"; then
      show_log "$log"
      die "$name exited while starting (log: $log)"
    fi
    sleep 0.5
  done
  show_log "$log"
  die "$name did not report healthy at $url within ${secs}s (log: $log)"
}

# lock_state DIR: one script at a time starts or stops the services of DIR; a second one waits.
# Two at once would both see a service missing, both start it, and one pid file would lie.
# The lock is fd 9, which every daemon we start must not inherit (`9>&-`): a daemon holding it
# would keep it locked for as long as it runs.
lock_state() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  flock -w 1800 9 || die "another script has held $1/.lock for 30 minutes; if none is running, delete that file"
}

# start_background PIDFILE LOGFILE COMMAND...: detached from this shell's session, so it outlives
# the script and a Ctrl-C in the terminal does not reach it.
start_background() {
  local pidfile=$1 log=$2
  shift 2
  mkdir -p "$(dirname "$pidfile")" "$(dirname "$log")"
  setsid nohup "$@" >>"$log" 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
}

# stop_pidfile PIDFILE [SECONDS]: SIGTERM (our binaries drain in-flight work on it), then SIGKILL.
stop_pidfile() {
  local pidfile=$1 secs=${2:-10}
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  local pid
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + secs))
  while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid did not stop within ${secs}s; killing it"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# random_hex BYTES: a secret from the kernel's CSPRNG.
random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
