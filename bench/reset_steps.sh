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
pg_bin=/usr/lib/postgresql/15/bin

log() { echo "$(date -u +%T) $*" >&2; }
die() { log "error: $*"; exit 1; }
for b in ds dsd; do
  [[ -x $build_dir/bin/$b ]] || die "$build_dir/bin/$b is missing; run: cmake --build --preset release"
done
command -v jq >/dev/null || die "jq is not installed"

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
choose_run_user "$test_user"

root=$(mktemp -d /tmp/ds-br-XXXXXX)   # short: socket paths must fit in 108 bytes
chmod 755 "$root"
dsd_pid=
cleanup() {
  set +e
  trap - INT TERM
  if [[ -n $dsd_pid ]]; then
    timeout 90 "${as_user[@]}" "$root/bin/ds" daemon stop >/dev/null 2>&1
    kill -TERM "$dsd_pid" 2>/dev/null
    wait "$dsd_pid" 2>/dev/null
  fi
  local pid_file
  for pid_file in "$root"/src/postmaster.pid "$root"/data/ds/pg/postmaster.pid; do
    [[ -f $pid_file ]] && "${as_user[@]}" "$pg_bin/pg_ctl" -D "$(dirname "$pid_file")" \
      -m immediate -w -t 10 stop >/dev/null 2>&1
  done
  rm -rf "$root"
}
install_cleanup_traps

mkpriv "$root/bin" 755
install -m 755 "$build_dir/bin/ds" "$build_dir/bin/dsd" "$root/bin/"
for d in run state config home data xdg-state sock; do mkpriv "$root/$d" 700; done
chmod 755 "$root/sock"
export PATH="$root/bin:$pg_bin:/usr/bin:/bin" HOME=$root/home XDG_RUNTIME_DIR=$root/run
export XDG_STATE_HOME=$root/xdg-state XDG_CONFIG_HOME=$root/config XDG_DATA_HOME=$root/data
export DS_STATE_DIR=$root/state DS_NO_SPAWN=1 DS_PG_BIN=$pg_bin LANG=C.UTF-8
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGSERVICEFILE PGPASSFILE DS_DSD \
  DS_PROVIDER DS_DEVELOPER DS_STAGE DS_ENV_FILE DS_TARGET_VAR DS_SOURCE_VAR DS_PROJECT || true
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
"${as_user[@]}" "$root/bin/dsd" --foreground >>"$root/dsd.stderr" 2>&1 </dev/null &
dsd_pid=$!
for _ in $(seq 500); do
  [[ -S $root/run/ds/dsd.sock ]] && break
  kill -0 "$dsd_pid" 2>/dev/null || die "dsd exited early: $(tail -5 "$root/dsd.stderr")"
  sleep 0.02
done
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
