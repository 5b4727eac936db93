#!/usr/bin/env bash
# Benchmarks the local provider: `ds setup` on an empty data dir (cluster
# creation included), `ds db create-branch` of a large `main` next to
# `pg_dump | pg_restore` of the same data, and `ds db branches` with a warm
# daemon. One run; prints a markdown table on stdout (progress goes to
# stderr) and writes nothing else: copy the table into docs/benchmarks.md by
# hand.
#
# Usage: cmake --build --preset release --target ds dsd && bench/branches.sh
#
# Environment:
#   BUILD_DIR      build tree whose bin/ holds ds and dsd
#                  (default build/release, relative to the repository)
#   BENCH_MAIN_MB  target size of `main` in MiB (default 1024; e.g. 100 for a
#                  quick run)
#   DS_TEST_USER   user that runs dsd, ds, psql and postgres when run as root
#                  (default ds-test; created if missing)
#
# Everything runs in a private temp root that is removed on exit. The only
# servers it talks to are the local clusters dsd creates there (Unix socket
# in the temp root, TCP on 127.0.0.1). At the default size it takes two to
# four minutes on a busy 2-CPU VM (load 3-10); every step has a timeout.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-build/release}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
test_user=${DS_TEST_USER:-ds-test}
main_mb=${BENCH_MAIN_MB:-1024}
runs=3
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

[[ $main_mb =~ ^[1-9][0-9]*$ ]] || die "BENCH_MAIN_MB must be a positive integer (MiB)"
need_built ds dsd
need_tools hyperfine jq setpriv timeout
need_pg15 initdb pg_ctl postgres psql pg_dump pg_restore

bench_started

# --- private root, and the user that runs everything ----------------------
dsd_pid=
make_root /tmp/ds-bb

cleanup() {
  local rc=$?
  set +e
  trap - INT TERM
  stop_dsd 90
  # Any server still running (dsd killed, or `ds daemon stop` failed).
  local data
  for data in "$root"/data*/ds/pg; do stop_cluster "$data"; done
  rm -rf "$root"
  exit "$rc"
}
install_cleanup_traps

stage_bins ds dsd
for d in run state config home out; do mkpriv "$root/$d" 700; done

bench_env
export DS_NO_SPAWN=1
export DS_PG_BIN=$pg_bin   # PostgreSQL 15 even if a newer one is installed
cd "$root"

# start_dsd_on DATA_HOME: a fresh dsd whose local cluster lives under DATA_HOME.
start_dsd_on() {
  export XDG_DATA_HOME=$1
  mkpriv "$XDG_DATA_HOME" 700
  rm -f "$sock"
  start_dsd "$root/dsd.stderr"
}

# timed SECONDS CMD...: runs CMD as the run user, its output to stderr, and
# prints its wall time in seconds. The clock runs in a shell of the run user,
# so setpriv is outside the timing.
timed() {
  local limit=$1
  shift
  local t
  # shellcheck disable=SC2016  # expanded by the inner shell
  t=$(timeout --foreground "$limit" "${as_user[@]}" bash -c \
    's=$EPOCHREALTIME; "$@" >&2; rc=$?; e=$EPOCHREALTIME; echo "$s $e"; exit $rc' _ "$@") ||
    die "failed or timed out after $limit s: ${*:1:3}"
  awk '{ printf "%.3f", $2 - $1 }' <<<"$t"
}

envvar() {  # envvar FILE NAME: a value from a .env file
  sed -n "s/^$2=//p" "$1" | tail -n1 | sed "s/^['\"]//; s/['\"]\$//"
}
# since A B: seconds from dsd's log line containing A to the one containing B
# (the last of each: dsd.stderr collects every run).
since() {
  local a b
  a=$(grep -F "$1" "$root/dsd.stderr" | tail -n1 | cut -d' ' -f1)
  b=$(grep -F "$2" "$root/dsd.stderr" | tail -n1 | cut -d' ' -f1)
  [[ -n $a && -n $b ]] || { echo 0; return; }
  awk -v a="$(date -d "$a" +%s.%N)" -v b="$(date -d "$b" +%s.%N)" 'BEGIN { printf "%.3f", b - a }'
}

