# Shared by the bench scripts (sourced, not run): the checks before a run,
# the private root and the unprivileged user, the environment every measured
# process inherits, starting and stopping dsd and PostgreSQL, and the bits of
# the table. A script sets build_dir and test_user, sources this, and
# defines its own cleanup() before install_cleanup_traps.

pg_bin=/usr/lib/postgresql/15/bin

# log_prefix: what each progress line (on stderr) starts with.
log() { printf '%s %s\n' "${log_prefix:-[bench]}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# need_built NAME...: binaries of $build_dir the run needs.
need_built() {
  local b
  for b; do
    [[ -x $build_dir/bin/$b ]] || die "$build_dir/bin/$b is missing; run: cmake --build --preset release"
  done
}
# need_tools NAME...: commands on PATH the run needs.
need_tools() {
  local t
  for t; do command -v "$t" >/dev/null || die "$t is not installed"; done
}
# need_pg15 NAME...: PostgreSQL 15 binaries the run needs.
need_pg15() {
  local b
  for b; do [[ -x $pg_bin/$b ]] || die "PostgreSQL 15 is not installed ($pg_bin/$b)"; done
}

# warm_db Q DB: every relation of DB read into the OS page cache
# (pg_prewarm's `read` mode) through Q, the script's psql function, before
# a timed run reads DB, so that every method starts from the same OS cache
# whatever ran before it (this VM runs DAMON, which may page cold file pages
# out). A new backend still pays for mapping the pages it reads into shared
# buffers (docs/benchmarks.md, "where this VM's time goes").
warm_db() {
  "$1" -d "$2" -Atc "SET client_min_messages = warning" \
    -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
    -c "SELECT count(pg_prewarm(c.oid, 'read')) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'i', 't', 'm') AND n.nspname <> 'information_schema'" >/dev/null
}

# Sets bench_start and load_start (1/5/15 min), for the table's first lines.
bench_started() {
  bench_start=$(date +%s)
  load_start=$(cut -d' ' -f1-3 /proc/loadavg)
}
load1() { cut -d' ' -f1 /proc/loadavg; }
machine() {  # "2 CPUs, <model>, Linux <release>"
  echo "$(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r)"
}
utc_now() { date -u '+%Y-%m-%d %H:%M UTC'; }
run_time() { echo $(($(date +%s) - bench_start)); }  # seconds since bench_started

# Sets as_user (a command prefix), run_uid and run_gid: as root, everything
# runs as the unprivileged user $1 (initdb refuses root and dsd serves only
# its owner), from copies of the binaries that user can read, like the tests.
choose_run_user() {
  local user=$1
  as_user=()
  run_uid=$(id -u)
  run_gid=$(id -g)
  if [[ $(id -u) -eq 0 ]]; then
    "$(dirname "${BASH_SOURCE[0]}")/../scripts/ensure-test-user.sh" "$user"
    as_user=(setpriv "--reuid=$user" "--regid=$user" --init-groups --)
    run_uid=$(id -u "$user")
    run_gid=$(id -g "$user")
  fi
}

# make_root PREFIX: root, a new directory PREFIX-XXXXXX (keep it short:
# socket paths inside must fit in 108 bytes), and the run user of
# $test_user (choose_run_user).
make_root() {
  root=$(mktemp -d "$1-XXXXXX")
  chmod 755 "$root"
  choose_run_user "$test_user"
}

# mkpriv DIR MODE: a directory owned by the run user (after choose_run_user).
mkpriv() {
  mkdir -p "$1"
  chmod "$2" "$1"
  chown "$run_uid:$run_gid" "$1"
}

# stage_bins NAME...: bin, $root/bin holding copies of those binaries of
# $build_dir that the run user can read and run.
stage_bins() {
  bin=$root/bin
  mkdir -p "$bin"
  chmod 755 "$bin"
  local b
  for b; do install -m 755 "$build_dir/bin/$b" "$bin/"; done
}

# local_workspace DIR: a workspace on the local provider, developer "bench",
# with an empty .env.
local_workspace() {
  mkpriv "$1" 755
  printf 'provider = "local"\ndeveloper = "bench"\n' >"$1/ds.toml"
  : >"$1/.env"
  chown "$run_uid:$run_gid" "$1/ds.toml" "$1/.env"
}

# neon_url_workspace DIR: a workspace whose .env holds two Neon-shaped
# connection strings and no ds.toml, so `ds db current` resolves the URL
# alone (no provider call): what a prompt asks of an unconfigured checkout.
neon_url_workspace() {
  mkpriv "$1" 755
  cat >"$1/.env" <<'ENV'
DB_CONNECTION_STRING=postgresql://app:pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb
SOURCE_DB_CONNECTION_STRING=postgresql://app:pw@ep-still-lake-654321.us-east-2.aws.neon.tech/neondb
ENV
  chown "$run_uid:$run_gid" "$1/.env"
}

# bench_env: the environment every measured process inherits (hyperfine
# passes it on): the staged binaries and PostgreSQL 15 first on PATH, HOME
# and the XDG dirs inside $root, and nothing from the caller that would point
# ds, dsd, libpq or node elsewhere. Sets sock, dsd's socket. A script
# exports what it needs beyond this after calling it.
bench_env() {
  export PATH="$bin:$pg_bin:/usr/bin:/bin"
  export HOME=$root/home
  USER=$(id -un "$run_uid")
  export USER
  export XDG_RUNTIME_DIR=$root/run XDG_STATE_HOME=$root/xdg-state XDG_CONFIG_HOME=$root/config
  export XDG_DATA_HOME=$root/data DS_STATE_DIR=$root/state
  export LANG=C.UTF-8
  unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGSERVICEFILE PGPASSFILE \
    PGHOSTADDR PGSSLMODE DATABASE_URL DS_DSD DS_PROVIDER DS_DEVELOPER DS_STAGE \
    DS_BRANCH_PATTERN DS_BRANCH_LIMIT DS_ENV_FILE DS_TARGET_VAR DS_SOURCE_VAR DS_PROJECT \
    DS_NO_SPAWN DS_PG_BIN DS_NEON_REFRESH_SECONDS NEON_API_KEY NEON_API_HOST NEON_ORG_ID \
    NODE_OPTIONS NODE_PATH || true
  sock=$XDG_RUNTIME_DIR/ds/dsd.sock
}

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }
# stop_pid PID SECONDS: SIGTERM, wait, SIGKILL (for processes that are not
# this shell's children, e.g. the dsd that `ds daemon start` spawned).
stop_pid() {
  alive "$1" || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq $(($2 * 20))); do alive "$1" || return 0; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null
}

