#!/usr/bin/env bash
# Benchmarks "reads never wait": `ds db current` while the local provider
# copies a ~1 GB branch, next to the same calls with nothing else running.
# One run; prints a markdown table on stdout (progress goes to stderr) and
# writes nothing else: copy the table into docs/benchmarks.md by hand.
#
# Usage: cmake --build --preset release --target ds dsd ds_rpc_bench &&
#        bench/current_during_copy.sh
#
# Environment:
#   BUILD_DIR      build tree whose bin/ holds ds and dsd, and ds_rpc_bench for
#                  the RPC table (skipped without it)
#                  (default build/release, relative to the repository)
#   BENCH_MAIN_MB  size of the branch that is copied, in MiB (default 1024)
#   BENCH_CALLS    calls per column (default 200): idle, and during copies
#                  (as many copies as it takes to collect them)
#   DS_TEST_USER   user that runs dsd, ds, psql and postgres when run as root
#                  (default ds-test; created if missing)
#
# Each call is timed on its own (bash's $EPOCHREALTIME around one `ds db
# current`, in a shell of the run user, so setpriv is outside the timing).
# A call counts as "during a copy" when the `ds db create-branch` doing the
# copy was alive when the call started (a call that waited for the copy to
# end is one of those, and its wait counts). The copies
# are made from a second workspace, so the measured workspace's .env never
# changes. A control column times the same calls while psql makes the same
# copy itself, without dsd: what the calls lose there is the machine's.
# The RPC table isolates dsd from process start-up: GetCurrent
# back to back from ds_rpc_bench (one client) for 2 s idle, and for 1 s
# right after a copy was started, kept only when the copy outlived it.
# Everything runs in a private temp root that is removed on exit;
# the only server is the local cluster dsd creates there.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-build/release}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
test_user=${DS_TEST_USER:-ds-test}
main_mb=${BENCH_MAIN_MB:-1024}
calls=${BENCH_CALLS:-200}
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

[[ $main_mb =~ ^[1-9][0-9]*$ ]] || die "BENCH_MAIN_MB must be a positive integer (MiB)"
[[ $calls =~ ^[1-9][0-9]*$ ]] || die "BENCH_CALLS must be a positive integer"
need_built ds dsd
need_tools setpriv timeout jq
have_rpc=0
[[ -x $build_dir/bin/ds_rpc_bench ]] && have_rpc=1
need_pg15 initdb pg_ctl postgres psql

bench_started

# --- private root, and the user that runs everything ----------------------
dsd_pid=
copy_pid=
make_root /tmp/ds-bc

cleanup() {
  local rc=$?
  set +e
  trap - INT TERM
  [[ -n $copy_pid ]] && kill -TERM "$copy_pid" 2>/dev/null && wait "$copy_pid" 2>/dev/null
  stop_dsd 120
  stop_cluster "$root/data/ds/pg"
  rm -rf "$root"
  exit "$rc"
}
install_cleanup_traps

stage_bins ds dsd
((have_rpc)) && install -m 755 "$build_dir/bin/ds_rpc_bench" "$bin/"
for d in run state config home out data; do mkpriv "$root/$d" 700; done

ws=$root/ws          # measured: .env -> dev-bench-local
copier=$root/copier  # makes the copies
local_workspace "$ws"
local_workspace "$copier"

bench_env
export DS_NO_SPAWN=1
export DS_PG_BIN=$pg_bin
cd "$root"

as() { timeout 900 "${as_user[@]}" "$@"; }

