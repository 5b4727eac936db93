#!/usr/bin/env bash
# Benchmarks the organization copy (daemon/orgcopy, driven by org_copy_bench)
# side by side with what a user would otherwise do, on one local cluster:
#
#   ds, superuser          the engine, replica mode (FK checks off, checked after)
#   ds, non-superuser      the engine as the target's owner: FK order, NULL-then-
#                          UPDATE and deferred cycles, user triggers switched off
#   (a) raw COPY           the same rows, already selected (ds's superuser
#                          target), streamed whole table by table with the same
#                          libpq passthrough, one transaction, replica mode, no
#                          selection and no checks: the ceiling
#   (b) pg_dump + delete   pg_dump --data-only -Fc of the whole source, pg_restore
#                          --disable-triggers, then DELETE of the other
#                          organizations' owned rows by org_id (a naive delete: it
#                          keeps no cross-organization parents, so it does less
#                          than the rule; its time is a lower bound)
#   (c) INSERT per row     the same rows as pg_dump --column-inserts, replayed by
#                          psql in one transaction (dump time included)
#
# Each timed method starts after a CHECKPOINT and with the database it reads
# in the OS page cache (warm()).
#
# Source: daemon/orgcopy/testdata/schema.sql filled by generate.sql with
# BENCH_ORGS organizations; organization 1 holds BENCH_BIG times the rows of
# each other one (50 and 5: about 9% of the rows). Prints a markdown table
# on stdout, progress on stderr; copy the table into docs/benchmarks.md.
#
# Usage: cmake --build --preset release --target org_copy_bench && bench/copy_org.sh
#
# Environment:
#   BUILD_DIR     build tree with bin/org_copy_bench (default build/release)
#   BENCH_SCALE   rows per organization, in generator units (default 1500:
#                 a ~1.2 GB source)
#   BENCH_ORGS    organizations (default 50); BENCH_BIG (default 5)
#   BENCH_SKIP    methods to leave out, of "dump insert" ((b) and (c), two
#                 thirds of the run's time; ds and (a) always run)
#   BENCH_BASELINE another build's org_copy_bench (say, main's, copied
#                 aside): its two ds rows run on the same source, each
#                 just before the build under test's, for before/after
#   BENCH_REPEAT  rounds of the ds rows and (a) (default 1), interleaved
#                 (baseline, build, ..., (a), then again): the table shows
#                 each row's median and all its runs (this VM's run-to-run
#                 spread, 10-20%, is as large as most changes)
#   BENCH_HUGE_PAGES  1: the cluster's shared memory on huge pages (as root:
#                 the script reserves them with vm.nr_hugepages and gives
#                 them back at the end) and its backends' malloc heaps on
#                 transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1).
#                 On a VM where mapping a page costs microseconds (this
#                 one: ~10 us per 4 KiB page, docs/benchmarks.md), every
#                 new backend pays that for each page of shared_buffers
#                 it touches; the selection touches all of them
#   BENCH_SERVER_LOG  a file: the server logs every statement of BENCH_LOG_MS
#                 (default 100) ms or more, with its duration, and its log
#                 is copied there at the end, to see where the time goes
#   DS_TEST_USER  user that runs postgres and the clients when run as root
#                 (default ds-test; created if missing)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-build/release}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
scale=${BENCH_SCALE:-1500}
orgs=${BENCH_ORGS:-50}
big=${BENCH_BIG:-5}
test_user=${DS_TEST_USER:-ds-test}
skip=" ${BENCH_SKIP:-} "
baseline=${BENCH_BASELINE:-}
repeat=${BENCH_REPEAT:-1}
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_REPEAT must be a positive number" >&2; exit 2; }
runs() { [[ $skip != *" $1 "* ]]; }

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
log() { echo "$(date -u +%T) $*" >&2; }
need_built org_copy_bench

