#include "daemon/migrate/migrator.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "common/version.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// SQLSTATEs that mean "this statement cannot run in a transaction block".
constexpr std::string_view kActiveSqlTransaction = "25001";
constexpr std::string_view kUnsafeNewEnumValue = "55P04";
constexpr std::string_view kQueryCanceled = "57014";

struct TrackingTable {
  std::string schema, table;
  std::string qualified;      // "drizzle"."__drizzle_migrations"
  std::string log_qualified;  // "drizzle"."__ds_migrations_log"
  bool exists = false;
  bool has_name = false;  // drizzle 1.0's shape
};

TrackingTable NameTable(const std::string& schema, const std::string& table) {
  TrackingTable t;
  t.schema = schema;
  t.table = table;
  t.qualified = StrCat(QuoteIdent(schema), ".", QuoteIdent(table));
  t.log_qualified = StrCat(QuoteIdent(schema), ".", QuoteIdent(kDsLogTable));
  return t;
}

absl::Status SqlError(std::string_view what, const PgResult& r, const PgConnection& conn) {
  std::string msg = r.message();
  if (msg.empty()) msg = conn.ErrorMessage();
  return absl::InternalError(StrCat(what, ": ", msg));
}

// Finds the table and checks that its columns are drizzle's: id, hash,
// created_at, and optionally name and applied_at (drizzle 1.0).
absl::Status DescribeTable(PgConnection& conn, TrackingTable* t) {
  PgResult r = conn.ExecParams(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
      "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
      "ORDER BY a.attnum",
      {t->qualified});
  if (!r.ok()) return SqlError(StrCat("cannot read the columns of ", t->qualified), r, conn);
  t->exists = r.rows() > 0;
  if (!t->exists) return absl::OkStatus();
  std::map<std::string, std::string> cols;
  std::vector<std::string> listed;
  for (int i = 0; i < r.rows(); ++i) {
    cols[std::string(r.Get(i, 0))] = std::string(r.Get(i, 1));
    listed.push_back(StrCat(r.Get(i, 0), " ", r.Get(i, 1)));
  }
  bool known = cols.count("id") && cols.count("hash") && cols.count("created_at") &&
               cols["created_at"] == "bigint";
  for (const auto& [name, type] : cols) {
    if (name != "id" && name != "hash" && name != "created_at" && name != "name" &&
        name != "applied_at") {
      known = false;
    }
  }
  if (!known) {
    std::vector<std::string_view> v(listed.begin(), listed.end());
    return absl::FailedPreconditionError(
        StrCat("the tracking table ", t->qualified, " has columns (", Join(v, ", "),
               ") and not drizzle's (id, hash, created_at bigint[, name, applied_at]); nothing was "
               "applied. Point --schema/--table at drizzle's tracking table, or move this table "
               "out of the way"));
  }
  t->has_name = cols.count("name") > 0;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AppliedRow>> ReadRows(PgConnection& conn, const TrackingTable& t) {
  std::vector<AppliedRow> rows;
  if (!t.exists) return rows;
  PgResult r = conn.Exec(StrCat("SELECT id, hash, created_at", t.has_name ? ", name" : "", " FROM ",
                                t.qualified, " ORDER BY id"));
  if (!r.ok()) return SqlError(StrCat("cannot read ", t.qualified), r, conn);
  for (int i = 0; i < r.rows(); ++i) {
    AppliedRow row;
    row.id = std::strtoll(std::string(r.Get(i, 0)).c_str(), nullptr, 10);
    row.hash = std::string(r.Get(i, 1));
    if (!r.IsNull(i, 2))
      row.created_at = std::strtoll(std::string(r.Get(i, 2)).c_str(), nullptr, 10);
    if (t.has_name && !r.IsNull(i, 3)) row.name = std::string(r.Get(i, 3));
    rows.push_back(std::move(row));
  }
  return rows;
}

// Creates drizzle's table (in the shape the folder's drizzle version uses)
// and ds's log table, committed before any migration runs so that
// no-transaction files can record themselves.
absl::Status EnsureTables(PgConnection& conn, TrackingTable* t, bool drizzle_v1_shape) {
  std::string sql = StrCat("BEGIN; CREATE SCHEMA IF NOT EXISTS ", QuoteIdent(t->schema), "; ");
  if (!t->exists) {
    StrAppend(
        &sql, "CREATE TABLE IF NOT EXISTS ", t->qualified,
        " (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint",
        drizzle_v1_shape ? ", name text, applied_at timestamp with time zone DEFAULT now()" : "",
        "); ");
  }
  StrAppend(&sql, "CREATE TABLE IF NOT EXISTS ", t->log_qualified,
            " (id bigserial PRIMARY KEY, name text NOT NULL, hash text NOT NULL, "
            "created_at bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), "
            "duration_ms bigint NOT NULL, applied_by text NOT NULL, job_id text NOT NULL, "
            "ds_version text NOT NULL, note text NOT NULL DEFAULT ''); COMMIT;");
  PgResult r = conn.Exec(sql);
  if (!r.ok()) {
    conn.Exec("ROLLBACK");
    return SqlError(StrCat("cannot create the tracking table ", t->qualified), r, conn);
  }
  if (!t->exists) {
    t->exists = true;
    t->has_name = drizzle_v1_shape;
  }
  return absl::OkStatus();
}

// The advisory lock's key: one per database and tracking table, computed
// here rather than by the server to save a round trip.
int64_t LockKey(const PgConnection& conn, const TrackingTable& t) {
  std::string digest = Sha256Hex(StrCat("ds db migrate\n", conn.Database(), "\n", t.qualified));
  return static_cast<int64_t>(std::stoull(digest.substr(0, 16), nullptr, 16));
}

// Who holds the advisory lock `key`: "pid 123 (ds migrate, job 4)".
std::string LockHolder(PgConnection& conn, const std::string& key) {
  PgResult r = conn.ExecParams(
      "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, '') "
      "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
      "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
      "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
      "AND l.classid = (($1::bigint >> 32) & 4294967295)::oid "
      "AND l.objid = ($1::bigint & 4294967295)::oid LIMIT 1",
      {key});
  if (!r.ok() || r.rows() == 0) return "another session";
  std::string who = StrCat("pid ", r.Get(0, 0));
  std::string app(r.Get(0, 1));
  std::string user(r.Get(0, 2));
  if (!app.empty() || !user.empty()) {
    StrAppend(&who, " (", app.empty() ? "no application_name" : app,
              user.empty() ? "" : StrCat(", user ", user), ")");
  }
  return who;
}

struct LockResult {
  bool acquired = false;
  std::string error;
  bool cancelled = false;
};

// Polls pg_try_advisory_lock: a session blocked in pg_advisory_lock would
// hold a snapshot that CREATE INDEX CONCURRENTLY in the holder waits for.
LockResult TakeLock(PgConnection& conn, const TrackingTable& t, const MigrateOptions& o,
                    JobContext& ctx, std::string session_setup) {
  LockResult out;
  const std::string key = std::to_string(LockKey(conn, t));
  const Clock::time_point deadline = Clock::now() + o.lock_timeout;
  std::string last_holder;
  auto interval = std::chrono::milliseconds(20);
  for (;;) {
    if (ctx.cancelled()) {
      out.cancelled = true;
      return out;
    }
    // The first try carries the session set-up: one round trip for both.
    PgResult r = conn.Exec(StrCat(session_setup, "SELECT pg_try_advisory_lock(", key, ")"));
    session_setup.clear();
    if (!r.ok()) {
      out.error = StrCat("cannot take the migration lock: ", r.message());
      return out;
    }
    if (r.Get(0, 0) == "t") {
      out.acquired = true;
      return out;
    }
    std::string holder = LockHolder(conn, key);
    if (holder != last_holder) {
      ctx.Log("info",
              StrCat("waiting for the migration lock on ", t.qualified, ", held by ", holder));
      ctx.Progress(0, 0, "lock", StrCat("waiting for the migration lock held by ", holder));
      last_holder = holder;
    }
    if (Clock::now() >= deadline) {
      out.error =
          StrCat("gave up after ",
                 absl::StrFormat("%g", static_cast<double>(o.lock_timeout.count()) / 1000.0),
                 " s waiting for the migration lock held by ", holder,
                 "; another migration is running on this database (see `ds jobs list`), or raise "
                 "--lock-timeout");
      return out;
    }
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 2, std::chrono::milliseconds(250));
  }
}