# --- 1. ds setup on an empty data dir -------------------------------------
setup_s=()
setup_init_s=()   # initdb + syncfs + pg_ctl start
setup_rest_s=()   # roles, main, metadata, then the template copy of main
setup_ckpt_s=()   # of which the checkpoint before that copy
load_setup=$(load1)
for i in $(seq "$runs"); do
  start_dsd_on "$root/data-setup-$i"
  ws=$root/ws-setup-$i
  local_workspace "$ws"
  log "setup run $i: ds setup on an empty data dir"
  t=$(timed 120 ds setup -C "$ws")
  setup_s+=("$t")
  log "  ${setup_s[-1]} s"
  grep -q '^DB_CONNECTION_STRING=postgresql://' "$ws/.env" ||
    die "ds setup did not write DB_CONNECTION_STRING into $ws/.env"
  setup_init_s+=("$(since "creating the local PostgreSQL cluster" "local PostgreSQL started")")
  setup_rest_s+=("$(since "local PostgreSQL started" "created branch dev-bench-local")")
  setup_ckpt_s+=("$(grep -m1 -o 'checkpoint complete: .* total=[0-9.]* s' \
    "$XDG_DATA_HOME/ds/pg.log" | sed 's/.*total=\([0-9.]*\) s/\1/')")
  stop_dsd 90
  [[ ! -f $XDG_DATA_HOME/ds/pg/postmaster.pid ]] ||
    die "PostgreSQL still running after ds daemon stop ($XDG_DATA_HOME/ds/pg)"
  rm -rf "$XDG_DATA_HOME"
done

# --- 2. a branch of a large main: ds versus pg_dump | pg_restore ----------
start_dsd_on "$root/data"
ws=$root/ws
local_workspace "$ws"
log "setting up the cluster for the branch runs"
timeout 120 "${as_user[@]}" ds setup -C "$ws" >&2 || die "ds setup failed"
timeout 60 "${as_user[@]}" ds db set source-db --branch main -C "$ws" >&2 ||
  die "ds db set source-db failed"