make_root /tmp/ds-bench-orgcopy
server_log=${BENCH_SERVER_LOG:-}
huge_pages=${BENCH_HUGE_PAGES:-0}
[[ $huge_pages == [01] ]] || { echo "BENCH_HUGE_PAGES must be 0 or 1" >&2; exit 2; }
if ((huge_pages)) && [[ $(id -u) -ne 0 ]]; then
  echo "BENCH_HUGE_PAGES=1 needs root: it reserves huge pages (sysctl vm.nr_hugepages)" >&2
  exit 2
fi
hugepages_before=$(cat /proc/sys/vm/nr_hugepages)
cleanup() {
  [[ -z $server_log ]] || cp "$root/work/server.log" "$server_log" || true
  stop_cluster "$root/data"
  rm -rf "$root"
  if ((huge_pages)); then echo "$hugepages_before" >/proc/sys/vm/nr_hugepages || true; fi
}
install_cleanup_traps
mkpriv "$root/work" 755
cp "$build_dir/bin/org_copy_bench" "$repo/daemon/orgcopy/testdata/"{schema,generate}.sql "$root/work/"
chmod 755 "$root/work/org_copy_bench"
if [[ -n $baseline ]]; then
  cp "$baseline" "$root/work/baseline_bench"
  chmod 755 "$root/work/baseline_bench"
fi
chmod 644 "$root/work/"*.sql
sock=$root/work

now() { echo "$EPOCHREALTIME"; }
elapsed() { echo "$2 - $1" | bc -l | xargs printf '%.2f'; }

log "initdb and start a cluster in $root"
mkpriv "$root/data" 700
"${as_user[@]}" "$pg_bin/initdb" -D "$root/data" -A trust -U bench --no-sync >/dev/null
server_env=()
server_opts="-k $sock -c listen_addresses='' -c max_wal_size=4GB -c shared_buffers=256MB"
if ((huge_pages)); then
  # PostgreSQL 15 tells how many huge pages its shared memory needs.
  needed=$("${as_user[@]}" "$pg_bin/postgres" -D "$root/data" -c shared_buffers=256MB \
    -C shared_memory_size_in_huge_pages)
  ((needed > 0)) || { echo "this kernel offers PostgreSQL no huge pages" >&2; exit 1; }
  echo $((hugepages_before + needed)) >/proc/sys/vm/nr_hugepages
  (($(cat /proc/sys/vm/nr_hugepages) >= hugepages_before + needed)) ||
    { echo "the kernel could not reserve $needed huge pages" >&2; exit 1; }
  server_opts+=" -c huge_pages=on"
  server_env=(GLIBC_TUNABLES=glibc.malloc.hugetlb=1)
  log "huge pages: $needed reserved for shared memory; malloc heaps on THP"
fi
"${as_user[@]}" env "${server_env[@]}" "$pg_bin/pg_ctl" -D "$root/data" -l "$root/work/server.log" -w \
  -o "$server_opts${server_log:+ -c log_min_duration_statement=${BENCH_LOG_MS:-100}}" \
  start >/dev/null

