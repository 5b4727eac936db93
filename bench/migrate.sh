#!/usr/bin/env bash
# Benchmarks `ds db migrate` side by side with `drizzle-kit migrate` on the
# same Drizzle folder (bench/gen_migrations.py: 500 generated migrations of
# mixed DDL) and the same private PostgreSQL 15 cluster:
#   full run  every migration applied to a fresh, empty database; each tool
#             gets its own new database per repetition, the two alternate
#   no-op     everything already applied: the cost of "check, nothing to do"
# One run; prints a markdown table on stdout (progress goes to stderr) and
# writes nothing else: copy the table into docs/benchmarks.md by hand.
#
# Usage: cmake --build --preset release --target ds dsd && bench/migrate.sh
#
# Environment:
#   BUILD_DIR          build tree whose bin/ holds ds and dsd
#                      (default build/release, relative to the repository)
#   DS_PEERS_DIR       directory whose node_modules holds drizzle-kit and
#                      drizzle-orm (default tests/peers; `npm ci` there)
#   DS_TEST_USER       user that runs dsd, ds, drizzle-kit and postgres when
#                      run as root (default ds-test; created if missing)
#   BENCH_COUNT        migrations to generate (default 500)
#   BENCH_RUNS         full-run repetitions per tool (default 5)
#   BENCH_NOOP_RUNS    no-op runs per tool, after 3 warm-ups (default 20)
#   BENCH_DRIZZLE_ONLY 1: measure drizzle-kit alone (for a ds without
#                      `ds db migrate`)
#
# Everything runs in a private temp root that is removed on exit (Ctrl-C
# included): one dsd with its own state dir and socket, one PostgreSQL 15 on
# a free port of 127.0.0.1 (trust authentication, fsync=off) that both tools
# reach over TCP. Takes a minute or two.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-build/release}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
peers_dir=${DS_PEERS_DIR:-tests/peers}
[[ $peers_dir == /* ]] || peers_dir=$repo/$peers_dir
test_user=${DS_TEST_USER:-ds-test}
count=${BENCH_COUNT:-500}
runs=${BENCH_RUNS:-5}
noop_runs=${BENCH_NOOP_RUNS:-20}
drizzle_only=${BENCH_DRIZZLE_ONLY:-0}
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

for v in count runs noop_runs; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
need_built ds dsd
need_tools hyperfine jq setpriv timeout node python3
need_pg15 initdb pg_ctl postgres psql pg_dump
kit_bin=$peers_dir/node_modules/.bin/drizzle-kit
[[ -x $kit_bin && -d $peers_dir/node_modules/drizzle-orm ]] ||
  die "drizzle-kit / drizzle-orm missing in $peers_dir/node_modules (run: npm ci --prefix $peers_dir)"
# CLI11 shows `ds db`'s help, exit 0, for an unknown subcommand: look for an option.
if ! "$build_dir/bin/ds" db migrate --help 2>/dev/null | grep -q -- '--dir'; then
  [[ $drizzle_only == 1 ]] ||
    die "this ds has no \`ds db migrate\` (BENCH_DRIZZLE_ONLY=1 measures drizzle-kit alone)"
  log "ds has no \`ds db migrate\`: measuring drizzle-kit alone"
fi
with_ds=1
[[ $drizzle_only == 1 ]] && with_ds=0

bench_started

# --- private root, and the user that runs everything ----------------------
dsd_pid=
pg_data=
make_root /tmp/ds-bm

cleanup() {
  local rc=$?
  set +e
  trap - INT TERM
  stop_dsd
  [[ -n $pg_data ]] && stop_cluster "$pg_data"
  rm -rf "$root"
  exit "$rc"
}
install_cleanup_traps

stage_bins ds dsd
for d in run state config data home out pgsock pglog; do mkpriv "$root/$d" 700; done

# The workspace: ds.toml, an empty .env, and the generated folder.
ws=$root/ws
mkpriv "$ws" 755
printf 'developer = "bench"\n' >"$ws/ds.toml"
: >"$ws/.env"
log "generating $count migrations"
python3 "$repo/bench/gen_migrations.py" "$ws/drizzle" --count "$count" 2>"$root/out/gen.log" ||
  die "gen_migrations.py failed: $(cat "$root/out/gen.log")"
folder=$ws/drizzle
chown -R "$run_uid:$run_gid" "$ws"
nstmts=$(cat "$folder"/*.sql | grep -o -- '--> statement-breakpoint' | wc -l)
nstmts=$(( nstmts + count ))
folder_kb=$(du -sk "$folder" | cut -f1)

# drizzle-kit's project: a plain-JS config, and node_modules from the peers
# so that drizzle-kit finds drizzle-orm and pg next to the config.
kit=$root/kit
mkpriv "$kit" 755
ln -s "$peers_dir/node_modules" "$kit/node_modules"
cat >"$kit/drizzle.config.mjs" <<EOF
export default {
  dialect: 'postgresql',
  out: '$folder',
  dbCredentials: { url: process.env.DATABASE_URL },
};
EOF
chown -h "$run_uid:$run_gid" "$kit/node_modules" "$kit/drizzle.config.mjs"

bench_env
export DS_NO_SPAWN=1 NO_COLOR=1
cd "$ws"

# --- PostgreSQL 15 --------------------------------------------------------
port=$(free_port)
log "initdb + start PostgreSQL 15 on 127.0.0.1:$port"
pg_data=$root/pg
start_cluster "$pg_data" "-c listen_addresses=127.0.0.1 -p $port"
url() { echo "postgresql://postgres@127.0.0.1:$port/$1"; }
sql() {  # sql DB SQL: runs SQL as postgres over the Unix socket, prints the rows
  timeout 120 "${as_user[@]}" psql -X -At -q -v ON_ERROR_STOP=1 -h "$root/pgsock" -p "$port" \
    -U postgres -d "$1" -c "$2"
}
new_db() { sql postgres "create database \"$1\"" >/dev/null || die "create database $1 failed"; }

# --- dsd ------------------------------------------------------------------
if (( with_ds )); then
  log "starting dsd in $root"
  start_dsd "$root/out/dsd.stderr"
fi

# drizzle-kit reads the target from DATABASE_URL (see its config above).
kit_cmd=("$kit_bin" migrate "--config=$kit/drizzle.config.mjs")

# timed LOG TOOL DB: runs TOOL (ds, kit or psql) against DB as the run user, its
# output appended to LOG; prints the wall time in ms. The clock runs in a
# shell of the run user, so setpriv is outside the timing.
timed() {
  local out=$1 tool=$2 db=$3 t
  local -a cmd
  case $tool in
    ds) cmd=(ds db migrate -C "$ws" --db "$(url "$db")" --dir "$folder" --yes) ;;
    kit) cmd=("${kit_cmd[@]}") ;;
    psql) cmd=(psql -X -q -1 -v ON_ERROR_STOP=1 -d "$(url "$db")" -f "$root/out/all.sql") ;;
  esac
  # shellcheck disable=SC2016  # expanded by the inner shell
  t=$(DATABASE_URL=$(url "$db") timeout --foreground 600 "${as_user[@]}" bash -c \
    'out=$1; shift; s=$EPOCHREALTIME; "$@" >>"$out" 2>&1; rc=$?; e=$EPOCHREALTIME
     echo "$s $e"; exit $rc' _ "$out" "${cmd[@]}") ||
    die "$tool failed on $db (exit $?): $(tail -c 2000 "$out" | tr '\r' '\n' | tail -n 15)"
  awk '{ printf "%.1f", ($2 - $1) * 1000 }' <<<"$t"
}

# check DB TOOL: every migration is recorded, as drizzle records it.
check() {
  local n
  n=$(sql "$1" 'select count(*) from drizzle.__drizzle_migrations')
  [[ $n == "$count" ]] || die "$2 left $n rows in drizzle.__drizzle_migrations on $1, not $count"
}

# same_result DB_A DB_B: the same schema and the same tracking rows (ds's
# own log table aside; pg_dump's comments and random \restrict keys too).
same_result() {
  local a=$1 b=$2 f
  for f in "$a" "$b"; do
    timeout 120 "${as_user[@]}" pg_dump -s -h "$root/pgsock" -p "$port" -U postgres \
      -T 'drizzle.__ds_*' "$f" | grep -Ev '^(--|\\(un)?restrict )' >"$root/out/schema-$f.sql" ||
      die "pg_dump -s $f failed"
    sql "$f" 'select hash, created_at from drizzle.__drizzle_migrations order by id' \
      >"$root/out/rows-$f.txt"
  done
  diff -q "$root/out/schema-$a.sql" "$root/out/schema-$b.sql" >/dev/null ||
    die "the schemas differ ($a vs $b):
$(diff "$root/out/schema-$a.sql" "$root/out/schema-$b.sql" | head -20)"
  diff -q "$root/out/rows-$a.txt" "$root/out/rows-$b.txt" >/dev/null ||
    die "the tracking rows differ ($a vs $b):
$(diff "$root/out/rows-$a.txt" "$root/out/rows-$b.txt" | head -10)"
}

# --- full runs: fresh databases, the tools taking turns -------------------
# The floor: the same SQL through psql in one transaction (-1), no tracking
# table: what PostgreSQL itself spends on the DDL. The files in journal
# order, a newline between two (the marker lines are SQL comments).
jq -r '.entries[].tag' "$folder/meta/_journal.json" | while read -r tag; do
  cat "$folder/$tag.sql"
  echo
done >"$root/out/all.sql"
chmod 644 "$root/out/all.sql"
tools=(psql kit)
(( with_ds )) && tools=(ds kit psql)
declare -A full=()
load_full=$(load1)
for i in $(seq "$runs"); do
  # Rotate the order, so that no tool always runs first or after another.
  n=${#tools[@]}
  order=()
  for j in $(seq 0 $((n - 1))); do order+=("${tools[$(( (i + j) % n ))]}"); done
  for tool in "${order[@]}"; do
    db=full_${tool}_$i
    new_db "$db"
    # Each timed run starts with no dirty buffers left by the one before.
    sql postgres "checkpoint" >/dev/null
    t=$(timed "$root/out/$tool-full.log" "$tool" "$db")
    [[ $tool == psql ]] || check "$db" "$tool"
    full[$tool]+="$t "
    log "full run $i, $tool: $t ms"
  done
  (( i == 1 && with_ds )) && same_result full_ds_1 full_kit_1
  # The last databases stay for the no-op runs. FORCE: dsd keeps an idle
  # pooled connection to the database it migrated.
  for tool in "${tools[@]}"; do
    if (( i < runs )) || [[ $tool == psql ]]; then
      sql postgres "drop database full_${tool}_$i with (force)" >/dev/null
    fi
  done
done
ntables=$(sql "full_kit_$runs" "select count(*) from pg_tables where schemaname = 'public'")

# --- no-op runs (hyperfine as the run user: no setpriv inside a timing) ----
# noop NAME DB ARGV...: hyperfine's median and best wall time in ms. With
# $prepare set (an argv, as one string), hyperfine runs it before each run.
prepare=
noop() {
  local name=$1 db=$2 out=$root/out/$1.json
  shift 2
  log "hyperfine ($noop_runs runs): $*"
  local -a cmd=("$@") extra=()
  [[ -n $prepare ]] && extra=(--prepare "$prepare")
  DATABASE_URL=$(url "$db") timeout --foreground 600 "${as_user[@]}" hyperfine -N --warmup 3 \
    --runs "$noop_runs" --style basic --export-json "$out" --command-name "$name" \
    "${extra[@]}" "$(printf '%q ' "${cmd[@]}")" >&2 || die "hyperfine failed for: $*"
  jq -r '.results[0] | "\(.median * 1000) \(.min * 1000)"' "$out"
}
load_noop=$(load1)
if (( with_ds )); then
  res=$(noop ds_noop "full_ds_$runs" \
    ds db migrate -C "$ws" --db "$(url "full_ds_$runs")" --dir "$folder" --yes)
  read -r ds_noop ds_noop_min <<<"$res"
  # dsd keeps a finished job's connection for 30 s: the runs above reuse it.
  # Cold: that connection is closed before each run, as after a pause.
  # (One line: hyperfine splits it like a shell, without $'...'.)
  prepare=$(printf '%q ' psql -X -q -o /dev/null -d "$(url postgres)" -c "select \
pg_terminate_backend(pid, 5000) from pg_stat_activity where application_name = 'ds: idle pooled connection'")
  res=$(noop ds_noop_cold "full_ds_$runs" \
    ds db migrate -C "$ws" --db "$(url "full_ds_$runs")" --dir "$folder" --yes)
  prepare=
  read -r ds_cold ds_cold_min <<<"$res"
  check "full_ds_$runs" ds
  res=$(noop ds_version postgres ds --version)
  read -r ds_version_ms _ <<<"$res"
fi
res=$(noop kit_noop "full_kit_$runs" "${kit_cmd[@]}")
read -r kit_noop kit_noop_min <<<"$res"
check "full_kit_$runs" drizzle-kit
res=$(noop psql "full_kit_$runs" psql -X -q -d "$(url "full_kit_$runs")" -c 'select 1')
read -r psql_ms psql_best <<<"$res"
res=$(noop node postgres node -e 0)
read -r node_ms node_min <<<"$res"

stop_dsd
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- table ----------------------------------------------------------------
stat() {  # stat median|min VALUES...
  local what=$1
  shift
  printf '%s\n' "$@" | sort -g | awk -v w="$what" '{ v[NR] = $1 }
    END { printf "%.1f", (w == "min" ? v[1] : v[int((NR + 1) / 2)]) }'
}
f0() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
each() {  # each X...: "1 / 2 / 3"
  local out="" v
  for v in "$@"; do out+="${out:+ / }$(f0 "$v")"; done
  echo "$out"
}

read -r -a kit_full <<<"${full[kit]}"
kit_med=$(stat median "${kit_full[@]}")
kit_min=$(stat min "${kit_full[@]}")
read -r -a sql_full <<<"${full[psql]}"
sql_med=$(stat median "${sql_full[@]}")
sql_min=$(stat min "${sql_full[@]}")

cat <<EOF
Machine: $(machine); date: $(utc_now); run time: $(run_time) s
Load average (1/5/15 min) at the start: $load_start; at the end: $load_end. 1-min load when the full runs began: $load_full; the no-op runs: $load_noop.
Folder: $count migrations from bench/gen_migrations.py ($nstmts statements, $folder_kb KiB; $ntables tables at the end), PostgreSQL $(sql postgres 'show server_version') on 127.0.0.1 (TCP, trust, fsync=off); drizzle-kit $(jq -r .version "$peers_dir/node_modules/drizzle-kit/package.json"), drizzle-orm $(jq -r .version "$peers_dir/node_modules/drizzle-orm/package.json"), node $(node --version).

| tool | case | median | best | ds / drizzle-kit (median) | target |
|---|---|---|---|---|---|
EOF
if (( with_ds )); then
  read -r -a ds_full <<<"${full[ds]}"
  ds_med=$(stat median "${ds_full[@]}")
  ds_min=$(stat min "${ds_full[@]}")
  r_full=$(ratio "$ds_med" "$kit_med")
  r_noop=$(ratio "$ds_noop" "$kit_noop")
  cat <<EOF
| \`ds db migrate\` | full run: $count migrations on an empty database, $runs runs ($(each "${ds_full[@]}") ms) | $(f0 "$ds_med") ms | $(f0 "$ds_min") ms | $r_full | ≤ 0.5: $(verdict le "$r_full" 0.5) |
| \`drizzle-kit migrate\` | full run, $runs runs ($(each "${kit_full[@]}") ms) | $(f0 "$kit_med") ms | $(f0 "$kit_min") ms | | |
| \`ds db migrate\` | no-op: all $count applied, $noop_runs runs, warm (dsd reuses its connection) | $(f1 "$ds_noop") ms | $(f1 "$ds_noop_min") ms | $r_noop | ≤ 30 ms: $(verdict le "$ds_noop" 30) |
| \`ds db migrate\` | no-op, cold: dsd's pooled connection closed before each run | $(f1 "$ds_cold") ms | $(f1 "$ds_cold_min") ms | $(ratio "$ds_cold" "$kit_noop") | ≤ 30 ms: $(verdict le "$ds_cold" 30) |
| \`drizzle-kit migrate\` | no-op, $noop_runs runs | $(f1 "$kit_noop") ms | $(f1 "$kit_noop_min") ms | | |
| \`ds --version\` | floor: ds start-up | $(f1 "$ds_version_ms") ms | | | |
EOF
else
  cat <<EOF
| \`ds db migrate\` | not measured: this ds has no \`ds db migrate\` | | | | |
| \`drizzle-kit migrate\` | full run: $count migrations on an empty database, $runs runs ($(each "${kit_full[@]}") ms) | $(f0 "$kit_med") ms | $(f0 "$kit_min") ms | | |
| \`drizzle-kit migrate\` | no-op: all $count applied, $noop_runs runs | $(f1 "$kit_noop") ms | $(f1 "$kit_noop_min") ms | | |
EOF
fi
cat <<EOF
| \`psql -1 -f\` | floor: the same SQL in one transaction, no tracking table, $runs runs ($(each "${sql_full[@]}") ms) | $(f0 "$sql_med") ms | $(f0 "$sql_min") ms | | |
| \`psql -X -c 'select 1'\` | floor: one connection and one query over TCP | $(f1 "$psql_ms") ms | $(f1 "$psql_best") ms | | |
| \`node -e 0\` | floor: Node.js start-up | $(f1 "$node_ms") ms | $(f1 "$node_min") ms | | |
EOF