# --- dsd, the cluster, a large main ---------------------------------------
log "starting dsd in $root"
start_dsd "$root/dsd.stderr"
as ds setup -C "$ws" >&2 || die "ds setup failed"
as ds db set source-db --branch main -C "$copier" >&2 || die "ds db set source-db failed"
main_uri=$(sed -n 's/^SOURCE_DB_CONNECTION_STRING=//p' "$copier/.env" | tail -n1 | tr -d "'\"")
[[ $main_uri =~ ^postgresql://[^@]+@127\.0\.0\.1:[0-9]+/main$ ]] ||
  die "SOURCE_DB_CONNECTION_STRING is not a loopback URI to main"

# ~298 bytes a row (see branches.sh); the table reports the real size.
rows=$(( main_mb * 1024 * 1024 / 298 ))
log "filling main with $rows rows (~$main_mb MiB)"
as psql -X -q -v ON_ERROR_STOP=1 "$main_uri" \
  -c "create table big as select g as id, md5(g::text) || repeat('x', 200) as payload
      from generate_series(1, $rows) g" \
  -c "alter table big add primary key (id)" -c "vacuum (analyze) big" >&2 ||
  die "filling main failed"
main_mib=$(as psql -X -At "$main_uri" -c "select pg_database_size('main') / 1048576")
log "main: $main_mib MiB"
# An untimed copy first: its checkpoint writes out the freshly loaded main.
as ds db create-branch bench-warmup -C "$copier" >&2 || die "warm-up copy failed"
as ds db delete-branch bench-warmup --yes -C "$copier" >&2 || die "deleting the warm-up failed"
as ds db current -C "$ws" | grep 'Branch:   dev-bench-local' >/dev/null ||
  die "ds db current does not resolve dev-bench-local"

# sample N [PID]: times `ds db current -C $ws` N times, or, with PID, as
# long as PID lives (looked at before each call) and at most N calls;
# prints one figure in ms a line.
sample() {
  # shellcheck disable=SC2016  # expanded by the inner shell
  as bash -c '
    n=$1 pid=${2:-}
    alive() { [[ -z $pid ]] || kill -0 "$pid" 2>/dev/null; }
    for ((i = 0; i < n; i++)); do
      alive || break
      s=$EPOCHREALTIME
      ds db current -C "$3" >/dev/null || { echo "ds db current failed" >&2; exit 1; }
      e=$EPOCHREALTIME
      awk -v s="$s" -v e="$e" "BEGIN { printf \"%.3f\\n\", (e - s) * 1000 }"
    done' _ "$1" "${2:-}" "$ws"
}

# --- idle -----------------------------------------------------------------
load_idle=$(load1)
log "idle: $calls calls"
sample "$calls" >"$root/out/idle.ms" || die "idle sampling failed"

# --- during copies --------------------------------------------------------
load_copy=$(load1)
: >"$root/out/copy.ms"
copy_s=()
copies=0
while (( $(wc -l <"$root/out/copy.ms") < calls )); do
  copies=$((copies + 1))
  (( copies <= 20 )) || die "20 copies gave fewer than $calls calls during a copy"
  name=bench-copy-$copies
  log "copy $copies: ds db create-branch $name (parent main), sampling meanwhile"
  t0=$EPOCHREALTIME
  "${as_user[@]}" ds db create-branch "$name" -C "$copier" >"$root/out/$name.log" 2>&1 &
  copy_pid=$!   # setpriv execs, so this is ds itself
  left=$(( calls - $(wc -l <"$root/out/copy.ms") ))
  sample "$left" "$copy_pid" >>"$root/out/copy.ms" ||
    die "sampling during copy $copies failed"
  wait "$copy_pid" || die "copy $copies failed: $(cat "$root/out/$name.log")"
  copy_pid=
  copy_s+=("$(awk -v s="$t0" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.2f", e - s }')")
  log "  ${copy_s[-1]} s; $(wc -l <"$root/out/copy.ms") calls during copies so far"
  as ds db delete-branch "$name" --yes -C "$copier" >&2 || die "deleting $name failed"
done
# --- GetCurrent RPC, idle and during a copy -------------------------------
rpc() {  # rpc SECONDS: ds_rpc_bench's JSON, one client
  as ds_rpc_bench --socket "$sock" --workspace "$ws" --clients 1 --seconds "$1"
}
rpc_idle=
rpc_copy=
if ((have_rpc)); then
  log "GetCurrent RPC idle, 2 s"
  rpc_idle=$(rpc 2) || die "ds_rpc_bench failed"
  for attempt in 1 2 3 4 5; do
    name=bench-rpc-$attempt
    log "GetCurrent RPC for 1 s during ds db create-branch $name"
    "${as_user[@]}" ds db create-branch "$name" -C "$copier" >"$root/out/$name.log" 2>&1 &
    copy_pid=$!
    during=$(rpc 1) || die "ds_rpc_bench failed"
    outlived=0
    kill -0 "$copy_pid" 2>/dev/null && outlived=1
    wait "$copy_pid" || die "copy $name failed: $(cat "$root/out/$name.log")"
    copy_pid=
    as ds db delete-branch "$name" --yes -C "$copier" >&2 || die "deleting $name failed"
    if ((outlived)); then
      rpc_copy=$during
      break
    fi
    log "  the copy ended within the second; again"
  done
fi
# --- control: the same copy without dsd ------------------------------------
# psql runs the same CREATE DATABASE ... TEMPLATE main STRATEGY FILE_COPY
# as the cluster's superuser (a branch's role may create no database), so
# dsd takes no part in the copy: what the calls lose here to the copy's disk
# and CPU use, they lose anywhere on this machine.
: >"$root/out/control.ms"
control_s=()
controls=0
main_port=${main_uri##*:}
postgres_uri="postgresql://ds_superuser:$(cat "$XDG_DATA_HOME/ds/pg.superuser")@127.0.0.1:${main_port%%/*}/postgres"
while (( $(wc -l <"$root/out/control.ms") < calls )); do
  controls=$((controls + 1))
  (( controls <= 20 )) || die "20 copies by psql gave fewer than $calls calls during a copy"
  name=bench_control_$controls
  log "control $controls: psql create database $name template main, sampling meanwhile"
  t0=$EPOCHREALTIME
  "${as_user[@]}" psql -X -q -v ON_ERROR_STOP=1 "$postgres_uri" \
    -c "create database $name template main strategy file_copy" >"$root/out/$name.log" 2>&1 &
  copy_pid=$!
  left=$(( calls - $(wc -l <"$root/out/control.ms") ))
  sample "$left" "$copy_pid" >>"$root/out/control.ms" ||
    die "sampling during control copy $controls failed"
  wait "$copy_pid" || die "control copy $controls failed: $(cat "$root/out/$name.log")"
  copy_pid=
  control_s+=("$(awk -v s="$t0" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.2f", e - s }')")
  as psql -X -q "$postgres_uri" -c "drop database $name" >&2 || die "dropping $name failed"
done

load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- table ----------------------------------------------------------------
stats() {  # stats FILE: "count median p95 worst" in ms
  sort -g "$1" | awk '{ v[NR] = $1 } END {
    printf "%d %.1f %.1f %.1f", NR, v[int((NR + 1) / 2)], v[int(NR * 0.95 + 0.999)], v[NR] }'
}
read -r idle_n idle_med idle_p95 idle_max <<<"$(stats "$root/out/idle.ms")"
read -r copy_n copy_med copy_p95 copy_max <<<"$(stats "$root/out/copy.ms")"
copy_list=$(printf '%s / ' "${copy_s[@]}")
copy_list=${copy_list% / }
read -r control_n control_med control_p95 control_max <<<"$(stats "$root/out/control.ms")"
control_list=$(printf '%s / ' "${control_s[@]}")
control_list=${control_list% / }

cat <<EOF
Machine: $(machine); date: $(utc_now); run time: $(run_time) s
Load average (1/5/15 min) at the start: $load_start; at the end: $load_end. 1-min load when the idle calls began: $load_idle; when the copies began: $load_copy.
Copied branch: \`main\`, $main_mib MiB (\`pg_database_size\`); copies made while sampling: $copy_list s (\`ds db create-branch\`, start to exit); control copies by psql: $control_list s.

| \`ds db current\` | calls | median | p95 | worst | target |
|---|---|---|---|---|---|
| idle | $idle_n | $idle_med ms | $idle_p95 ms | $idle_max ms | |
| while \`ds db create-branch\` copies $main_mib MiB | $copy_n | $copy_med ms | $copy_p95 ms | $copy_max ms | worst ≤ 50 ms: $(verdict le "$copy_max" 50) |
| control: while psql runs the same copy (dsd not involved) | $control_n | $control_med ms | $control_p95 ms | $control_max ms | |
EOF

j() { jq -r "$2" <<<"$1"; }
us() { awk -v x="$1" 'BEGIN { printf "%.0f µs", x }'; }
rpc_row() {  # rpc_row LABEL JSON
  if [[ -z $2 ]]; then
    echo "| $1 | not measured | | | |"
  else
    echo "| $1 | $(j "$2" .calls) | $(us "$(j "$2" .p50_us)") | $(us "$(j "$2" .p99_us)") | $(us "$(j "$2" .max_us)") |"
  fi
}
if ((have_rpc)); then
  echo
  echo "| GetCurrent RPC, 1 client (\`ds_rpc_bench\`) | calls | p50 | p99 | max |"
  echo "|---|---|---|---|---|"
  rpc_row "idle, 2 s" "$rpc_idle"
  rpc_row "during a copy of $main_mib MiB, 1 s" "$rpc_copy"
fi
