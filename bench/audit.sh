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

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
[[ $synthetic =~ ^([1-9][0-9]*)x([1-9][0-9]*)$ ]] || die "BENCH_SYNTHETIC must look like 50x100"
syn_projects=${BASH_REMATCH[1]}
syn_branches=${BASH_REMATCH[2]}
for b in ds dsd; do
  [[ -x $build_dir/bin/$b ]] || die "$build_dir/bin/$b is missing; run: cmake --build --preset release"
done
for t in hyperfine jq setpriv timeout curl node /usr/bin/python3; do
  command -v "$t" >/dev/null || die "$t is not installed"
done
neonctl=$peers_dir/node_modules/.bin/neonctl
[[ -x $neonctl ]] || die "neonctl is missing in $peers_dir/node_modules (run: npm ci --prefix $peers_dir)"
nc_version=$(jq -r .version "$peers_dir/node_modules/neonctl/package.json")

bench_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
dsd_pid=
env_pid=
env_pids=()
root=$(mktemp -d /tmp/ds-ba-XXXXXX)   # short: socket paths must fit in 108 bytes
chmod 755 "$root"

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
choose_run_user "$test_user"

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }
stop_pid() {
  alive "$1" || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq $(($2 * 20))); do alive "$1" || return 0; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null
}
cleanup() {
  local rc=$?
  set +e
  trap - INT TERM
  if alive "$dsd_pid"; then
    timeout 30 "${as_user[@]}" ds daemon stop >/dev/null 2>&1
    stop_pid "$dsd_pid" 5
  fi
  if alive "$env_pid"; then
    kill -TERM "$env_pid"
    for _ in $(seq 600); do alive "$env_pid" || break; sleep 0.05; done
    alive "$env_pid" && kill -KILL "$env_pid"
  fi
  [[ -n $env_pid ]] && wait "$env_pid" 2>/dev/null
  local p
  for p in "${env_pids[@]}"; do stop_pid "$p" 5; done
  rm -rf "$root"
  exit "$rc"
}
install_cleanup_traps

bin=$root/bin
mkdir -p "$bin"
chmod 755 "$bin"
install -m 755 "$build_dir/bin/ds" "$build_dir/bin/dsd" "$bin/"
for d in run state config data home out neon; do mkpriv "$root/$d" 700; done
ws=$root/ws
mkpriv "$ws" 755

export PATH="$bin:/usr/bin:/bin"
export HOME=$root/home
USER=$(id -un "$run_uid")
export USER
export XDG_RUNTIME_DIR=$root/run XDG_STATE_HOME=$root/xdg-state XDG_CONFIG_HOME=$root/config
export XDG_DATA_HOME=$root/data DS_STATE_DIR=$root/state
export LANG=C.UTF-8 NO_COLOR=1 PYTHONDONTWRITEBYTECODE=1
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD DATABASE_URL DS_PROVIDER DS_DEVELOPER \
  DS_BRANCH_PATTERN DS_PROJECT DS_BRANCH_LIMIT NEON_API_KEY NEON_API_HOST NEON_ORG_ID \
  NODE_OPTIONS NODE_PATH || true
cd "$ws"

log "starting PostgreSQL 15 and the Neon API doubles (synthetic $synthetic)"
"${as_user[@]}" /usr/bin/python3 "$repo/bench/neon_env.py" --root "$root/neon/env" \
  --synthetic "$synthetic" >"$root/out/env.json" 2>"$root/out/env.log" </dev/null &
env_pid=$!
for _ in $(seq 1200); do
  [[ -s $root/out/env.json ]] && break
  alive "$env_pid" || die "neon_env.py exited: $(tail -c 2000 "$root/out/env.log")"
  sleep 0.1
done
[[ -s $root/out/env.json ]] || die "neon_env.py did not start within 120 s"
envj=$(head -n1 "$root/out/env.json")
mapfile -t env_pids < <(jq -r '.pids[]' <<<"$envj")
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
  log "hyperfine ($n runs, load $(cut -d' ' -f1 /proc/loadavg)): $*"
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
load_warm=$(cut -d' ' -f1 /proc/loadavg)
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
elapsed=$(( $(date +%s) - bench_start ))
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
f0() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
verdict() { awk -v x="$1" -v y="$2" 'BEGIN { if (x <= y) print "met"; else print "**not met**" }'; }

cat <<EOF
Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo); date: $(date -u '+%Y-%m-%d %H:%M UTC'); run time: $elapsed s
Load average at the start: $load_start; 1-min load when the warm runs began: $load_warm.
ds $("$bin/ds" --version | head -n1) (commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)), neonctl $nc_version, hyperfine $(hyperfine --version | cut -d' ' -f2). Account: $syn_projects projects × $syn_branches branches (Neon API double, synthetic); $findings branches with findings.

| command | median | best | API requests | target |
|---|---|---|---|---|
| \`ds db audit --json\`, warm, $runs runs | $(f1 "$warm_json") ms | $(f1 "$warm_json_min") ms | $warm_req over all warm runs | ≤ 30 ms: $(verdict "$warm_json" 30) |
| \`ds db audit\` (table), warm, $runs runs | $(f1 "$warm_table") ms | $(f1 "$warm_table_min") ms | (same) | ≤ 30 ms: $(verdict "$warm_table" 30) |
| \`ds db audit --check --owner nobody\`, warm, $runs runs | $(f1 "$warm_check") ms | $(f1 "$warm_check_min") ms | (same) | |
| \`ds db audit --refresh --json\`, dsd with no data (fetches the account), 1 run | $(f0 "$cold_ms") ms | | $cold_req | |
| bench/audit_neonctl.sh: \`neonctl projects list\` + $syn_projects × \`neonctl branches list -o json\`, 1 run | $(f0 "$nc_ms") ms | | $nc_req | |
EOF
