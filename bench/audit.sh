#!/usr/bin/env bash
# Benchmarks `ds db audit` on a synthetic Neon account (50 projects x 100
# branches by default, served by the Neon API double's --synthetic mode)
# side by side with what a team scripts today with neonctl: list the
# projects, then every project's branches (`neonctl projects list` and one
# `neonctl branches list --project-id P -o json` per project, jq to count).
#
#   cold   `ds db audit --refresh --json`: dsd fetches the whole account
#   warm   `ds db audit --json` and `ds db audit` (the table): from dsd's
#          cache, with the double's request counter checked (none expected)
#   peer   bench/audit_neonctl.sh's listing, one run
#
# One run; prints markdown on stdout (progress on stderr): copy the table
# into docs/benchmarks.md by hand.
#
# Usage: cmake --build --preset release --target ds dsd && bench/audit.sh
#
# Environment:
#   BUILD_DIR        build tree whose bin/ holds ds and dsd (default build/release)
#   DS_PEERS_DIR     directory whose node_modules holds neonctl (default tests/peers)
#   DS_TEST_USER     user that runs everything when run as root (default ds-test)
#   BENCH_RUNS       hyperfine runs per warm ds command (default 30, 5 warm-ups)
#   BENCH_SYNTHETIC  the synthetic account, PxB (default 50x100)
#   BENCH_NEONCTL    0 skips the neonctl listing (minutes: some 50 node starts)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-build/release}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
peers_dir=${DS_PEERS_DIR:-tests/peers}
[[ $peers_dir == /* ]] || peers_dir=$repo/$peers_dir
test_user=${DS_TEST_USER:-ds-test}
runs=${BENCH_RUNS:-30}
with_neonctl=${BENCH_NEONCTL:-1}
synthetic=${BENCH_SYNTHETIC:-50x100}
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
[[ $synthetic =~ ^([1-9][0-9]*)x([1-9][0-9]*)$ ]] || die "BENCH_SYNTHETIC must look like 50x100"
syn_projects=${BASH_REMATCH[1]}
syn_branches=${BASH_REMATCH[2]}
need_built ds dsd
need_tools hyperfine jq setpriv timeout curl node /usr/bin/python3
neonctl=$peers_dir/node_modules/.bin/neonctl
[[ -x $neonctl ]] || die "neonctl is missing in $peers_dir/node_modules (run: npm ci --prefix $peers_dir)"
nc_version=$(jq -r .version "$peers_dir/node_modules/neonctl/package.json")

bench_started
dsd_pid=
env_pid=
env_pids=()
make_root /tmp/ds-ba

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
ws=$root/ws
mkpriv "$ws" 755

bench_env
export PATH="$bin:/usr/bin:/bin"
export NO_COLOR=1 PYTHONDONTWRITEBYTECODE=1
cd "$ws"

log "starting PostgreSQL 15 and the Neon API doubles (synthetic $synthetic)"
start_neon_env --root "$root/neon/env" --synthetic "$synthetic"
api=$(jq -r .synthetic_api <<<"$envj")
port=$(jq -r .synthetic_port <<<"$envj")
key=$(jq -r .key <<<"$envj")
ctl() { curl -sf --max-time 15 -X "$1" "http://127.0.0.1:$port/__control/$2" || die "control $1 $2 failed"; }

log "ds daemon start"
start_json=$(timeout 30 "${as_user[@]}" env -u DS_NO_SPAWN ds daemon start --json) ||
  die "ds daemon start failed"
dsd_pid=$(jq -r .pid <<<"$start_json")
export DS_NO_SPAWN=1 NEON_API_KEY=$key NEON_API_HOST=$api CI=true

timed() {  # timed OUT CMD...: wall ms of CMD as the run user, stdout to OUT
  local out=$1 t
  shift
  # shellcheck disable=SC2016
  t=$(timeout --foreground "${nc_timeout:-600}" "${as_user[@]}" bash -c \
    'out=$1; shift; s=$EPOCHREALTIME; "$@" >"$out" 2>&1; rc=$?; e=$EPOCHREALTIME
     echo "$s $e"; exit $rc' _ "$out" "$@") || die "$* failed: $(tail -c 2000 "$out")"
  awk '{ printf "%.1f", ($2 - $1) * 1000 }' <<<"$t"
}
hf() {  # hf NAME RUNS ARGV...: "median min" in ms
  local name=$1 n=$2 out=$root/out/$1.json
  shift 2
  log "hyperfine ($n runs, load $(load1)): $*"
  timeout --foreground 900 "${as_user[@]}" hyperfine -N --warmup 5 --runs "$n" --style basic \
    --export-json "$out" --command-name "$name" "$(printf '%q ' "$@")" >&2 ||
    die "hyperfine failed for: $*"
  jq -r '.results[0] | "\(.median * 1000) \(.min * 1000)"' "$out"
}

# --- cold: the whole account fetched -----------------------------------------
ctl POST stats/reset >/dev/null
cold_ms=$(timed "$root/out/cold.json" ds db audit --refresh --json -C "$ws")
cold_req=$(ctl GET stats | jq -r .total)
audited=$(jq '[.branches[] | select(.branch.provider == "neon")] | length' "$root/out/cold.json")
expected=$((syn_projects * syn_branches))
(( audited == expected )) || die "the audit saw $audited Neon branches, not $expected"
findings=$(jq -r .findings "$root/out/cold.json")

# --- warm: from the cache ----------------------------------------------------
ctl POST stats/reset >/dev/null
load_warm=$(load1)
read -r warm_json warm_json_min <<<"$(hf audit_json "$runs" ds db audit --json -C "$ws")"
read -r warm_table warm_table_min <<<"$(hf audit_table "$runs" ds db audit -C "$ws")"
read -r warm_check warm_check_min <<<"$(hf audit_check "$runs" \
  ds db audit --check --owner nobody -C "$ws")"
warm_req=$(ctl GET stats | jq -r .total)

# --- neonctl: the same listing, scripted -------------------------------------
nc_ms=0 nc_req=-
if [[ $with_neonctl != 0 ]]; then
  log "neonctl listing of $syn_projects projects (one run)"
  ctl POST stats/reset >/dev/null
  nc_ms=$(nc_timeout=3600 timed "$root/out/nc.txt" env NEONCTL="$neonctl" "$repo/bench/audit_neonctl.sh")
  nc_req=$(ctl GET stats | jq -r .total)
  nc_count=$(tail -n1 "$root/out/nc.txt")
  [[ $nc_count == "$expected" ]] || die "the neonctl script listed $nc_count branches, not $expected"
fi

alive "$dsd_pid" || die "dsd died during the run"
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
f0() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }

cat <<EOF
Machine: $(machine); date: $(utc_now); run time: $(run_time) s
Load average at the start: $load_start; 1-min load when the warm runs began: $load_warm.
ds $("$bin/ds" --version | head -n1) (commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)), neonctl $nc_version, hyperfine $(hyperfine --version | cut -d' ' -f2). Account: $syn_projects projects × $syn_branches branches (Neon API double, synthetic); $findings branches with findings.

| command | median | best | API requests | target |
|---|---|---|---|---|
| \`ds db audit --json\`, warm, $runs runs | $(f1 "$warm_json") ms | $(f1 "$warm_json_min") ms | $warm_req over all warm runs | ≤ 30 ms: $(verdict le "$warm_json" 30) |
| \`ds db audit\` (table), warm, $runs runs | $(f1 "$warm_table") ms | $(f1 "$warm_table_min") ms | (same) | ≤ 30 ms: $(verdict le "$warm_table" 30) |
| \`ds db audit --check --owner nobody\`, warm, $runs runs | $(f1 "$warm_check") ms | $(f1 "$warm_check_min") ms | (same) | |
| \`ds db audit --refresh --json\`, dsd with no data (fetches the account), 1 run | $(f0 "$cold_ms") ms | | $cold_req | |
| bench/audit_neonctl.sh: \`neonctl projects list\` + $syn_projects × \`neonctl branches list -o json\`, 1 run | $(f0 "$nc_ms") ms | | $nc_req | |
EOF
