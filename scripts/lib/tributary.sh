# shellcheck shell=bash
# Building and running Tributary's own binaries (control plane and workers) as background services
# with pid files, so that scripts/up.sh can run again without disturbing what already runs.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# build_release ROOT: the two binaries, in the workspace's shared target directory.
build_release() {
  say "building the release binaries (cargo's progress follows)"
  (cd "$1" && cargo build --release --bins -p tributary-control-plane -p tributary-data-plane >&2) \
    || die "building Tributary failed; see cargo's errors above"
}

# service_stamp BINARY SETTING...: changes whenever the binary is rebuilt or a setting changes,
# so an unchanged service is left running and a changed one is restarted.
service_stamp() {
  local bin=$1
  shift
  { sha256sum "$bin" | cut -d' ' -f1; printf '%s\n' "$@"; } | sha256sum | cut -d' ' -f1
}

# ensure_service NAME RUN_DIR LOG "PORT:VARIABLE ..." BINARY VAR=VALUE...
# Starts BINARY with exactly those environment settings (secrets travel in the environment, never
# on a command line that `ps` shows). A copy already running with the same binary and settings is
# left alone; one with an older binary or other settings is stopped (SIGTERM: it drains) first.
ensure_service() {
  local name=$1 run=$2 log=$3 ports=$4 bin=$5
  shift 5
  local pidfile=$run/$name.pid stampfile=$run/$name.stamp stamp
  [ -x "$bin" ] || die "$bin is missing; the build did not produce it"
  stamp=$(service_stamp "$bin" "$@")
  if pid_alive "$pidfile"; then
    if [ "$(cat "$stampfile" 2>/dev/null)" = "$stamp" ]; then
      say "$name is already running (pid $(cat "$pidfile")), unchanged"
      return 0
    fi
    say "restarting $name: its binary or settings changed"
    stop_pidfile "$pidfile" 30
  fi
  local entry
  for entry in $ports; do
    port_open "${entry%%:*}" \
      && die "port ${entry%%:*} is in use by another process, so $name cannot start there; stop that process or set ${entry#*:} to a free port"
  done
  mkdir -p "$run" "$(dirname "$log")"
  say "starting $name (log: $log)"
  (
    for setting in "$@"; do export "${setting?}"; done
    exec setsid nohup "$bin" >>"$log" 2>&1 </dev/null 9>&-
  ) &
  echo $! >"$pidfile"
  echo "$stamp" >"$stampfile"
}

stop_service() { stop_pidfile "$1/$2.pid" 30; rm -f "$1/$2.stamp"; }
