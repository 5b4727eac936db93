#!/usr/bin/env bash
# Benchmarks ds's Neon provider side by side with neonctl, both against the
# Neon API double (tests/neon_double/neon_double.py) in one run:
#   branches  `ds db branches --project P` with dsd's snapshot warm, against
#             `neonctl branches list --project-id P -o json`
#   current   `ds db current` in a workspace whose .env points at branch main
#             of the double, against `neonctl connection-string main
#             --project-id P`
# and, from the double's request counter (/__control/stats): the requests
# the warm ds runs sent (none expected); dsd's first call with no snapshot
# (the seed), and the background load of the rest of the account that
# follows it; and dsd's first `ds db branches` on a synthetic account of 50
# projects x 100 branches (time, requests, the busiest minute, a background
# refresh).
# One run; prints markdown on stdout (progress goes to stderr) and writes
# nothing else: copy the tables into docs/benchmarks.md by hand.
#
# Usage: cmake --build --preset release --target ds dsd && bench/neon.sh
#
# Environment:
#   BUILD_DIR           build tree whose bin/ holds ds and dsd
#                       (default build/release, relative to the repository)
#   DS_PEERS_DIR        directory whose node_modules holds neonctl
#                       (default tests/peers; `npm ci` there)
#   DS_TEST_USER        user that runs dsd, ds, neonctl, the doubles and
#                       postgres when run as root (default ds-test)
#   BENCH_RUNS          hyperfine runs per ds command (default 50, 5 warm-ups)
#   BENCH_NEONCTL_RUNS  hyperfine runs per neonctl command (default 10, 2 warm-ups)
#   BENCH_SYNTHETIC     the synthetic account, PxB (default 50x100)
#
# Everything runs in a private temp root that is removed on exit (Ctrl-C
# included): a PostgreSQL 15 cluster with TLS and SCRAM and two doubles on it,
# started by bench/neon_env.py (the tests' own helpers), and one dsd started
# with `ds daemon start` on private XDG dirs. About two minutes, one of
# them waiting for dsd's refresh interval to pass.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-build/release}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
peers_dir=${DS_PEERS_DIR:-tests/peers}
[[ $peers_dir == /* ]] || peers_dir=$repo/$peers_dir
test_user=${DS_TEST_USER:-ds-test}
runs=${BENCH_RUNS:-50}
nc_runs=${BENCH_NEONCTL_RUNS:-10}
synthetic=${BENCH_SYNTHETIC:-50x100}
refresh_s=60   # dsd's default neon_refresh_seconds; the bench keeps it
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

for v in runs nc_runs; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $synthetic =~ ^([1-9][0-9]*)x([1-9][0-9]*)$ ]] || die "BENCH_SYNTHETIC must look like 50x100"
syn_projects=${BASH_REMATCH[1]}
syn_branches=${BASH_REMATCH[2]}
need_built ds dsd
need_tools hyperfine jq setpriv timeout curl node openssl /usr/bin/python3
need_pg15 initdb postgres pg_isready
neonctl=$peers_dir/node_modules/.bin/neonctl
[[ -x $neonctl ]] || die "neonctl is missing in $peers_dir/node_modules (run: npm ci --prefix $peers_dir)"
nc_version=$(jq -r .version "$peers_dir/node_modules/neonctl/package.json")

bench_started

# --- private root, and the user that runs everything ----------------------
dsd_pid=
env_pid=
env_pids=()
make_root /tmp/ds-bn

cleanup() {
  local rc=$?
  set +e
  trap - INT TERM
  stop_dsd
  stop_neon_env
  rm -rf "$root"
  exit "$rc"
}
install_cleanup_traps

stage_bins ds dsd
for d in run state config data home out neon; do mkpriv "$root/$d" 700; done
ws=$root/ws       # .env -> main of acme-app
syn_ws=$root/ws2  # the synthetic account
mkpriv "$ws" 755
mkpriv "$syn_ws" 755

bench_env
# /usr/bin/python3: the run user may not reach an interpreter under /root.
export PATH="$bin:/usr/bin:/bin"
export NO_COLOR=1 PYTHONDONTWRITEBYTECODE=1
cd "$ws"

# --- cluster and doubles --------------------------------------------------
log "starting PostgreSQL 15 (TLS, SCRAM) and two Neon API doubles (seed; synthetic $synthetic)"
start_neon_env --root "$root/neon/env" --synthetic "$synthetic"
api=$(jq -r .api <<<"$envj")
syn_api=$(jq -r .synthetic_api <<<"$envj")
api_port=$(jq -r .api_port <<<"$envj")
syn_port=$(jq -r .synthetic_port <<<"$envj")
key=$(jq -r .key <<<"$envj")
project=$(jq -r .project <<<"$envj")
project_name=$(jq -r .project_name <<<"$envj")
branch=$(jq -r .branch <<<"$envj")

# ctl PORT METHOD PATH: the double's control API (not counted in its stats).
ctl() { curl -sf --max-time 15 -X "$2" "http://127.0.0.1:$1/__control/$3" || die "control $2 $3 failed"; }
reset_stats() { ctl "$1" POST stats/reset >/dev/null; }
# settle PORT: waits until the double's request count has stood still for
# 2 s (60 s at most) and prints it. A cold dsd answers its first call once it
# has the project list and the project asked for, then its refresher loads
# the rest of the account in the background: this waits that out.
settle() {
  local last=-1 still=0 now
  for _ in $(seq 300); do
    now=$(ctl "$1" GET stats | jq -r .total)
    if [[ $now == "$last" ]]; then still=$((still + 1)); else still=0; last=$now; fi
    (( still >= 10 )) && break
    sleep 0.2
  done
  echo "$last"
}
routes() {  # routes STATS_JSON: "GET /projects 2, ..."
  jq -r '[.routes | to_entries[] | "\(.key) × \(.value)"] | join("; ")' <<<"$1"
}
# The request ids the double has logged so far (its last 500), to tell
# which requests one client made since.
request_ids() { ctl "$1" GET requests | jq -c '[.requests[].request_id]'; }
# new_requests PORT IDS UA_PREFIX: how many logged requests are newer than
# IDS and come from a User-Agent starting with UA_PREFIX.
new_requests() {
  ctl "$1" GET requests | jq --argjson old "$2" --arg ua "$3" \
    '[.requests[] | select((.request_id as $id | $old | index($id)) == null)
       | select(.user_agent | startswith($ua))] | length'
}

# --- dsd ------------------------------------------------------------------
# Started once, without the Neon variables: ds forwards them with each call.
log "ds daemon start (state in $root)"
start_json=$(timeout 30 "${as_user[@]}" env -u DS_NO_SPAWN ds daemon start --json) ||
  die "ds daemon start failed"
dsd_pid=$(jq -r .pid <<<"$start_json")
[[ $dsd_pid =~ ^[0-9]+$ ]] || die "no pid in: $start_json"
export DS_NO_SPAWN=1   # from here on a dead dsd fails the run instead of respawning
export NEON_API_KEY=$key NEON_API_HOST=$api CI=true

# run_ds ARGS...: ds as the run user, output kept for the checks.
run_ds() { timeout 120 "${as_user[@]}" ds "$@"; }

# timed OUT CMD...: runs CMD as the run user (clock inside its shell, so
# setpriv is outside the timing), stdout to OUT; prints the wall time in ms.
timed() {
  local out=$1 t
  shift
  # shellcheck disable=SC2016  # expanded by the inner shell
  t=$(timeout --foreground 300 "${as_user[@]}" bash -c \
    'out=$1; shift; s=$EPOCHREALTIME; "$@" >"$out" 2>&1; rc=$?; e=$EPOCHREALTIME
     echo "$s $e"; exit $rc' _ "$out" "$@") ||
    die "$* failed: $(tail -c 2000 "$out")"
  awk '{ printf "%.1f", ($2 - $1) * 1000 }' <<<"$t"
}

# hf NAME WARMUP RUNS ARGV...: hyperfine as the run user; prints "median min"
# in ms. Environment overrides go in hf_env (VAR=value words).
hf_env=()
hf() {
  local name=$1 warmup=$2 n=$3 out=$root/out/$1.json
  shift 3
  log "hyperfine ($n runs, load $(load1)): $*"
  timeout --foreground 900 "${as_user[@]}" env "${hf_env[@]}" hyperfine -N --warmup "$warmup" \
    --runs "$n" --style basic --export-json "$out" --command-name "$name" \
    "$(printf '%q ' "$@")" >&2 || die "hyperfine failed for: $*"
  jq -r '.results[0] | "\(.median * 1000) \(.min * 1000)"' "$out"
}

# --- seed: the cold snapshot load -------------------------------------------
projects_seen=$(curl -sf -H "Authorization: Bearer $key" "$api/projects?limit=400" | jq '.projects | length')
# walk URL: the same GETs as a snapshot load, from one Python keep-alive client.
walk() {
  timeout 300 "${as_user[@]}" /usr/bin/python3 "$repo/bench/neon_env.py" --walk "$1" --key "$key" ||
    die "neon_env.py --walk $1 failed"
}
walk_seed=$(walk "$api")
reset_stats "$api_port"
log "cold: ds db branches --project $project (dsd has no snapshot yet)"
cold_ms=$(timed "$root/out/cold.txt" ds db branches --project "$project" -C "$ws")
cold_at=$(date +%s)
cold_stats=$(ctl "$api_port" GET stats)
cold_total=$(jq -r .total <<<"$cold_stats")
fill_total=$(( $(settle "$api_port") - cold_total ))
{ grep -q '^main (default)' "$root/out/cold.txt" && grep -q '^staging ' "$root/out/cold.txt"; } ||
  die "ds db branches did not list main and staging: $(cat "$root/out/cold.txt")"
seed_branches=$(($(wc -l <"$root/out/cold.txt") - 1))

# .env -> main (not timed; the URI comes from the API), then check current.
run_ds db set target-db --branch "$branch" --project "$project" --yes -C "$ws" >"$root/out/set.txt" 2>&1 ||
  die "ds db set target-db failed: $(cat "$root/out/set.txt")"
run_ds db current -C "$ws" >"$root/out/current.txt" 2>&1 || die "ds db current failed"
{ grep -q "^Project:  $project_name$" "$root/out/current.txt" &&
  grep -q "^Branch:   $branch$" "$root/out/current.txt"; } ||
  die "ds db current does not show $project_name/$branch: $(cat "$root/out/current.txt")"

# --- warm ds: hyperfine, and the requests it caused (none expected) --------
load_warm=$(load1)
reset_stats "$api_port"
warm_from=$(date +%s)
res=$(hf ds_branches 5 "$runs" ds db branches --project "$project" -C "$ws")
read -r ds_br ds_br_min <<<"$res"
res=$(hf ds_current 5 "$runs" ds db current -C "$ws")
read -r ds_cur ds_cur_min <<<"$res"
warm_stats=$(ctl "$api_port" GET stats)
warm_total=$(jq -r .total <<<"$warm_stats")
warm_age=$(( $(date +%s) - cold_at ))
warm_span=$(( $(date +%s) - warm_from ))
warm_calls=$(( 2 * (runs + 5) ))
if (( warm_total == 0 )); then
  warm_note="none"
else
  warm_note="**$warm_total** ($(routes "$warm_stats"))"
fi

# --- neonctl: the same answers, then hyperfine --------------------------------
nc_args=(--no-analytics)
log "neonctl: one run each, checked and counted"
ids=$(request_ids "$api_port")
"${as_user[@]}" "$neonctl" branches list --project-id "$project" -o json "${nc_args[@]}" \
  >"$root/out/nc-branches.json" 2>"$root/out/nc-branches.err" ||
  die "neonctl branches list failed: $(cat "$root/out/nc-branches.err")"
nc_br_req=$(new_requests "$api_port" "$ids" neonctl)
nc_names=$(jq -r '[.[].name] | sort | join(",")' "$root/out/nc-branches.json")
[[ $nc_names == *main* && $nc_names == *staging* ]] || die "neonctl branches list: $nc_names"
ids=$(request_ids "$api_port")
"${as_user[@]}" "$neonctl" connection-string "$branch" --project-id "$project" "${nc_args[@]}" \
  >"$root/out/nc-conn.txt" 2>"$root/out/nc-conn.err" ||
  die "neonctl connection-string failed: $(cat "$root/out/nc-conn.err")"
nc_cur_req=$(new_requests "$api_port" "$ids" neonctl)
ds_host=$(grep '^Host:' "$root/out/current.txt" | awk '{print $2}' | cut -d: -f1)
grep -q "@$ds_host/" "$root/out/nc-conn.txt" ||
  die "neonctl's connection string is not for $ds_host: $(sed 's/:[^:@]*@/:****@/' "$root/out/nc-conn.txt")"

load_nc=$(load1)
res=$(hf neonctl_branches 2 "$nc_runs" \
  "$neonctl" branches list --project-id "$project" -o json "${nc_args[@]}")
read -r nc_br nc_br_min <<<"$res"
res=$(hf neonctl_current 2 "$nc_runs" \
  "$neonctl" connection-string "$branch" --project-id "$project" "${nc_args[@]}")
read -r nc_cur nc_cur_min <<<"$res"

# --- synthetic account: dsd's first ds db branches, and a refresh -----------
hf_env=("NEON_API_HOST=$syn_api")
syn_list=$(curl -sf -H "Authorization: Bearer $key" "$syn_api/projects?limit=400")
syn_seen=$(jq '.projects | length' <<<"$syn_list")
# neonctl takes a project id only: that of synthetic-000, for both tools.
syn_project=$(jq -r '.projects[] | select(.name == "synthetic-000") | .id' <<<"$syn_list")
[[ -n $syn_project ]] || die "the synthetic double has no project synthetic-000"
syn_nc_runs=$(( nc_runs < 5 ? nc_runs : 5 ))
res=$(hf neonctl_synthetic 1 "$syn_nc_runs" \
  "$neonctl" branches list --project-id "$syn_project" -o json "${nc_args[@]}")
read -r nc_syn nc_syn_min <<<"$res"
walk_syn=$(walk "$syn_api")
reset_stats "$syn_port"
log "cold: ds db branches --project $syn_project on $syn_projects x $syn_branches"
syn_ms=$(NEON_API_HOST=$syn_api timed "$root/out/syn-cold.txt" \
  ds db branches --project "$syn_project" -C "$syn_ws")
syn_stats=$(ctl "$syn_port" GET stats)
syn_total=$(jq -r .total <<<"$syn_stats")
syn_settled=$(settle "$syn_port")
syn_fill=$(( syn_settled - syn_total ))
syn_at=$(date +%s.%N)  # about when the background load ended: the snapshot's age counts from here
syn_rows=$(($(wc -l <"$root/out/syn-cold.txt") - 1))
(( syn_rows == syn_branches )) ||
  die "ds listed $syn_rows branches of $syn_project, not $syn_branches: $(head -5 "$root/out/syn-cold.txt")"
res=$(hf ds_synthetic 3 20 ds db branches --project "$syn_project" -C "$syn_ws")
read -r ds_syn ds_syn_min <<<"$res"
syn_warm_total=$(( $(ctl "$syn_port" GET stats | jq -r .total) - syn_settled ))
hf_env=()

# Past the refresh interval, a call is answered from the old snapshot and
# wakes dsd's refresher, which reloads the whole account in the background
# (the refresher may also wake on its own timer first: every request after
# the warm runs above is counted as refresh traffic either way).
wait_s=$(awk -v a="$syn_at" -v now="$(date +%s.%N)" -v r="$refresh_s" \
  'BEGIN { w = a + r + 3 - now; printf "%d", (w > 0 ? w + 1 : 0) }')
log "waiting ${wait_s} s for dsd's ${refresh_s} s refresh interval to pass"
sleep "$wait_s"
stale_ms=$(NEON_API_HOST=$syn_api timed "$root/out/syn-stale.txt" \
  ds db branches --project "$syn_project" -C "$syn_ws")
# Wait for the refresh: the count grew and then stood still for 2 s (60 s at most).
before_refresh=$(( syn_settled + syn_warm_total ))
last=-1 still=0
for _ in $(seq 300); do
  now=$(ctl "$syn_port" GET stats | jq -r .total)
  if [[ $now == "$last" ]]; then still=$((still + 1)); else still=0; last=$now; fi
  (( still >= 10 && now > before_refresh )) && break
  sleep 0.2
done
final_stats=$(ctl "$syn_port" GET stats)
final_total=$(jq -r .total <<<"$final_stats")
refresh_req=$(( final_total - before_refresh ))
max_min=$(jq -r .max_per_minute <<<"$final_stats")
statuses=$(jq -r '[.statuses | to_entries[] | "\(.key): \(.value)"] | join(", ")' <<<"$final_stats")
syn_span=$(awk -v a="$syn_at" -v now="$(date +%s.%N)" 'BEGIN { printf "%.0f", now - a }')
n429=$(jq -r '.statuses["429"] // 0' <<<"$final_stats")
# Neon also limits bursts: 40 requests a second per route. The double logs
# each request's time to the second (its last 500): dsd's busiest one.
burst=$(ctl "$syn_port" GET requests | jq -r '[.requests[] | select(.user_agent == "ds (dsd)")
  | "\(.t) \(.route)"] | group_by(.) | max_by(length) // [] | "\(length) \(.[0] // "" | sub("^[^ ]+ "; ""))"')
read -r burst_n burst_route <<<"$burst"

alive "$dsd_pid" || die "dsd died during the run"
stop_dsd
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- tables -----------------------------------------------------------------
f0() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a / b }'; }
ge() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x >= y) }'; }
r_br=$(ratio "$nc_br" "$ds_br")
r_cur=$(ratio "$nc_cur" "$ds_cur")
r_syn=$(ratio "$nc_syn" "$ds_syn")
floor() {  # floor WALK_JSON: "N GETs in T ms"
  jq -r '"\(.requests) GETs in \(.ms | round) ms"' <<<"$1"
}

cat <<EOF
Machine: $(machine); date: $(utc_now); run time: $(run_time) s
Load average (1/5/15 min) at the start: $load_start; at the end: $load_end. 1-min load when the ds runs began: $load_warm; the neonctl runs: $load_nc.
ds $("$bin/ds" --version | head -n1) (tree at commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)), neonctl $nc_version (node $(node --version), CI=true, --no-analytics), hyperfine $(hyperfine --version | cut -d' ' -f2); the doubles without --spec, 700 requests/min limit. Seed: $projects_seen projects visible to the key, $project_name ($project) with $seed_branches branches; .env -> $branch.

| command | median | best | API requests per run | neonctl / ds (median) | target |
|---|---|---|---|---|---|
| \`ds db branches --project $project\`, warm dsd, $runs runs | $(f1 "$ds_br") ms | $(f1 "$ds_br_min") ms | 0 | **${r_br}×** | ≥ 50×: $(verdict ge "$r_br" 50) |
| \`neonctl branches list --project-id $project -o json\`, $nc_runs runs | $(f0 "$nc_br") ms | $(f0 "$nc_br_min") ms | $nc_br_req | | |
| \`ds db current\` (.env -> $branch), warm dsd, $runs runs | $(f1 "$ds_cur") ms | $(f1 "$ds_cur_min") ms | 0 | **${r_cur}×** | ≥ 50×: $(verdict ge "$r_cur" 50) |
| \`neonctl connection-string $branch --project-id $project\`, $nc_runs runs | $(f0 "$nc_cur") ms | $(f0 "$nc_cur_min") ms | $nc_cur_req | | |
| \`ds db branches\`, cold: dsd's first call, no snapshot, 1 run | $(f0 "$cold_ms") ms | | $cold_total | | |
| \`ds db branches --project $syn_project\` (synthetic-000, $syn_branches branches), warm dsd, 20 runs | $(f1 "$ds_syn") ms | $(f1 "$ds_syn_min") ms | $( (( syn_warm_total == 0 )) && echo 0 || echo "**$syn_warm_total in all**") | ${r_syn}× | |
| \`neonctl branches list --project-id $syn_project -o json\`, $syn_nc_runs runs | $(f0 "$nc_syn") ms | $(f0 "$nc_syn_min") ms | | | |

Requests the double counted (/__control/stats):

| what | requests | detail |
|---|---|---|
| the warm ds runs above: $warm_calls calls (warm-ups included) over $warm_span s, snapshot ${warm_age} s old at the end | $warm_note | target: none |
| dsd's first call, seed ($projects_seen projects): $(f0 "$cold_ms") ms; then its refresher loads the rest in the background | $cold_total, then $fill_total | $(routes "$cold_stats") (by the time the call returned). Floor, a whole snapshot's walk from one keep-alive Python client: $(floor "$walk_seed") |
| one \`neonctl branches list\` / one \`neonctl connection-string\` | $nc_br_req / $nc_cur_req | from the double's request log, by User-Agent |
| dsd's first \`ds db branches\`, synthetic account of $syn_seen projects × $syn_branches branches; then the background load | $syn_total in $(f0 "$syn_ms") ms, then $syn_fill | $(routes "$syn_stats") (by the time the call returned). Floor for the whole account: $(floor "$walk_syn") |
| the $syn_branches-branch listing warm, 20 runs + 3 warm-ups | $syn_warm_total | |
| a call $((refresh_s + 3))+ s later (answered from the old snapshot in $(f0 "$stale_ms") ms) wakes the background refresh | $refresh_req | |
| synthetic double over ${syn_span} s: busiest 60 s window | $max_min | statuses: $statuses; ≤ 700/min: $(verdict ge 700 "$max_min"); 429s: $n429 |
| the same: dsd's busiest calendar second on one route (Neon: 40/s burst per route; the double does not enforce it) | $burst_n | $burst_route; ≤ 40/s: $(verdict le "$burst_n" 40) |
EOF