q() { "${as_user[@]}" "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -U bench "$@"; }
conn() { echo "host=$sock user=${2:-bench} dbname=$1"; }

q -d postgres -c "CREATE ROLE bench_owner LOGIN NOSUPERUSER"
# new_target NAME [OWNER]: an empty database with the schema, owned by OWNER;
# then a CHECKPOINT, so that every timed method starts with no dirty pages
# of the one before it left to write (the generator's, above all).
new_target() {
  q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" \
    -c "CREATE DATABASE $1"
  if [[ -n ${2:-} ]]; then
    q -d "$1" -c "ALTER DATABASE $1 OWNER TO $2; ALTER SCHEMA public OWNER TO $2"
    q -d "$1" -U "$2" -f "$root/work/schema.sql"
  else
    q -d "$1" -f "$root/work/schema.sql"
  fi
  q -d postgres -c "CHECKPOINT"
}

log "generating the source: $orgs organizations, scale $scale, organization 1 x$big"
t0=$(now)
q -d postgres -c "CREATE DATABASE source"
q -d source -f "$root/work/schema.sql" -f "$root/work/generate.sql" \
  -c "SELECT orgcopy_generate(orgs => $orgs, scale => $scale, big => $big, seed => 1)" \
  -c "VACUUM ANALYZE" >/dev/null
source_size=$(q -d source -Atc "SELECT pg_size_pretty(pg_database_size('source'))")
source_rows=$(q -d source -Atc "SELECT sum(n_live_tup) FROM pg_stat_user_tables")
log "source: $source_size, $source_rows rows, generated in $(elapsed "$t0" "$(now)") s"

# warm DB, just before a timed method reads DB (lib.sh, warm_db): (a) reads a
# database written seconds before it; without this, ds would read a colder
# source than (a) does, and the first of two ds rows a colder one than the
# second.
warm() { warm_db q "$1"; }

run_ds() {  # run_ds BINARY TARGET USER [--no-replica]: seconds; the summary on stderr
  local binary=$1 target=$2 user=$3
  shift 3
  local t
  warm source
  t=$(now)
  printf '%s\n%s\n' "$(conn source)" "$(conn "$target" "$user")" |
    "${as_user[@]}" "$root/work/$binary" --org 1 "$@" >"$root/work/$target.out"
  elapsed "$t" "$(now)"
  cat "$root/work/$target.out" >&2
}

# One round: each ds row (the baseline's just before the build's), then
# (a) of the superuser's rows; the seconds are appended to the row's list.
declare -A times=()
round() {
  if [[ -n $baseline ]]; then
    log "ds baseline, superuser"
    new_target base_super
    times[base_super]+=" $(run_ds baseline_bench base_super bench)"
  fi
  log "ds, superuser"
  new_target ds_super
  times[ds_super]+=" $(run_ds org_copy_bench ds_super bench)"
  rows=$(awk '$1 == "total" {print $2}' "$root/work/ds_super.out")
  bytes=$(awk '$1 == "total" {print $3}' "$root/work/ds_super.out")

  if [[ -n $baseline ]]; then
    log "ds baseline, non-superuser owner"
    new_target base_owner bench_owner
    times[base_owner]+=" $(run_ds baseline_bench base_owner bench_owner)"
  fi
  log "ds, non-superuser owner"
  new_target ds_owner bench_owner
  times[ds_owner]+=" $(run_ds org_copy_bench ds_owner bench_owner)"

  q -d ds_super -c "ANALYZE" >/dev/null
  log "(a) raw COPY of the same rows"
  new_target raw
  warm ds_super
  local t
  t=$(now)
  printf '%s\n%s\n' "$(conn ds_super)" "$(conn raw)" | "${as_user[@]}" "$root/work/org_copy_bench" --raw >&2
  times[raw]+=" $(elapsed "$t" "$(now)")"
}
# median LIST: the middle value (the lower of the two middle ones).
median() {
  [[ -n ${1// /} ]] || return 0
  tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= repeat; r++)); do
  ((repeat == 1)) || log "round $r of $repeat"
  round
done
base_super=$(median "${times[base_super]:-}")
ds_super=$(median "${times[ds_super]}")
base_owner=$(median "${times[base_owner]:-}")
ds_owner=$(median "${times[ds_owner]}")
raw=$(median "${times[raw]}")
load_after_raw=$(cut -d' ' -f1-3 /proc/loadavg)

if runs dump; then
log "(b) pg_dump --data-only of everything, restore, delete the other organizations"
new_target dumped
warm source
t=$(now)
"${as_user[@]}" "$pg_bin/pg_dump" -h "$sock" -U bench --data-only -Fc -f "$root/work/all.dump" source \
  2>>"$root/work/pg_dump.log"
"${as_user[@]}" "$pg_bin/pg_restore" -h "$sock" -U bench --data-only --disable-triggers \
  -d dumped "$root/work/all.dump"
q -d dumped -1 >/dev/null <<'SQL'
SET session_replication_role = replica;
DELETE FROM tasks t USING projects p WHERE p.id = t.project_id AND p.org_id <> 1;
DELETE FROM milestones m USING sprints s, projects p
  WHERE s.id = m.sprint_id AND p.id = s.project_id AND p.org_id <> 1;
DELETE FROM sprints s USING projects p WHERE p.id = s.project_id AND p.org_id <> 1;
DELETE FROM file_links l USING files f WHERE f.key = l.file_key AND f.org_id <> 1;
DELETE FROM event_reads WHERE event_id / 100000 <> 1;
DELETE FROM events WHERE org_id <> 1;
DELETE FROM team_leads l USING teams t WHERE t.id = l.team_id AND t.org_id <> 1;
DELETE FROM teams WHERE org_id <> 1;
DELETE FROM projects WHERE org_id <> 1;
DELETE FROM memberships WHERE org_id <> 1;
DELETE FROM users WHERE org_id <> 1;
DELETE FROM notes WHERE org_id <> 1;
DELETE FROM files WHERE org_id <> 1;
DELETE FROM audit_events WHERE org_id <> 1;
DELETE FROM billing.invoices WHERE org_id <> 1;
DELETE FROM billing.accounts WHERE org_id <> 1;
DELETE FROM organizations WHERE id <> 1;
DELETE FROM unrelated;
SQL
dumped=$(elapsed "$t" "$(now)")
fi

if runs insert; then
log "(c) one INSERT per row"
new_target inserted
warm ds_super
t=$(now)
"${as_user[@]}" "$pg_bin/pg_dump" -h "$sock" -U bench --data-only --column-inserts \
  -f "$root/work/rows.sql" ds_super 2>>"$root/work/pg_dump.log"
q -d inserted -1 -c "SET session_replication_role = replica" -f "$root/work/rows.sql" >/dev/null
inserted=$(elapsed "$t" "$(now)")
fi

mbps() { echo "$bytes / $1 / 1048576" | bc -l | xargs printf '%.1f'; }
ratio() { echo "$raw / $1 * 100" | bc -l | xargs printf '%.0f'; }
table=""
# row NAME SECONDS [RUNS]: with several rounds, SECONDS is the median and
# RUNS every round's seconds.
row() {
  [[ -n ${2:-} ]] || return 0
  table+="| $1 | $2 | $(mbps "$2") | $(ratio "$2") |"
  ((repeat == 1)) || table+=" $(xargs <<<"${3:-}" | sed 's/ /, /g') |"
  table+=$'\n'
}
row "ds baseline, superuser (replica mode)" "${base_super:-}" "${times[base_super]:-}"
row "ds, superuser (replica mode)" "$ds_super" "${times[ds_super]}"
row "ds baseline, non-superuser owner" "${base_owner:-}" "${times[base_owner]:-}"
row "ds, non-superuser owner" "$ds_owner" "${times[ds_owner]}"
row "(a) raw COPY of the same rows" "$raw" "${times[raw]}"
row "(b) pg_dump --data-only + restore + delete" "${dumped:-}"
row "(c) one INSERT per row" "${inserted:-}"
header="| method | seconds | MiB/s | % of (a) |"$'\n'"|---|---:|---:|---:|"
if ((repeat > 1)); then
  header="| method | seconds (median of $repeat) | MiB/s | % of (a) | runs (s) |"$'\n'"|---|---:|---:|---:|---|"
fi
cat <<EOF2
Source: $source_size, $source_rows rows, $orgs organizations; organization 1: $rows rows, $(echo "$bytes / 1048576" | bc -l | xargs printf '%.1f') MiB of COPY text.
Load average (1/5/15 min): $load_at_start before the ds runs, $load_after_raw after (a).

$header
${table%$'\n'}
EOF2
