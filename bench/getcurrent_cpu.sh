#!/usr/bin/env bash
# dsd's CPU per GetCurrent call: dsd's utime + stime over the calls that
# ds_rpc_bench makes with 16 clients, repeated. CPU per call moves much less
# with the machine's load than latency does, so it is the figure to compare
# builds with. With BASELINE_DIR, a second dsd from that build runs beside
# the first and the two are measured in alternating runs, so both see the
# same load. Prints one line per run and a markdown table on stdout.
#
# Usage: cmake --build --preset release --target ds dsd ds_rpc_bench && bench/getcurrent_cpu.sh
#
# Environment:
#   BUILD_DIR     build tree whose bin/ holds ds, dsd, ds_rpc_bench
#                 (default build/release, relative to the repository)
#   BASELINE_DIR  optional: a directory holding another build's dsd (its
#                 bin/ or itself), measured the same way, alternating
#   CPU_RUNS      runs per build (default 5)
#   CPU_SECONDS   seconds per run (default 10)
#   CPU_CLIENTS   concurrent clients (default 16)
#   DS_TEST_USER  user that runs dsd when run as root (default ds-test)
#
# The workspace's .env names two Neon endpoints (as in current.sh), so the
# answer needs no PostgreSQL. Everything runs in a private temp root that is
# removed on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
abs() { if [[ $1 == /* ]]; then echo "$1"; else echo "$repo/$1"; fi; }
build_dir=$(abs "${BUILD_DIR:-build/release}")
runs=${CPU_RUNS:-5}
seconds=${CPU_SECONDS:-10}
clients=${CPU_CLIENTS:-16}
test_user=${DS_TEST_USER:-ds-test}

log() { printf '[cpu] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for v in runs seconds clients; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
bin_of() {  # bin_of DIR: the directory holding dsd
  if [[ -x $1/bin/dsd ]]; then echo "$1/bin"; elif [[ -x $1/dsd ]]; then echo "$1"; else
    die "no dsd in $1 or $1/bin; build it: cmake --build --preset release --target dsd"
  fi
}
new_bin=$(bin_of "$build_dir")
[[ -x $new_bin/ds_rpc_bench ]] || die "$new_bin/ds_rpc_bench is missing; build target ds_rpc_bench"
builds=(new)
if [[ -n ${BASELINE_DIR:-} ]]; then
  base_bin=$(bin_of "$(abs "$BASELINE_DIR")")
  builds=(base new)
fi
command -v jq >/dev/null || die "jq is not installed"

root=$(mktemp -d /tmp/ds-cpu-XXXXXX)   # short: a socket path must fit in 108 bytes
chmod 755 "$root"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
choose_run_user "$test_user"

declare -A pid sock
cleanup() {
  local rc=$?
  set +e
  trap - INT TERM
  for b in "${builds[@]}"; do
    [[ -n ${pid[$b]:-} ]] || continue
    kill -TERM "${pid[$b]}" 2>/dev/null
    wait "${pid[$b]}" 2>/dev/null
  done
  rm -rf "$root"
  exit "$rc"
}
install_cleanup_traps

neon_url_workspace "$root/ws"
ws=$root/ws
mkpriv "$root/bench" 755
install -m 755 "$new_bin/ds_rpc_bench" "$root/bench/"

start_dsd() {  # start_dsd NAME BIN
  local b=$1 home=$root/$1
  mkpriv "$home" 755
  mkpriv "$home/bin" 755
  install -m 755 "$2/dsd" "$home/bin/"
  for d in run state config data home; do mkpriv "$home/$d" 700; done
  sock[$b]=$home/run/ds/dsd.sock
  env -i PATH=/usr/bin:/bin HOME="$home/home" XDG_RUNTIME_DIR="$home/run" \
    XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" XDG_STATE_HOME="$home/state" \
    DS_STATE_DIR="$home/state" LANG=C.UTF-8 \
    "${as_user[@]}" "$home/bin/dsd" --foreground >"$home/dsd.stderr" 2>&1 </dev/null &
  pid[$b]=$!   # setpriv execs, so this is dsd itself
  for _ in $(seq 500); do
    [[ -S ${sock[$b]} ]] && return 0
    kill -0 "${pid[$b]}" 2>/dev/null || die "dsd ($b) exited early: $(cat "$home/dsd.stderr")"
    sleep 0.02
  done
  die "dsd ($b) did not create ${sock[$b]} within 10 s"
}
start_dsd new "$new_bin"
[[ -n ${base_bin:-} ]] && start_dsd base "$base_bin"

ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
declare -A results
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$runs"); do
  for b in "${builds[@]}"; do
    t0=$(ticks "${pid[$b]}")
    out=$(timeout --foreground $((seconds + 60)) "${as_user[@]}" "$root/bench/ds_rpc_bench" \
      --socket "${sock[$b]}" --workspace "$ws" --clients "$clients" --seconds "$seconds") ||
      die "ds_rpc_bench against $b failed"
    t1=$(ticks "${pid[$b]}")
    calls=$(jq -r .calls <<<"$out")
    errors=$(jq -r '.errors // 0' <<<"$out")
    [[ $errors == 0 ]] || die "$b: $errors errors in run $i"
    us=$(awk -v t=$((t1 - t0)) -v c="$calls" -v hz="$hz" 'BEGIN { printf "%.1f", t * 1e6 / hz / c }')
    results[$b]+="$us "
    log "run $i $b: $calls calls, $(jq -r .throughput_rps <<<"$out" | cut -d. -f1)/s, dsd CPU $us µs/call, load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
cat <<EOF
Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r); date: $(date -u '+%Y-%m-%d %H:%M UTC')
Load average before: $load_before; after: $load_after
$runs runs of ds_rpc_bench --clients $clients --seconds $seconds per build$([[ ${#builds[@]} -gt 1 ]] && echo ", alternating")

| build | dsd CPU per GetCurrent, each run (µs) | median |
|---|---|---|
EOF
for b in "${builds[@]}"; do
  name=$([[ $b == new ]] && echo "$new_bin" || echo "$base_bin")
  printf '| %s | %s | %s µs |\n' "$name" "$(sed 's/ $//; s/ / \/ /g' <<<"${results[$b]}")" \
    "$(median "${results[$b]}")"
done
