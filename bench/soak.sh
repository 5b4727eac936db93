#!/usr/bin/env bash
# Load and soak: dsd under 16 GetCurrent clients at full speed, 100 open
# WatchCurrent streams and an editor switching the target between two local
# branches, for a minute; then dsd restarted under that load. The driver is
# ds_soak_bench (bench/soak_bench.cc); this script builds the world around
# it, times what a prompt would run without dsd, and prints a markdown table
# on stdout (progress on stderr). Writes nothing else (unless SOAK_REPORT is set): copy the table into
# docs/benchmarks.md by hand.
#
# Usage: cmake --build --preset release --target ds dsd ds_soak_bench && bench/soak.sh
#
# Environment:
#   BUILD_DIR            build tree whose bin/ holds ds, dsd, ds_soak_bench
#                        (default build/release, relative to the repository)
#   SOAK_SECONDS         the soak phase (default 60)
#   SOAK_UNARY_SECONDS   GetCurrent clients alone, for dsd's CPU per call (10)
#   SOAK_AFTER_SECONDS   the load after the restart (10)
#   SOAK_CLIENTS, SOAK_STREAMS, SOAK_SWITCH_MS   16, 100, 500
#   SOAK_REPORT          also copy ds_soak_bench's JSON report (every sample)
#                        to this file
#   DS_TEST_USER         user that runs dsd, ds and postgres when run as root
#                        (default ds-test; created if missing)
#
# Everything runs in a private temp root that is removed on exit (dsd's
# socket, state, and the local PostgreSQL cluster `ds setup` creates).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-build/release}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
test_user=${DS_TEST_USER:-ds-test}
soak_s=${SOAK_SECONDS:-60}
unary_s=${SOAK_UNARY_SECONDS:-10}
after_s=${SOAK_AFTER_SECONDS:-10}
clients=${SOAK_CLIENTS:-16}
streams=${SOAK_STREAMS:-100}
switch_ms=${SOAK_SWITCH_MS:-500}
log_prefix='[soak]'
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

for v in soak_s unary_s after_s clients streams switch_ms; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
need_built ds dsd ds_soak_bench
need_tools hyperfine jq setpriv timeout
need_pg15 initdb

# --- private root, and the user that runs everything ----------------------
make_root /tmp/ds-soak

cleanup() {
  local rc=$?
  set +e
  trap - INT TERM
  # The restart leaves a dsd that is not this script's child: stop it (and
  # its PostgreSQL) by the pid file.
  dsd_pid=$(head -n1 "$root/state/dsd.pid" 2>/dev/null)
  [[ $dsd_pid =~ ^[0-9]+$ ]] || dsd_pid=
  stop_dsd 60
  stop_cluster "$root/data/ds/pg"
  rm -rf "$root"
  exit "$rc"
}
install_cleanup_traps

stage_bins ds dsd ds_soak_bench
for d in run state config home out data; do mkpriv "$root/$d" 700; done
ws=$root/ws
local_workspace "$ws"

bench_env
export DS_NO_SPAWN=1
export DS_PG_BIN=$pg_bin
cd "$root"

# --- dsd, a local cluster and two branches ----------------------------------
log "starting dsd in $root"
start_dsd "$root/dsd.stderr"
first_pid=$dsd_pid
log "ds setup, and a second branch"
timeout 180 "${as_user[@]}" ds setup -C "$ws" >&2 || die "ds setup failed"
branch_a=$(timeout 30 "${as_user[@]}" ds db current -C "$ws" --format '{branch}')
[[ -n $branch_a ]] || die "ds setup left no target branch in $ws/.env"
branch_b=soak-b
timeout 180 "${as_user[@]}" ds db create-branch "$branch_b" -C "$ws" >&2 ||
  die "ds db create-branch $branch_b failed"

# What a restart is for a user: stop, then start (ds daemon start waits
# until the new dsd answers). Run by the driver, as the run user.
restart_cmd="ds daemon stop >&2 && DS_NO_SPAWN= ds daemon start >&2"

# --- the soak -------------------------------------------------------------
uptime_before=$(uptime)
log "uptime before: $uptime_before"
log "ds_soak_bench: $clients clients, $streams streams, switching $branch_a <-> $branch_b" \
  "every $switch_ms ms; ${unary_s}s unary, ${soak_s}s soak, restart, ${after_s}s after"
total=$((unary_s + soak_s + after_s + 300))
set +e
timeout --foreground "$total" "${as_user[@]}" "$bin/ds_soak_bench" --socket "$sock" \
  --workspace "$ws" --dsd-pid-file "$DS_STATE_DIR/dsd.pid" --branches "$branch_a,$branch_b" \
  --restart-cmd "$restart_cmd" --clients "$clients" --streams "$streams" \
  --unary-seconds "$unary_s" --seconds "$soak_s" --after-seconds "$after_s" \
  --switch-every-ms "$switch_ms" >"$root/out/soak.json"
soak_rc=$?
set -e
uptime_after=$(uptime)
log "uptime after: $uptime_after"
jq -e . "$root/out/soak.json" >/dev/null || die "ds_soak_bench printed no report (exit $soak_rc)"
[[ -z ${SOAK_REPORT:-} ]] || cp "$root/out/soak.json" "$SOAK_REPORT"
wait "$first_pid" 2>/dev/null || true   # the first dsd, stopped by the restart