// Whether a migration's chunks may be sent as one query. Not when a chunk
// controls transactions itself (COMMIT, SAVEPOINT, ...: the fast path's
// savepoint must stay meaningful) or has no statement terminator at its
// end (joined, it would run into the next chunk). A word match is enough:
// a false "unsafe" only costs the fast path.
bool OneRoundTripSafe(const DrizzleMigration& m) {
  static constexpr std::string_view kTransactionWords[] = {
      "commit", "rollback", "savepoint", "release", "begin", "abort", "transaction", "end"};
  for (const std::string& chunk : m.statements) {
    std::string_view t = TrimAsciiWhitespace(chunk);
    if (!t.empty() && t.back() != ';') return false;
    std::string word;
    for (size_t i = 0; i <= chunk.size(); ++i) {
      char c = i < chunk.size() ? chunk[i] : ' ';
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
        word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        continue;
      }
      for (std::string_view w : kTransactionWords) {
        if (word == w) return false;
      }
      word.clear();
    }
  }
  return true;
}

// The line of the file on which statement `index` starts (1-based).
int FirstLineOf(const DrizzleMigration& m, size_t index) {
  int line = 1;
  for (size_t i = 0; i < index && i < m.statements.size(); ++i) {
    line += static_cast<int>(std::count(m.statements[i].begin(), m.statements[i].end(), '\n'));
  }
  return line;
}