main_uri=$(envvar "$ws/.env" SOURCE_DB_CONNECTION_STRING)
[[ $main_uri =~ ^postgresql://[^@]+@127\.0\.0\.1:[0-9]+/main$ ]] ||
  die "SOURCE_DB_CONNECTION_STRING is not a loopback URI to main"
# Each branch has its own role, which may create no database: the
# pg_dump | pg_restore side and the checks run as the cluster's superuser
# (the password dsd keeps in the data dir), over the same 127.0.0.1.
port=${main_uri##*:}
port=${port%%/*}
base_uri="postgresql://ds_superuser:$(cat "$root/data/ds/pg.superuser")@127.0.0.1:$port"
psql_user() {  # psql_user DB SQL: as the superuser over 127.0.0.1; prints the result
  timeout 900 "${as_user[@]}" psql -X -At -q -v ON_ERROR_STOP=1 "$base_uri/$1" -c "$2"
}

# ~298 bytes a row: 30 heap tuples of 36 + 233 bytes a page (8 KiB), the
# primary key, the free space map. Calibrated on PostgreSQL 15 (1024 MiB
# asked, 1051 MiB got at 290); the table reports the real size.
rows=$(( main_mb * 1024 * 1024 / 298 ))
log "filling main with $rows rows (~$main_mb MiB)"
fill_s=$(timed 900 psql -X -q -v ON_ERROR_STOP=1 "$main_uri" \
  -c "create table big as select g as id, md5(g::text) || repeat('x', 200) as payload
      from generate_series(1, $rows) g" \
  -c "alter table big add primary key (id)" \
  -c "vacuum (analyze) big")
main_bytes=$(psql_user main "select pg_database_size('main')")
main_mib=$(awk -v b="$main_bytes" 'BEGIN { printf "%.0f", b / 1048576 }')
log "main: $main_mib MiB after $fill_s s"

# An untimed copy first: its checkpoint writes out the freshly loaded main,
# as it would have been long ago for a real main.
log "warm-up: ds db create-branch bench-warmup (untimed)"
warm_s=$(timed 900 ds db create-branch bench-warmup -C "$ws")
log "  $warm_s s"
timeout 600 "${as_user[@]}" ds db delete-branch bench-warmup --yes -C "$ws" >&2 ||
  die "ds db delete-branch bench-warmup failed"

# The alternative: an empty database, then pg_dump -Fc main | pg_restore.
# shellcheck disable=SC2016  # expanded by the inner shell
dump_restore='set -o pipefail
  psql -X -q -v ON_ERROR_STOP=1 "$1/postgres" -c "create database \"$2\"" &&
  pg_dump -Fc "$1/main" | pg_restore --exit-on-error --no-owner -d "$1/$2"'

# Alternate the two so that a change in the machine's load hits both.
ds_s=()
dump_s=()
load_branch=$(load1)
for i in $(seq "$runs"); do
  log "branch run $i: ds db create-branch bench-ds-$i"
  t=$(timed 900 ds db create-branch "bench-ds-$i" -C "$ws")
  ds_s+=("$t")
  log "  ${ds_s[-1]} s"
  n=$(psql_user "bench-ds-$i" "select count(*) from big")
  [[ $n == "$rows" ]] || die "branch bench-ds-$i has $n rows, not $rows"
  timeout 600 "${as_user[@]}" ds db delete-branch "bench-ds-$i" --yes -C "$ws" >&2 ||
    die "ds db delete-branch bench-ds-$i failed"

  log "branch run $i: create database bench_restore_$i + pg_dump -Fc main | pg_restore"
  t=$(timed 900 bash -c "$dump_restore" _ "$base_uri" "bench_restore_$i")
  dump_s+=("$t")
  log "  ${dump_s[-1]} s"
  n=$(psql_user "bench_restore_$i" "select count(*) from big")
  [[ $n == "$rows" ]] || die "bench_restore_$i has $n rows, not $rows"
  psql_user postgres "drop database \"bench_restore_$i\"" >&2
done

# --- 3. ds db branches, warm daemon ---------------------------------------
# median_ms NAME COMMAND: hyperfine's median wall time in ms. hyperfine runs
# as the run user, so no setpriv is inside a timing.
median_ms() {
  local name=$1 cmd=$2 out=$root/out/$1.json
  log "hyperfine: $cmd"
  timeout --foreground 300 "${as_user[@]}" hyperfine -N --warmup 5 --runs 50 --style basic \
    --export-json "$out" --command-name "$name" "$cmd" >&2 ||
    die "hyperfine failed for: $cmd"
  jq -r '.results[0].median * 1000' "$out"
}
load_list=$(load1)
timeout 60 "${as_user[@]}" ds db branches -C "$ws" >&2 || die "ds db branches failed"
nbranches=$(timeout 60 "${as_user[@]}" ds db branches --json -C "$ws" | jq '.branches | length')
list_ms=$(median_ms ds_branches "ds db branches -C $ws")
current_ms=$(median_ms ds_current "ds db current -C $ws")
true_ms=$(median_ms true /bin/true)

stop_dsd 90
[[ ! -f $XDG_DATA_HOME/ds/pg/postmaster.pid ]] ||
  die "PostgreSQL still running after ds daemon stop"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- table ----------------------------------------------------------------
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
f2() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }
each() {  # each X...: "1.0 / 2.0 / 3.0"
  local out="" v
  for v in "$@"; do out+="${out:+ / }$(f1 "$v")"; done
  echo "$out"
}

setup_med=$(median "${setup_s[@]}")
ds_med=$(median "${ds_s[@]}")
dump_med=$(median "${dump_s[@]}")
ratio=$(awk -v a="$ds_med" -v b="$dump_med" 'BEGIN { printf "%.3f", a / b }')

cat <<EOF
Machine: $(machine); date: $(utc_now); run time: $(run_time) s
Load average (1/5/15 min) at the start: $load_start; at the end: $load_end. 1-min load when each section began: setup $load_setup, branches $load_branch, listing $load_list.
\`main\`: $main_mib MiB (\`pg_database_size\`, BENCH_MAIN_MB=$main_mb: $rows rows + primary key), filled in $(f1 "$fill_s") s; untimed warm-up \`ds db create-branch\`: $(f1 "$warm_s") s.

| metric | ds | comparison | target |
|---|---|---|---|
| \`ds setup\` on an empty data dir (initdb, start, bootstrap, branch, .env), fresh dsd, median of $runs | $(f1 "$setup_med") s (runs: $(each "${setup_s[@]}") s) | | ≤ 5 s: $(verdict le "$setup_med" 5) |
| branch of a $main_mib MiB \`main\`: \`ds db create-branch\`, median of $runs | $(f1 "$ds_med") s (runs: $(each "${ds_s[@]}") s) | \`create database\` + \`pg_dump -Fc main \\| pg_restore\`, median of $runs: $(f1 "$dump_med") s (runs: $(each "${dump_s[@]}") s) | ds ≤ 0.2 × dump/restore: $(verdict le "$ratio" 0.2) (ratio $(f2 "$ratio")) |
| \`ds db branches\` ($nbranches branches), warm daemon, median of 50 | $(f1 "$list_ms") ms | \`/bin/true\` (process start-up floor): $(f1 "$true_ms") ms | ≤ 15 ms: $(verdict le "$list_ms" 15) |
| | | \`ds db current\`, same workspace (ds start-up + a cached RPC): $(f1 "$current_ms") ms | |

\`ds setup\` per run, from dsd's log and pg.log: initdb + start $(each "${setup_init_s[@]}") s; then roles, \`main\`, metadata and the copy of \`main\` $(each "${setup_rest_s[@]}") s, of which the checkpoint before the copy $(each "${setup_ckpt_s[@]}") s.
EOF