# --- what a prompt runs without dsd ------------------------------------------
# CPU per answer of a process per prompt: ds itself, and sed reading .env
# (what a PS1 snippet without ds does: the URI, no branch, no provider).
cpu_us() {  # cpu_us NAME COMMAND: mean user+system µs of a command, 30 runs
  local out=$root/out/$1.json
  timeout --foreground 120 "${as_user[@]}" hyperfine -N --warmup 3 --runs 30 --style none \
    --export-json "$out" "$2" >/dev/null 2>&1 || die "hyperfine failed for: $2"
  jq -r '(.results[0].user + .results[0].system) * 1e6 | floor' "$out"
}
log "hyperfine: ds db current --format, sed on .env"
ds_cpu=$(cpu_us ds "ds db current -C $ws --format {branch}")
sed_cpu=$(cpu_us sed "sed -n s/^DB_CONNECTION_STRING=//p $ws/.env")

# --- table ----------------------------------------------------------------
r=$root/out/soak.json
j() { jq -r "$1" "$r"; }
range() {  # range PHASES FIELD: first / max / last of a sampled field over those phases
  jq -r --arg f "$2" "[.samples[] | select(.phase as \$p | $1 | index(\$p)) | .[\$f]] |
    \"\(first) / \(max) / \(last)\"" "$r"
}
mib() { awk '{ printf "%.1f / %.1f / %.1f", $1 / 1024, $3 / 1024, $5 / 1024 }' <<<"$1"; }
lat() {  # lat PATH: "p50 / p99 / max µs, calls/s, errors"
  jq -r "$1 | \"\(.p50_us|floor) / \(.p99_us|floor) / \(.max_us|floor) µs, \(.per_s|floor)/s, \(.errors) errors\"" "$r"
}
ok() { if [[ $1 == true ]]; then echo "met"; else echo "**not met**"; fi; }
cpu_unary=$(j '.unary.dsd_cpu_us_per_call * 10 | round / 10')
cpu_soak=$(j '.soak.dsd_cpu_us_per_getcurrent * 10 | round / 10')

cat <<EOF
Machine: $(machine); date: $(utc_now)
uptime before: $uptime_before
uptime after:  $uptime_after
Load: $clients GetCurrent clients, $streams WatchCurrent streams, SetDatabase $branch_a <-> $branch_b every $switch_ms ms; ${unary_s} s clients alone, ${soak_s} s soak, restart, ${after_s} s after.

| metric | ds | comparison | target |
|---|---|---|---|
| dsd CPU per GetCurrent, clients alone | $cpu_unary µs | \`ds db current --format {branch}\` process: $ds_cpu µs CPU; \`sed\` on .env: $sed_cpu µs CPU (a process per prompt) | ≤ 40 µs: $(ok "$(jq '.unary.dsd_cpu_us_per_call <= 40' "$r")") |
| GetCurrent p50 / p99 / max, clients alone | $(lat .unary.getcurrent) | | 0 errors |
| GetCurrent p50 / p99 / max, soak | $(lat .soak.getcurrent) | | 0 errors: $(ok "$(j '.soak.getcurrent.errors == 0')") |
| dsd CPU per GetCurrent in the soak (streams and switches included) | $cpu_soak µs | | |
| SetDatabase (editor) p50 / p99 / max, soak | $(lat .soak.set_database) | | 0 errors: $(ok "$(j '.soak.set_database.errors == 0')") |
| WatchCurrent streams: updates received, errors | $(j .stream_updates) updates, $(j .soak.stream_errors.errors) errors; all on the last branch $(j .soak.converge_s) s after the last switch | | converged: $(ok "$(j .soak.converged)") |
| dsd RSS first / max / last, soak (every second) | $(mib "$(range '["soak"]' rss_kb)") MiB | | flat |
| dsd fds first / max / last, soak | $(range '["soak"]' fds) | | flat |
| dsd threads first / max / last, soak | $(range '["soak"]' threads) | | |
| restart (\`ds daemon stop\` + \`ds daemon start\`) | $(j .restart.cmd_s) s, pid $(j .restart.old_pid) → $(j .restart.new_pid); GetCurrent errors until each client was back: $(j .restart.getcurrent_errors_during) | | |
| reconnected after the restart | clients $(j .restart.clients_back)/$clients, streams $(j .restart.streams_back)/$streams; slowest $(j .restart.slowest_back_s) s after the stop began | | all: $(ok "$(j ".restart.clients_back == $clients and .restart.streams_back == $streams")") |
| GetCurrent p50 / p99 / max, after the restart | $(lat .after.getcurrent) | | 0 errors: $(ok "$(j '.after.getcurrent.errors == 0')") |
| dsd RSS / fds after the restart (last sample) | $(jq -r '[.samples[] | select(.phase == "after")] | last | "\(.rss_kb / 1024 * 10 | floor / 10) MiB, \(.fds) fds"' "$r") | | |
| errors outside the restart (all actors) | $(j .errors_outside_restart) | | 0: $(ok "$(j '.errors_outside_restart == 0')") |
EOF
[[ $soak_rc -eq 0 ]] || die "ds_soak_bench reported a failure (exit $soak_rc); see the table"
