#!/usr/bin/env bash
# Times `ds db reset` step by step on the organization copy's bench data set
# (bench/copy_org.sh's source): a dsd on the local provider, a branch made by
# `ds setup` as the target, a Drizzle folder whose one migration is
# daemon/orgcopy/testdata/schema.sql, and a source database on a cluster of
# its own (like a production source, it is not the target's cluster). The
# seconds per step come from the job record (each step's start and end).
# Prints a markdown table on stdout, progress on stderr.
#
# Usage: cmake --build --preset release && bench/reset_steps.sh
#
# Environment:
#   BUILD_DIR     build tree with bin/ds and bin/dsd (default build/release)
#   BENCH_SCALE, BENCH_ORGS, BENCH_BIG   as bench/copy_org.sh (1500, 50, 5)
#   DS_TEST_USER  user that runs postgres, dsd and ds when run as root (ds-test)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-build/release}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
scale=${BENCH_SCALE:-1500}
orgs=${BENCH_ORGS:-50}
big=${BENCH_BIG:-5}
test_user=${DS_TEST_USER:-ds-test}

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
log() { echo "$(date -u +%T) $*" >&2; }
need_built ds dsd
need_tools jq

dsd_pid=
make_root /tmp/ds-br
cleanup() {
  set +e
  trap - INT TERM
  stop_dsd 90
  stop_cluster "$root/src"
  stop_cluster "$root/data/ds/pg"
  rm -rf "$root"
}
install_cleanup_traps

stage_bins ds dsd
for d in run state config home data xdg-state sock; do mkpriv "$root/$d" 700; done
chmod 755 "$root/sock"
bench_env
export DS_NO_SPAWN=1 DS_PG_BIN=$pg_bin
cd "$root"

log "the source: its own cluster, $orgs organizations, scale $scale, organization 1 x$big"
mkpriv "$root/src" 700
"${as_user[@]}" "$pg_bin/initdb" -D "$root/src" -A trust -U bench --no-sync >/dev/null
"${as_user[@]}" "$pg_bin/pg_ctl" -D "$root/src" -l "$root/sock/server.log" -w \
  -o "-k $root/sock -c listen_addresses='' -c max_wal_size=4GB -c shared_buffers=256MB" \
  start >/dev/null
q() { "${as_user[@]}" "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$root/sock" -U bench "$@"; }
q -d postgres -c "CREATE DATABASE source"
q -d source -f "$repo/daemon/orgcopy/testdata/schema.sql" \
  -f "$repo/daemon/orgcopy/testdata/generate.sql" \
  -c "SELECT orgcopy_generate(orgs => $orgs, scale => $scale, big => $big, seed => 1)" \
  -c "VACUUM ANALYZE" >/dev/null
source_size=$(q -d source -Atc "SELECT pg_size_pretty(pg_database_size('source'))")

log "dsd, ds setup, a workspace whose one migration is the bench schema"
start_dsd "$root/dsd.stderr"
ws=$root/ws
mkpriv "$ws" 755
mkpriv "$ws/drizzle" 755
mkpriv "$ws/drizzle/meta" 755
printf 'provider = "local"\ndeveloper = "bench"\n' >"$ws/ds.toml"
: >"$ws/.env"
cp "$repo/daemon/orgcopy/testdata/schema.sql" "$ws/drizzle/0000_schema.sql"
cat >"$ws/drizzle/meta/_journal.json" <<'EOF'
{"version": "7", "dialect": "postgresql", "entries": [
 {"idx": 0, "version": "7", "when": 1700000000000, "tag": "0000_schema", "breakpoints": true}]}
EOF
chown -R "$run_uid:$run_gid" "$ws"
timeout 120 "${as_user[@]}" "$root/bin/ds" setup -C "$ws" >&2 || die "ds setup failed"
echo "SOURCE_DB_CONNECTION_STRING=host=$root/sock user=bench dbname=source" >>"$ws/.env"

# As bench/copy_org.sh does before each timed method: the source in the OS
# page cache (lib.sh, warm_db) and a CHECKPOINT, untimed.
warm_db q source
q -d source -c "CHECKPOINT" >/dev/null

load=$(cut -d' ' -f1-3 /proc/loadavg)
log "ds db reset (load average $load)"
t0=$EPOCHREALTIME
timeout 3600 "${as_user[@]}" "$root/bin/ds" db reset -C "$ws" -o 1 --yes >&2 ||
  die "ds db reset failed"
total=$(echo "$EPOCHREALTIME - $t0" | bc -l | xargs printf '%.2f')
job=$("${as_user[@]}" "$root/bin/ds" jobs list --json |
  jq '[.jobs[] | select(.kind == "reset")][0]')
[[ $(jq -r .state <<<"$job") == JOB_STATE_SUCCEEDED ]] || die "the reset job did not succeed"

echo "Source: $source_size on a cluster of its own; target: a local-provider branch;" \
  "\`ds db reset -o 1 --yes\`: $total s wall, load average $load at the start."
echo
echo "| step | seconds |"
echo "|---|---:|"
jq -r '.steps[] | "| \(.name) | \(((((.finishedUnixMs // .finished_unix_ms) | tonumber) -
  ((.startedUnixMs // .started_unix_ms) | tonumber)) / 1000) * 100 | round / 100) |"' <<<"$job"