# start_neon_env ARGS...: bench/neon_env.py ARGS (PostgreSQL 15 and the Neon
# API doubles, started by the tests' own helpers) as the run user, in the
# background, until it prints its JSON line. Sets env_pid, env_pids (what it
# started) and envj (that line).
start_neon_env() {
  "${as_user[@]}" /usr/bin/python3 "$repo/bench/neon_env.py" "$@" \
    >"$root/out/env.json" 2>"$root/out/env.log" </dev/null &
  env_pid=$!   # setpriv execs, so this is the helper itself
  for _ in $(seq 1200); do
    [[ -s $root/out/env.json ]] && break
    alive "$env_pid" || die "neon_env.py exited: $(tail -c 2000 "$root/out/env.log")"
    sleep 0.1
  done
  [[ -s $root/out/env.json ]] || die "neon_env.py did not start within 120 s"
  envj=$(head -n1 "$root/out/env.json")
  mapfile -t env_pids < <(jq -r '.pids[]' <<<"$envj")
}

# stop_neon_env: neon_env.py stops its doubles and the cluster on SIGTERM;
# whatever is left after that (it was killed) is stopped by pid.
stop_neon_env() {
  if alive "$env_pid"; then
    kill -TERM "$env_pid"
    for _ in $(seq 600); do alive "$env_pid" || break; sleep 0.05; done
    alive "$env_pid" && kill -KILL "$env_pid"
  fi
  [[ -n $env_pid ]] && wait "$env_pid" 2>/dev/null
  local p
  for p in "${env_pids[@]}"; do stop_pid "$p" 5; done
  return 0
}