std::string FailureMessage(const DrizzleMigration& m, size_t index, const PgResult& r,
                           const PgConnection& conn, bool in_transaction) {
  const std::string& stmt = m.statements[index];
  std::string msg = r.message();
  if (msg.empty()) msg = conn.ErrorMessage();
  std::string out = StrCat(m.file.string(), " failed at statement ", index + 1, " of ",
                           m.statements.size(), ": ", msg);
  if (std::string code = r.sqlstate(); !code.empty()) StrAppend(&out, " (SQLSTATE ", code, ")");
  StrAppend(&out, "\n  statement: ", ShortenStatement(stmt));
  if (int pos = r.position(); pos > 0) {
    StrAppend(&out, "\n  at ", m.file.filename().string(), ":",
              PositionInFile(stmt, pos, FirstLineOf(m, index)));
  }
  if (std::string d = r.detail(); !d.empty()) StrAppend(&out, "\n  detail: ", d);
  if (std::string h = r.hint(); !h.empty()) StrAppend(&out, "\n  hint: ", h);
  std::string code = r.sqlstate();
  if (in_transaction && (code == kActiveSqlTransaction || code == kUnsafeNewEnumValue)) {
    StrAppend(&out, "\n  This statement cannot run inside a transaction. Put `",
              kNoTransactionDirective, "` as the first line of ", m.file.filename().string(),
              code == kUnsafeNewEnumValue
                  ? " (after moving the ALTER TYPE ... ADD VALUE into a file of its own)"
                  : "",
              " so that ds runs it on its own, outside a transaction.");
  }
  return out;
}

class TrackingWriter {
 public:
  TrackingWriter(PgConnection& conn, const TrackingTable& t, const MigrateOptions& o)
      : conn_(conn), t_(t), o_(o) {}

  struct Applied {
    const DrizzleMigration* m;
    int64_t duration_ms;
    std::string note;
  };

