#!/usr/bin/env bash
# Benchmarks the "spine": `ds db current` end to end and dsd's GetCurrent RPC,
# side by side with floors and with what users run today. One run; prints a
# markdown table on stdout (progress goes to stderr) and writes nothing else:
# copy the table into docs/benchmarks.md by hand.
#
# Usage: cmake --build --preset release && bench/current.sh
#
# Environment:
#   BUILD_DIR     build tree whose bin/ holds ds, dsd, ds_rpc_bench
#                 (default build/release, relative to the repository)
#   DS_PEERS_DIR  directory whose node_modules holds neonctl (default tests/peers)
#   DS_TEST_USER  user that runs dsd, ds, psql and postgres when run as root
#                 (default ds-test; created if missing)
#
# Everything runs in a private temp root that is removed on exit, talks only
# to Unix sockets inside it, and takes well under three minutes.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-build/release}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
peers_dir=${DS_PEERS_DIR:-tests/peers}
[[ $peers_dir == /* ]] || peers_dir=$repo/$peers_dir
test_user=${DS_TEST_USER:-ds-test}
pg_bin=/usr/lib/postgresql/15/bin

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for b in ds dsd ds_rpc_bench; do
  [[ -x $build_dir/bin/$b ]] || die "$build_dir/bin/$b is missing; run: cmake --build --preset release"
done
for t in hyperfine jq setpriv; do
  command -v "$t" >/dev/null || die "$t is not installed"
done
[[ -x $pg_bin/initdb ]] || die "PostgreSQL 15 is not installed ($pg_bin/initdb)"

# --- private root, and the user that runs everything ----------------------
dsd_pid=
pg_data=
root=$(mktemp -d /tmp/ds-bench-XXXXXX)   # short: a socket path must fit in 108 bytes
chmod 755 "$root"

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
choose_run_user "$test_user"

cleanup() {
  local rc=$?
  set +e
  if [[ -n $dsd_pid ]] && kill -0 "$dsd_pid" 2>/dev/null; then
    kill -TERM "$dsd_pid"
    for _ in $(seq 100); do kill -0 "$dsd_pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$dsd_pid" 2>/dev/null
    wait "$dsd_pid" 2>/dev/null
  fi
  if [[ -n $pg_data && -f $pg_data/postmaster.pid ]]; then
    "${as_user[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w -t 10 stop >/dev/null 2>&1
    if [[ -f $pg_data/postmaster.pid ]]; then
      local pg_pid
      pg_pid=$(head -n1 "$pg_data/postmaster.pid")
      [[ $pg_pid =~ ^[0-9]+$ ]] && kill -KILL "$pg_pid" 2>/dev/null
    fi
  fi
  rm -rf "$root"
  exit "$rc"
}
install_cleanup_traps

bin=$root/bin
mkdir -p "$bin"
chmod 755 "$bin"
install -m 755 "$build_dir/bin/ds" "$build_dir/bin/dsd" "$build_dir/bin/ds_rpc_bench" "$bin/"

for d in run state config data home out pgsock pglog; do mkpriv "$root/$d" 700; done
mkpriv "$root/ws" 755
cat >"$root/ws/.env" <<'EOF'
DB_CONNECTION_STRING=postgresql://app:pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb
SOURCE_DB_CONNECTION_STRING=postgresql://app:pw@ep-still-lake-654321.us-east-2.aws.neon.tech/neondb
EOF
chown "$run_uid:$run_gid" "$root/ws/.env"

# The environment every measured process inherits (hyperfine passes it on).
export PATH="$bin:$pg_bin:/usr/bin:/bin"
export HOME=$root/home
USER=$(id -un "$run_uid")
export USER
export XDG_RUNTIME_DIR=$root/run
export XDG_STATE_HOME=$root/xdg-state
export XDG_CONFIG_HOME=$root/config
export XDG_DATA_HOME=$root/data
export DS_STATE_DIR=$root/state
export DS_NO_SPAWN=1
export LANG=C.UTF-8
export PGHOST=$root/pgsock PGUSER=postgres PGDATABASE=postgres
unset PGPASSWORD PGSERVICE PGPORT DS_DSD || true
ws=$root/ws
sock=$XDG_RUNTIME_DIR/ds/dsd.sock
cd "$root"

# --- dsd ------------------------------------------------------------------
log "starting dsd in $root"
"${as_user[@]}" "$bin/dsd" --foreground >"$root/dsd.stderr" 2>&1 </dev/null &
dsd_pid=$!   # setpriv execs, so this is dsd itself
for _ in $(seq 500); do
  [[ -S $sock ]] && break
  kill -0 "$dsd_pid" 2>/dev/null || die "dsd exited early: $(cat "$root/dsd.stderr")"
  sleep 0.02
done
[[ -S $sock ]] || die "dsd did not create $sock within 10 s"
"${as_user[@]}" ds db current -C "$ws" >&2 || die "ds db current failed"

# --- throwaway PostgreSQL 15 (the floor for "a client asks a local server") -
log "initdb + start PostgreSQL 15"
pg_data=$root/pg
mkpriv "$pg_data" 700
"${as_user[@]}" "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust --no-sync \
  >"$root/initdb.log" 2>&1 || die "initdb failed: $(tail -5 "$root/initdb.log")"
"${as_user[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$root/pglog/pg.log" -w -t 30 \
  -o "-c listen_addresses='' -k $root/pgsock -c fsync=off" start >/dev/null ||
  die "PostgreSQL did not start: $(tail -5 "$root/pglog/pg.log")"

# --- end-to-end timings ---------------------------------------------------
# hyperfine itself runs as the run user, so no setpriv is inside a timing.
# median_ms NAME RUNS COMMAND: prints the median wall time in ms.
median_ms() {
  local name=$1 runs=$2 cmd=$3 out=$root/out/$1.json
  log "hyperfine: $cmd"
  timeout --foreground 120 "${as_user[@]}" hyperfine -N --warmup 5 --runs "$runs" --style basic \
    --export-json "$out" --command-name "$name" "$cmd" >&2 ||
    die "hyperfine failed for: $cmd"
  jq -r '.results[0].median * 1000' "$out"
}

ds_ms=$(median_ms ds_current 50 "ds db current -C $ws")
# The prompt form: the same GetCurrent, one line out; must cost the same.
format_ms=$(median_ms ds_current_format 50 "ds db current -C $ws --format {branch}@{provider}")
# Debian's /usr/bin/psql is a Perl wrapper; the real binary is the floor.
psql_ms=$(median_ms psql 50 "psql -X -c 'select 1'")
true_ms=$(median_ms true 50 "/bin/true")
neonctl=$peers_dir/node_modules/.bin/neonctl
if [[ -x $neonctl ]] && "${as_user[@]}" test -x "$neonctl"; then
  neon_ms=$(median_ms neonctl 10 "$neonctl --help")
else
  neon_ms=
  log "skipping neonctl: $neonctl is missing (npm ci in $peers_dir)"
fi

# --- GetCurrent RPC -------------------------------------------------------
rpc() {  # rpc CLIENTS: ds_rpc_bench JSON
  log "ds_rpc_bench --clients $1 --seconds 5"
  timeout --foreground 60 "${as_user[@]}" ds_rpc_bench --socket "$sock" --workspace "$ws" \
    --clients "$1" --seconds 5 || die "ds_rpc_bench --clients $1 failed"
}
# dsd's CPU time (utime + stime, in clock ticks) from /proc: with the call
# counts it gives the daemon's CPU cost per call, which bounds throughput.
dsd_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$dsd_pid/stat"; }
load_before=$(cut -d' ' -f1 /proc/loadavg)
t0=$(dsd_ticks)
rpc1=$(rpc 1)
t1=$(dsd_ticks)
rpc16=$(rpc 16)
t2=$(dsd_ticks)
hz=$(getconf CLK_TCK)
log "1 client:   $rpc1"
log "16 clients: $rpc16"

# --- idle RSS -------------------------------------------------------------
sleep 2
kill -0 "$dsd_pid" 2>/dev/null || die "dsd died during the run: $(tail -5 "$root/dsd.stderr")"
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$dsd_pid/status")

# --- table ----------------------------------------------------------------
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
f0() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
le() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x <= y) }'; }  # x <= y
verdict() { if "$@"; then echo "met"; else echo "**not met**"; fi; }
j() { jq -r "$2" <<<"$1"; }

cpu_per_call() {  # cpu_per_call TICKS CALLS: µs of dsd CPU per call
  awk -v t="$1" -v c="$2" -v hz="$hz" 'BEGIN { printf "%.0f", (c > 0 ? t * 1e6 / hz / c : 0) }'
}
rss_mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
p50_1=$(j "$rpc1" .p50_us); p99_1=$(j "$rpc1" .p99_us); rps_1=$(j "$rpc1" .throughput_rps)
p50_16=$(j "$rpc16" .p50_us); p99_16=$(j "$rpc16" .p99_us); rps_16=$(j "$rpc16" .throughput_rps)
cpu_1=$(cpu_per_call $((t1 - t0)) "$(j "$rpc1" .calls)")
cpu_16=$(cpu_per_call $((t2 - t1)) "$(j "$rpc16" .calls)")
if [[ -n $neon_ms ]]; then
  neon_cell="\`neonctl --help\` (what users run today): $(f0 "$neon_ms") ms"
else
  neon_cell="\`neonctl --help\`: skipped, neonctl not installed"
fi

cat <<EOF
Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r); load average (1 min) before the RPC runs: $load_before; date: $(date -u '+%Y-%m-%d %H:%M UTC')

| metric | ds | comparison | target |
|---|---|---|---|
| \`ds db current\`, warm daemon, median of 50 | $(f1 "$ds_ms") ms | $neon_cell | ≤ 15 ms: $(verdict le "$ds_ms" 15) |
| \`ds db current --format '{branch}@{provider}'\` (prompts), median of 50 | $(f1 "$format_ms") ms | \`ds db current\`: $(f1 "$ds_ms") ms | same cost |
| | | \`psql -X -c 'select 1'\`, local PostgreSQL 15 over a Unix socket (floor): $(f1 "$psql_ms") ms | |
| | | \`/bin/true\` (process start-up floor): $(f1 "$true_ms") ms | |
| GetCurrent p50 / p99, 1 client | $(f0 "$p50_1") µs / $(f0 "$p99_1") µs | | p50 ≤ 150 µs: $(verdict le "$p50_1" 150) |
| GetCurrent throughput, 1 client | $(f0 "$rps_1") req/s | dsd CPU per call: $cpu_1 µs | |
| GetCurrent p50 / p99, 16 clients | $(f0 "$p50_16") µs / $(f0 "$p99_16") µs | | |
| GetCurrent throughput, 16 clients | $(f0 "$rps_16") req/s | dsd CPU per call: $cpu_16 µs | ≥ 20,000 req/s: $(verdict le 20000 "$rps_16") |
| dsd idle RSS (VmRSS, 2 s after the runs) | $rss_mb MiB | | ≤ 20 MB: $(verdict le "$rss_mb" 20) |
EOF
