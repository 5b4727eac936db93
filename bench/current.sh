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
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

need_built ds dsd ds_rpc_bench
need_tools hyperfine jq setpriv
need_pg15 initdb

# --- private root, and the user that runs everything ----------------------
dsd_pid=
pg_data=
make_root /tmp/ds-bench

cleanup() {
  local rc=$?
  set +e
  trap - INT TERM
  stop_dsd
  [[ -n $pg_data ]] && stop_cluster "$pg_data"
  rm -rf "$root"
  exit "$rc"
}
install_cleanup_traps

stage_bins ds dsd ds_rpc_bench

for d in run state config data home out pgsock pglog; do mkpriv "$root/$d" 700; done
neon_url_workspace "$root/ws"

bench_env
export DS_NO_SPAWN=1
export PGHOST=$root/pgsock PGUSER=postgres PGDATABASE=postgres
ws=$root/ws
cd "$root"

# --- dsd ------------------------------------------------------------------
log "starting dsd in $root"
start_dsd "$root/dsd.stderr"
"${as_user[@]}" ds db current -C "$ws" >&2 || die "ds db current failed"

# --- throwaway PostgreSQL 15 (the floor for "a client asks a local server") -
log "initdb + start PostgreSQL 15"
pg_data=$root/pg
start_cluster "$pg_data" "-c listen_addresses=''"

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
load_before=$(load1)
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
Machine: $(machine); load average (1 min) before the RPC runs: $load_before; date: $(utc_now)

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