  // Inserts drizzle's rows and ds's log rows for `applied`, in order: two
  // statements however many migrations (a 500-file run would otherwise
  // spend a thousand round trips here).
  absl::Status Record(const std::vector<Applied>& applied) {
    if (applied.empty()) return absl::OkStatus();
    std::vector<std::optional<std::string>> params;
    std::string sql =
        StrCat("INSERT INTO ", t_.qualified,
               t_.has_name ? " (hash, created_at, name) VALUES " : " (hash, created_at) VALUES ");
    for (size_t i = 0; i < applied.size(); ++i) {
      const DrizzleMigration& m = *applied[i].m;
      size_t n = params.size();
      StrAppend(&sql, i ? ", " : "", "($", n + 1, ", $", n + 2, "::bigint",
                t_.has_name ? StrCat(", $", n + 3) : "", ")");
      params.push_back(m.hash);
      params.push_back(std::to_string(m.when));
      if (t_.has_name) params.push_back(m.name);
    }
    PgResult r = conn_.ExecParams(sql, params);
    if (!r.ok())
      return SqlError(StrCat("cannot record the migrations in ", t_.qualified), r, conn_);

    params.clear();
    sql = StrCat("INSERT INTO ", t_.log_qualified,
                 " (name, hash, created_at, duration_ms, applied_by, job_id, ds_version, note) "
                 "VALUES ");
    const std::string version(common::Version());
    for (size_t i = 0; i < applied.size(); ++i) {
      const Applied& a = applied[i];
      size_t n = params.size();
      StrAppend(&sql, i ? ", " : "", "(");
      for (size_t k = 1; k <= 8; ++k) {
        StrAppend(&sql, k > 1 ? ", " : "", "$", n + k, k == 3 || k == 4 ? "::bigint" : "");
      }
      StrAppend(&sql, ")");
      for (std::string v :
           {a.m->tag, a.m->hash, std::to_string(a.m->when), std::to_string(a.duration_ms),
            o_.applied_by, o_.job_id, version, a.note}) {
        params.push_back(std::move(v));
      }
    }
    PgResult l = conn_.ExecParams(sql, params);
    if (!l.ok())
      return SqlError(StrCat("cannot record the migrations in ", t_.log_qualified), l, conn_);
    return absl::OkStatus();
  }

 private:
  PgConnection& conn_;
  const TrackingTable& t_;
  const MigrateOptions& o_;
};

JobOutcome Failed(std::string error) { return {v1::JOB_STATE_FAILED, 1, std::move(error), ""}; }
JobOutcome Cancelled(std::string what) {
  return {v1::JOB_STATE_CANCELLED, 130, std::move(what), ""};
}

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Clears the job's interrupter when the connection goes away.
struct InterrupterGuard {
  JobContext& ctx;
  ~InterrupterGuard() { ctx.SetInterrupter(nullptr); }
};

absl::StatusOr<std::shared_ptr<const DrizzleFolder>> ReadFolder(const MigrateOptions& o) {
  if (o.folders) return o.folders->Get(o.dir);
  absl::StatusOr<DrizzleFolder> f = ReadDrizzleFolder(o.dir);
  if (!f.ok()) return f.status();
  return std::make_shared<const DrizzleFolder>(std::move(*f));
}

absl::StatusOr<PooledConnection> Connect(const MigrateOptions& o, const std::string& app) {
  absl::StatusOr<std::unique_ptr<PgConnection>> c =
      o.pool ? o.pool->Acquire(o.conninfo, app) : PgConnection::Open(o.conninfo, app);
  if (!c.ok()) return c.status();
  return absl::StatusOr<PooledConnection>(absl::in_place, o.pool, o.conninfo, std::move(*c));
}

}  // namespace

std::string ShortenStatement(std::string_view statement, size_t max) {
  // Leading comment lines (the directive, drizzle's custom-file header)
  // say nothing about which statement failed.
  for (;;) {
    std::string_view rest = statement;
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\n' ||
                             rest.front() == '\r')) {
      rest.remove_prefix(1);
    }
    if (!rest.starts_with("--")) break;
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) break;  // nothing but a comment: show it
    statement = rest.substr(nl + 1);
  }
  std::string out;
  for (char c : statement) {
    bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "…";
  }
  return out;
}