# start_dsd LOG: dsd in the foreground as the run user, its output appended
# to LOG; returns once its socket is there. Sets dsd_pid.
start_dsd() {
  "${as_user[@]}" "$bin/dsd" --foreground >>"$1" 2>&1 </dev/null &
  dsd_pid=$!   # setpriv execs, so this is dsd itself
  for _ in $(seq 500); do
    [[ -S $sock ]] && return 0
    kill -0 "$dsd_pid" 2>/dev/null || die "dsd exited early: $(tail -5 "$1")"
    sleep 0.02
  done
  die "dsd did not create $sock within 10 s"
}

# stop_dsd [SECONDS]: stops $dsd_pid the way a user does (`ds daemon stop`,
# given SECONDS, default 30; dsd stops its PostgreSQL before it exits), then
# SIGTERM and SIGKILL if it is still there.
stop_dsd() {
  [[ -n $dsd_pid ]] || return 0
  if alive "$dsd_pid"; then
    timeout "${1:-30}" "${as_user[@]}" ds daemon stop >/dev/null 2>&1 || log "ds daemon stop failed"
    for _ in $(seq 200); do alive "$dsd_pid" || break; sleep 0.05; done
    alive "$dsd_pid" && log "dsd (pid $dsd_pid) still running; sending SIGTERM"
    stop_pid "$dsd_pid" 10
  fi
  wait "$dsd_pid" 2>/dev/null || true
  dsd_pid=
}

# start_cluster DATA OPTIONS: a throwaway PostgreSQL 15 cluster in DATA
# (user postgres, trust, fsync=off, its socket in $root/pgsock, its log in
# $root/pglog), started with the server OPTIONS given (where to listen).
start_cluster() {
  mkpriv "$1" 700
  mkpriv "$root/pgsock" 700
  mkpriv "$root/pglog" 700
  "${as_user[@]}" "$pg_bin/initdb" -D "$1" -U postgres -A trust --no-sync \
    >"$root/initdb.log" 2>&1 || die "initdb failed: $(tail -5 "$root/initdb.log")"
  "${as_user[@]}" "$pg_bin/pg_ctl" -D "$1" -l "$root/pglog/pg.log" -w -t 30 \
    -o "$2 -k $root/pgsock -c fsync=off" start >/dev/null ||
    die "PostgreSQL did not start: $(tail -5 "$root/pglog/pg.log")"
}

# stop_cluster DATA: stops a cluster that is still running (for cleanup(): dsd
# killed, or `ds daemon stop` failed), by its pid if pg_ctl cannot.
stop_cluster() {
  local pid_file=$1/postmaster.pid pg_pid
  [[ -f $pid_file ]] || return 0
  "${as_user[@]}" "$pg_bin/pg_ctl" -D "$1" -m immediate -w -t 10 stop >/dev/null 2>&1
  if [[ -f $pid_file ]]; then
    pg_pid=$(head -n1 "$pid_file" 2>/dev/null)
    [[ $pg_pid =~ ^[0-9]+$ ]] && kill -KILL "$pg_pid" 2>/dev/null
  fi
  return 0
}

# free_port: a TCP port of 127.0.0.1 that nothing listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs the script's cleanup() on every exit, Ctrl-C and SIGTERM included.
install_cleanup_traps() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# For the table.
le() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x <= y) }'; }  # x <= y
verdict() { if "$@"; then echo "met"; else echo "**not met**"; fi; }  # verdict le X Y
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