std::string PositionInFile(std::string_view statement, int position, int first_line) {
  int line = first_line, col = 1, chars = 0;
  for (size_t i = 0; i < statement.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(statement[i]);
    if ((c & 0xC0) == 0x80) continue;  // UTF-8 continuation: same character
    if (++chars == position) break;
    if (c == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return StrCat(line, ":", col);
}

absl::StatusOr<v1::MigrationStatusResponse> InspectMigrations(const MigrateOptions& o) {
  absl::StatusOr<std::shared_ptr<const DrizzleFolder>> read = ReadFolder(o);
  if (!read.ok()) return read.status();
  const DrizzleFolder& folder = **read;
  absl::StatusOr<PooledConnection> conn = Connect(o, "ds migrate --status");
  if (!conn.ok()) return conn.status();
  TrackingTable t = NameTable(o.schema, o.table);
  if (absl::Status s = DescribeTable(**conn, &t); !s.ok()) return s;
  absl::StatusOr<std::vector<AppliedRow>> rows = ReadRows(**conn, t);
  if (!rows.ok()) return rows.status();
  MigrationPlan plan = PlanMigrations(folder, *rows, o.plan);

  v1::MigrationStatusResponse resp;
  resp.set_target(o.target_redacted);
  resp.set_dir(o.dir.string());
  resp.set_tracking_table(t.qualified);
  resp.set_tracking_table_exists(t.exists);
  for (const PlannedMigration& p : plan.entries) {
    v1::MigrationEntry* e = resp.add_migrations();
    e->set_tag(p.migration->tag);
    e->set_when(p.migration->when);
    e->set_name(p.migration->name);
    e->set_hash(p.migration->hash);
    e->set_file(p.migration->file.string());
    e->set_state(MigrationStateName(p.state));
    e->set_no_transaction(p.migration->no_transaction);
    e->set_statements(static_cast<int>(p.migration->statements.size()));
  }
  for (const DrizzleMigration* m : plan.to_apply) resp.add_to_apply(m->tag);
  for (std::string& e : plan.errors) resp.add_errors(std::move(e));
  for (const std::string& w : folder.warnings) resp.add_warnings(w);
  for (std::string& w : plan.warnings) resp.add_warnings(std::move(w));
  return resp;
}

JobOutcome RunMigrations(const MigrateOptions& o, JobContext& ctx) {
  const Clock::time_point start = Clock::now();
  ctx.BeginStep("read folder");
  absl::StatusOr<std::shared_ptr<const DrizzleFolder>> read = ReadFolder(o);
  if (!read.ok()) return Failed(std::string(read.status().message()));
  const DrizzleFolder& folder = **read;
  for (const std::string& w : folder.warnings) ctx.Log("warning", w);

  ctx.BeginStep("connect");
  absl::StatusOr<PooledConnection> opened = Connect(o, StrCat("ds migrate (job ", o.job_id, ")"));
  if (!opened.ok()) return Failed(std::string(opened.status().message()));
  PgConnection& conn = **opened;
  // Only a connection whose job succeeded is reused: after a failure or a
  // cancel, a late cancel request could still be on its way to it.
  bool reusable = false;
  struct DiscardUnlessReusable {
    PooledConnection& conn;
    const bool& reusable;
    ~DiscardUnlessReusable() {
      if (!reusable) conn.Discard();
    }
  } discard{*opened, reusable};
  ctx.SetInterrupter([&conn] { conn.Cancel(); });
  InterrupterGuard guard{ctx};  // cleared before the connection is closed or handed back
  // If dsd dies mid-statement, the server notices within 2 s instead of
  // holding the transaction and the lock until the statement ends (PG 14+).
  std::string setup =
      conn.ServerVersion() >= 140000 ? "SET client_connection_check_interval = 2000; " : "";

  ctx.BeginStep("lock");
  TrackingTable t = NameTable(o.schema, o.table);
  LockResult lock = TakeLock(conn, t, o, ctx, std::move(setup));
  if (lock.cancelled) return Cancelled("cancelled while waiting for the migration lock");
  if (!lock.acquired) return Failed(lock.error);
  // The lock is released when the connection closes, on every path out.

  ctx.BeginStep("plan");
  if (absl::Status s = DescribeTable(conn, &t); !s.ok()) return Failed(std::string(s.message()));
  absl::StatusOr<std::vector<AppliedRow>> rows = ReadRows(conn, t);
  if (!rows.ok()) return Failed(std::string(rows.status().message()));
  MigrationPlan plan = PlanMigrations(folder, *rows, o.plan);
  for (const std::string& w : plan.warnings) ctx.Log("warning", w);
  if (!plan.errors.empty()) {
    std::vector<std::string_view> v(plan.errors.begin(), plan.errors.end());
    return Failed(StrCat(Join(v, "\n"), "\nNothing was applied."));
  }
  const size_t total = plan.to_apply.size();
  const size_t applied_before = folder.migrations.size() - total;
  if (total == 0) {
    reusable = true;
    return {
        v1::JOB_STATE_SUCCEEDED, 0, "",
        StrCat("nothing to apply: ", folder.migrations.size(),
               folder.migrations.size() == 1 ? " migration" : " migrations", " already applied")};
  }
  ctx.Log("info", StrCat(total, " pending of ", folder.migrations.size(), " in ", o.dir.string(),
                         "; ", applied_before, " already applied"));

  if (absl::Status s = EnsureTables(conn, &t, folder.layout == DrizzleFolder::Layout::kFolders);
      !s.ok()) {
    return Failed(std::string(s.message()));
  }
  TrackingWriter writer(conn, t, o);
  std::set<const DrizzleMigration*> out_of_order;
  for (const PlannedMigration& p : plan.entries) {
    if (p.state == MigrationState::kOutOfOrder) out_of_order.insert(p.migration);
  }

  // Runs [begin, end) of to_apply: in one transaction unless the (single)
  // migration is marked no-transaction.
  size_t committed = 0;
  auto run_batch = [&](size_t begin, size_t end, bool transactional) -> std::optional<JobOutcome> {
    bool left_transaction = false;  // a chunk ran COMMIT itself (drizzle #860)
    bool savepoint_open = false;    // the fast path's savepoint exists
    std::vector<TrackingWriter::Applied> pending_rows;
    if (transactional) {
      if (PgResult r = conn.Exec("BEGIN"); !r.ok()) {
        return Failed(std::string(SqlError("BEGIN failed", r, conn).message()));
      }
    }
    auto abort = [&](JobOutcome outcome) {
      if (transactional && conn.InTransaction()) conn.Exec("ROLLBACK");
      if (transactional) {
        size_t lost = end - begin;
        StrAppend(&outcome.error, "\nNothing of this transaction was committed (", lost,
                  lost == 1 ? " migration" : " migrations", " rolled back)");
      }
      if (committed) {
        StrAppend(&outcome.error, transactional ? "; " : "\n", committed,
                  committed == 1 ? " migration" : " migrations",
                  " applied earlier in this run stay applied");
      }
      StrAppend(&outcome.error, ".");
      return outcome;
    };
    for (size_t i = begin; i < end; ++i) {
      const DrizzleMigration& m = *plan.to_apply[i];
      const Clock::time_point mstart = Clock::now();
      ctx.BeginStep(m.tag);
      ctx.Progress(static_cast<int>(i + 1), static_cast<int>(total), m.tag,
                   m.no_transaction ? "outside a transaction" : "");
      // Fast path: the whole file in one round trip (a migration's chunks
      // are usually many small DDL statements), behind a savepoint. If it
      // fails, the savepoint undoes it and the file runs chunk by chunk as
      // drizzle runs it, which also pins the error on its statement.
      size_t first_chunk = 0;
      if (transactional && !left_transaction && OneRoundTripSafe(m)) {
        if (ctx.cancelled()) return abort(Cancelled(StrCat("cancelled before ", m.tag)));
        std::string sql = StrCat(savepoint_open ? "RELEASE SAVEPOINT ds_migration; " : "",
                                 "SAVEPOINT ds_migration;\n");
        for (const std::string& chunk : m.statements) sql += chunk;
        savepoint_open = true;
        PgResult r = conn.Exec(sql);
        if (r.ok()) {
          first_chunk = m.statements.size();  // all done
        } else if (ctx.cancelled() || r.sqlstate() == kQueryCanceled) {
          return abort(Cancelled(StrCat("cancelled during ", m.file.filename().string())));
        } else if (PgResult back = conn.Exec("ROLLBACK TO SAVEPOINT ds_migration"); !back.ok()) {
          return abort(
              Failed(StrCat(m.file.filename().string(), " failed: ", r.message(),
                            " (and rolling back to its savepoint failed: ", back.message(), ")")));
        }
      }
      for (size_t k = first_chunk; k < m.statements.size(); ++k) {
        if (ctx.cancelled()) return abort(Cancelled(StrCat("cancelled before ", m.tag)));
        PgResult r = conn.Exec(m.statements[k]);
        if (!r.ok()) {
          if (ctx.cancelled() || r.sqlstate() == kQueryCanceled) {
            return abort(Cancelled(StrCat("cancelled during ", m.file.filename().string(),
                                          ", statement ", k + 1, " of ", m.statements.size())));
          }
          std::string error = FailureMessage(m, k, r, conn, transactional);
          if (!transactional) {
            StrAppend(&error, "\n", m.file.filename().string(),
                      " runs without a transaction: it is not recorded as applied",
                      k > 0 ? StrCat(", and its first ", k, " statement(s) stay applied") : "", "");
          }
          return abort(Failed(std::move(error)));
        }
        if (transactional && !left_transaction && !conn.InTransaction()) {
          left_transaction = true;  // said once: everything after autocommits
          ctx.Log("warning", StrCat(m.file.filename().string(), " statement ", k + 1,
                                    " ended the transaction (COMMIT?); what follows in this "
                                    "run is committed statement by statement"));
        }
      }
      std::string note = out_of_order.count(&m) ? "applied out of order" : "";
      pending_rows.push_back({&m, MsSince(mstart), std::move(note)});
      // Rows wait for the end of the batch, unless nothing holds the
      // statements back any more (no transaction, or a chunk committed).
      if (!transactional || left_transaction) {
        if (absl::Status s = writer.Record(pending_rows); !s.ok()) {
          return abort(Failed(std::string(s.message())));
        }
        pending_rows.clear();
      }
      if (!transactional) ++committed;
    }
    if (absl::Status s = writer.Record(pending_rows); !s.ok()) {
      return abort(Failed(std::string(s.message())));
    }
    if (transactional) {
      ctx.BeginStep("commit");
      if (ctx.cancelled()) return abort(Cancelled("cancelled before the commit"));
      PgResult r = conn.Exec("COMMIT");
      if (!r.ok()) return abort(Failed(std::string(SqlError("COMMIT failed", r, conn).message())));
      committed += end - begin;
    }
    return std::nullopt;
  };

  size_t i = 0;
  while (i < total) {
    size_t j = i;
    if (plan.to_apply[i]->no_transaction) {
      j = i + 1;
    } else {
      while (j < total && !plan.to_apply[j]->no_transaction) ++j;
    }
    if (std::optional<JobOutcome> stop = run_batch(i, j, !plan.to_apply[i]->no_transaction)) {
      return *stop;
    }
    i = j;
  }
  reusable = true;
  double seconds = static_cast<double>(MsSince(start)) / 1000.0;
  return {v1::JOB_STATE_SUCCEEDED, 0, "",
          StrCat("applied ", total, total == 1 ? " migration" : " migrations", " in ",
                 absl::StrFormat("%.2f", seconds), " s")};
}

}  // namespace ds::daemon
