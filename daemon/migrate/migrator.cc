#include "daemon/migrate/migrator.h"

#include <cctype>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "daemon/migrate/migration_lock.h"
#include "daemon/migrate/statement_failure.h"
#include "daemon/migrate/tracking_table.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kQueryCanceled = "57014";

// What a step returns: the outcome that ends the run early, or nothing
// when the run goes on.
using Stop = std::optional<JobOutcome>;

JobOutcome Failed(std::string error) { return {v1::JOB_STATE_FAILED, 1, std::move(error), ""}; }
JobOutcome Failed(const absl::Status& s) { return Failed(std::string(s.message())); }
JobOutcome Cancelled(std::string what) {
  return {v1::JOB_STATE_CANCELLED, 130, std::move(what), ""};
}

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// "1 migration", "3 migrations".
std::string Migrations(size_t n) { return StrCat(n, n == 1 ? " migration" : " migrations"); }

// libpq's own messages span lines ("server closed the connection
// unexpectedly\n\tThis probably means..."): one line reads better.
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : TrimAsciiWhitespace(text)) {
    const bool space = c == '\n' || c == '\t' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out.push_back(space ? ' ' : c);
  }
  return out;
}

// "a, b, c" for an error; a long run's list is cut after a few.
std::string TagList(const std::vector<std::string>& tags) {
  constexpr size_t kShown = 5;
  std::vector<std::string_view> shown;
  for (size_t i = 0; i < tags.size() && i < kShown; ++i) shown.push_back(tags[i]);
  std::string out = Join(shown, ", ");
  if (tags.size() > kShown) StrAppend(&out, " and ", tags.size() - kShown, " more");
  return out;
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

absl::StatusOr<std::shared_ptr<const DrizzleFolder>> LoadFolder(const MigrateOptions& o) {
  if (o.folders) return o.folders->Get(o.dir);
  absl::StatusOr<DrizzleFolder> f = ReadDrizzleFolder(o.dir);
  if (!f.ok()) return f.status();
  return std::make_shared<const DrizzleFolder>(std::move(*f));
}

absl::StatusOr<PooledConnection> OpenConnection(const MigrateOptions& o, const std::string& app) {
  absl::StatusOr<std::unique_ptr<PgConnection>> c =
      o.pool ? o.pool->Acquire(o.conninfo, app) : PgConnection::Open(o.conninfo, app);
  if (!c.ok()) return c.status();
  return absl::StatusOr<PooledConnection>(absl::in_place, o.pool, o.conninfo, std::move(*c));
}

// One run of the migrate job. Run() lists the steps; each method below is
// one of them and returns a Stop.
class MigrationRun {
 public:
  MigrationRun(const MigrateOptions& o, JobContext& ctx)
      : o_(o),
        ctx_(ctx),
        table_(NameTrackingTable(o.schema, o.table)),
        by_{o.applied_by, ctx.id()} {}
  // Also on an exception: the interrupter must not outlive the connection.
  ~MigrationRun() { Release(/*succeeded=*/false); }
  MigrationRun(const MigrationRun&) = delete;
  MigrationRun& operator=(const MigrationRun&) = delete;

  JobOutcome Run() {
    JobOutcome outcome = Steps();
    Release(outcome.state == v1::JOB_STATE_SUCCEEDED);
    return outcome;
  }

 private:
  // Where a transaction of consecutive ordinary migrations stands.
  struct Batch {
    size_t begin = 0, end = 0;      // to_apply[begin, end)
    bool savepoint_open = false;    // the fast path's savepoint exists
    bool left_transaction = false;  // a chunk ran COMMIT itself (drizzle #860)
    std::vector<AppliedMigration> unrecorded;
    std::vector<std::string> ran;  // tags that ran in the open transaction
  };
  static constexpr size_t kNoneFailed = static_cast<size_t>(-1);

  JobOutcome Steps() {
    ctx_.BeginStep("read folder");
    if (Stop s = ReadFolder()) return *s;
    ctx_.BeginStep("connect");
    if (Stop s = Connect()) return *s;
    ctx_.BeginStep("lock");
    if (Stop s = Lock()) return *s;
    ctx_.BeginStep("plan");
    if (Stop s = ReadTrackingTable()) return *s;
    if (Stop s = Plan()) return *s;
    if (plan_.to_apply.empty()) return NothingToApply();
    // Steps from here on are the migrations' tags and "commit".
    if (Stop s = CreateTrackingTables()) return *s;
    if (Stop s = ApplyPending()) return *s;
    return AppliedAll();
  }

  PgConnection& conn() { return **conn_; }

  Stop ReadFolder() {
    absl::StatusOr<std::shared_ptr<const DrizzleFolder>> read = LoadFolder(o_);
    if (!read.ok()) return Failed(read.status());
    folder_ = std::move(*read);
    for (const std::string& w : folder_->warnings) ctx_.Log("warning", w);
    return std::nullopt;
  }

  Stop Connect() {
    absl::StatusOr<PooledConnection> opened =
        OpenConnection(o_, StrCat("ds migrate (job ", ctx_.id(), ")"));
    if (!opened.ok()) return Failed(opened.status());
    conn_.emplace(std::move(*opened));
    ctx_.SetInterrupter([&conn = conn()] { conn.Cancel(); });
    // If dsd dies mid-statement, the server notices within 2 s instead of
    // holding the transaction and the lock until the statement ends (PG 14+).
    if (conn().ServerVersion() >= 140000) {
      session_setup_ = "SET client_connection_check_interval = 2000; ";
    }
    return std::nullopt;
  }

  // Held until Release: the session's end (or the pool) releases it.
  Stop Lock() {
    LockResult lock = TakeMigrationLock(conn(), table_.qualified, o_.lock_timeout, ctx_,
                                        std::move(session_setup_));
    if (lock.cancelled) return Cancelled("cancelled while waiting for the migration lock");
    if (!lock.acquired) return Failed(lock.error);
    return std::nullopt;
  }

  Stop ReadTrackingTable() {
    if (absl::Status s = DescribeTrackingTable(conn(), &table_); !s.ok()) return Failed(s);
    absl::StatusOr<std::vector<AppliedRow>> rows = ReadAppliedRows(conn(), table_);
    if (!rows.ok()) return Failed(rows.status());
    applied_rows_ = std::move(*rows);
    return std::nullopt;
  }

  Stop Plan() {
    plan_ = PlanMigrations(*folder_, applied_rows_, o_.plan);
    for (const std::string& w : plan_.warnings) ctx_.Log("warning", w);
    if (!plan_.errors.empty()) {
      std::vector<std::string_view> v(plan_.errors.begin(), plan_.errors.end());
      return Failed(StrCat(Join(v, "\n"), "\nNothing was applied."));
    }
    for (const PlannedMigration& p : plan_.entries) {
      if (p.state == MigrationState::kOutOfOrder) out_of_order_.insert(p.migration);
    }
    return std::nullopt;
  }

  JobOutcome NothingToApply() const {
    return {
        v1::JOB_STATE_SUCCEEDED, 0, "",
        StrCat("nothing to apply: ", Migrations(folder_->migrations.size()), " already applied")};
  }

  Stop CreateTrackingTables() {
    const size_t total = plan_.to_apply.size();
    ctx_.Log("info",
             StrCat(total, " pending of ", folder_->migrations.size(), " in ", o_.dir.string(),
                    "; ", folder_->migrations.size() - total, " already applied"));
    bool drizzle_v1 = folder_->layout == DrizzleFolder::Layout::kFolders;
    if (absl::Status s = EnsureTrackingTables(conn(), &table_, drizzle_v1); !s.ok()) {
      return Failed(s);
    }
    return std::nullopt;
  }

  // Consecutive ordinary migrations run in one transaction, as drizzle
  // runs them; each `-- ds:no-transaction` file runs on its own.
  Stop ApplyPending() {
    const std::vector<const DrizzleMigration*>& pending = plan_.to_apply;
    for (size_t i = 0; i < pending.size();) {
      if (pending[i]->no_transaction) {
        if (Stop s = ApplyNoTransactionFile(i)) return s;
        ++i;
        continue;
      }
      size_t end = i;
      while (end < pending.size() && !pending[end]->no_transaction) ++end;
      if (Stop s = ApplyBatch(i, end)) return s;
      i = end;
    }
    return std::nullopt;
  }

  // to_apply[begin, end) and their rows in one transaction: all or nothing.
  Stop ApplyBatch(size_t begin, size_t end) {
    if (PgResult r = conn().Exec("BEGIN"); !r.ok()) {
      return Failed(SqlError("BEGIN failed", r, conn()));
    }
    Batch batch;
    batch.begin = begin;
    batch.end = end;
    for (size_t i = begin; i < end; ++i) {
      const DrizzleMigration& m = *plan_.to_apply[i];
      const Clock::time_point start = Clock::now();
      ReportStart(i, m);
      if (Stop s = RunInTransaction(m, batch)) return AbortBatch(std::move(*s), batch, i);
      batch.unrecorded.push_back(Applied(m, start));
      batch.ran.push_back(m.tag);
      // Once a chunk has committed, nothing holds the statements back any
      // more: the rows follow each migration instead of the batch.
      if (batch.left_transaction) {
        if (Stop s = Record(batch.unrecorded)) return AbortBatch(std::move(*s), batch, kNoneFailed);
        batch.unrecorded.clear();
        committed_ += batch.ran.size();
        batch.ran.clear();
      }
    }
    if (Stop s = Record(batch.unrecorded)) return AbortBatch(std::move(*s), batch, kNoneFailed);
    ctx_.BeginStep("commit");
    if (ctx_.cancelled()) {
      return AbortBatch(Cancelled("cancelled before the commit"), batch, kNoneFailed);
    }
    if (PgResult r = conn().Exec("COMMIT"); !r.ok()) {
      return AbortBatch(Failed(SqlError("COMMIT failed", r, conn())), batch, kNoneFailed);
    }
    committed_ += batch.ran.size();
    // Said as a step's end, which the job record keeps at once.
    ctx_.EndStep(v1::JOB_STATE_SUCCEEDED,
                 StrCat("committed ", Migrations(batch.ran.size()), " (", TagList(batch.ran), ")"));
    return std::nullopt;
  }

  // to_apply[index] outside a transaction, recorded as soon as it ran.
  Stop ApplyNoTransactionFile(size_t index) {
    const DrizzleMigration& m = *plan_.to_apply[index];
    const Clock::time_point start = Clock::now();
    ReportStart(index, m);
    if (Stop s = RunStatements(m, /*batch=*/nullptr)) return AbortNoTransactionFile(std::move(*s));
    if (Stop s = Record({Applied(m, start)})) return AbortNoTransactionFile(std::move(*s));
    ++committed_;
    ctx_.EndStep(v1::JOB_STATE_SUCCEEDED, "committed (outside a transaction)");
    return std::nullopt;
  }

  void ReportStart(size_t index, const DrizzleMigration& m) {
    ctx_.BeginStep(m.tag);
    ctx_.Progress(static_cast<int>(index + 1), static_cast<int>(plan_.to_apply.size()), m.tag,
                  m.no_transaction ? "outside a transaction" : "");
  }

  // A migration inside the batch's transaction: the whole file in one
  // round trip when it can be, else (or when that fails) chunk by chunk.
  Stop RunInTransaction(const DrizzleMigration& m, Batch& batch) {
    if (!batch.left_transaction && OneRoundTripSafe(m)) {
      bool ran = false;
      if (Stop s = RunWholeFile(m, batch, &ran)) return s;
      if (ran) return std::nullopt;
    }
    return RunStatements(m, &batch);
  }

  // The fast path: a migration's chunks are usually many small DDL
  // statements, sent here as one query behind a savepoint. If it fails, the
  // savepoint undoes it and `*ran` stays false: the file then runs chunk by
  // chunk as drizzle runs it, which also pins the error on its statement.
  Stop RunWholeFile(const DrizzleMigration& m, Batch& batch, bool* ran) {
    if (ctx_.cancelled()) return Cancelled(StrCat("cancelled before ", m.tag));
    std::string sql = StrCat(batch.savepoint_open ? "RELEASE SAVEPOINT ds_migration; " : "",
                             "SAVEPOINT ds_migration;\n");
    for (const std::string& chunk : m.statements) sql += chunk;
    batch.savepoint_open = true;
    PgResult r = conn().Exec(sql);
    if (r.ok()) {
      *ran = true;
      return std::nullopt;
    }
    if (ctx_.cancelled() || r.sqlstate() == kQueryCanceled) {
      return Cancelled(StrCat("cancelled during ", m.file.filename().string()));
    }
    // The session is gone (the database dropped with FORCE, the server
    // stopped): there is no savepoint to go back to.
    if (conn().Broken()) {
      return Failed(
          StrCat(m.file.filename().string(), " did not complete: ", OneLine(conn().ErrorText(r))));
    }
    if (PgResult back = conn().Exec("ROLLBACK TO SAVEPOINT ds_migration"); !back.ok()) {
      return Failed(StrCat(m.file.filename().string(), " failed: ", conn().ErrorText(r),
                           " (and rolling back to its savepoint failed: ", conn().ErrorText(back),
                           ")"));
    }
    return std::nullopt;
  }

  // Each chunk as one query, as drizzle sends them; `batch` is null
  // outside a transaction.
  Stop RunStatements(const DrizzleMigration& m, Batch* batch) {
    const std::string file = m.file.filename().string();
    for (size_t k = 0; k < m.statements.size(); ++k) {
      if (ctx_.cancelled()) return Cancelled(StrCat("cancelled before ", m.tag));
      PgResult r = conn().Exec(m.statements[k]);
      if (!r.ok()) {
        if (ctx_.cancelled() || r.sqlstate() == kQueryCanceled) {
          return Cancelled(StrCat("cancelled during ", file, ", statement ", k + 1, " of ",
                                  m.statements.size()));
        }
        std::string error = StatementFailure(m, k, r, conn(), /*in_transaction=*/batch != nullptr);
        if (!batch) {
          StrAppend(&error, "\n", file,
                    " runs without a transaction: it is not recorded as applied",
                    k > 0 ? StrCat(", and its first ", k, " statement(s) stay applied") : "");
        }
        return Failed(std::move(error));
      }
      if (batch && !batch->left_transaction && !conn().InTransaction()) {
        batch->left_transaction = true;  // said once: everything after autocommits
        ctx_.Log("warning", StrCat(file, " statement ", k + 1,
                                   " ended the transaction (COMMIT?); what follows in this "
                                   "run is committed statement by statement"));
      }
    }
    return std::nullopt;
  }

  AppliedMigration Applied(const DrizzleMigration& m, Clock::time_point start) const {
    return {&m, MsSince(start), out_of_order_.count(&m) ? "applied out of order" : ""};
  }

  Stop Record(const std::vector<AppliedMigration>& applied) {
    if (absl::Status s = RecordApplied(conn(), table_, by_, applied); !s.ok()) return Failed(s);
    return std::nullopt;
  }

  // Rolls the batch back and says what that undid: the migrations that had
  // run in it, the one that failed (`failed`, an index into to_apply, or
  // kNoneFailed when all ran), and those that never ran; and what stays.
  JobOutcome AbortBatch(JobOutcome outcome, const Batch& batch, size_t failed) {
    if (conn().Broken()) return Lost(std::move(outcome));
    if (conn().InTransaction()) conn().Exec("ROLLBACK");
    std::vector<std::string> parts;
    if (!batch.ran.empty()) {
      parts.push_back(
          StrCat(Migrations(batch.ran.size()), " rolled back (", TagList(batch.ran), ")"));
    }
    if (failed != kNoneFailed) {
      parts.push_back(StrCat(plan_.to_apply[failed]->tag, " did not complete"));
      std::vector<std::string> not_run;
      for (size_t i = failed + 1; i < batch.end; ++i) not_run.push_back(plan_.to_apply[i]->tag);
      if (!not_run.empty()) {
        parts.push_back(StrCat(Migrations(not_run.size()), " not run (", TagList(not_run), ")"));
      }
    }
    std::vector<std::string_view> views(parts.begin(), parts.end());
    StrAppend(&outcome.error, "\nNothing of this transaction was committed: ", Join(views, ", "));
    if (committed_) {
      StrAppend(&outcome.error, "; ", Migrations(committed_),
                " applied earlier in this run stay applied");
    }
    StrAppend(&outcome.error, ".");
    return outcome;
  }

  JobOutcome AbortNoTransactionFile(JobOutcome outcome) {
    if (conn().Broken()) return Lost(std::move(outcome));
    if (committed_) {
      StrAppend(&outcome.error, "\n", Migrations(committed_),
                " applied earlier in this run stay applied");
    }
    StrAppend(&outcome.error, ".");
    return outcome;
  }

  // The session ended under the run. Whether the database is still there
  // decides what is left: a second connection asks.
  JobOutcome Lost(JobOutcome outcome) {
    absl::StatusOr<std::unique_ptr<PgConnection>> probe =
        PgConnection::Open(o_.conninfo, StrCat("ds migrate (job ", ctx_.id(), ", check)"), 10);
    if (!probe.ok() && absl::IsNotFound(probe.status())) {
      StrAppend(&outcome.error, "\nThe database ", conn().Database(),
                " was dropped while the migration ran (`ds db delete-branch --force`, or DROP "
                "DATABASE ... WITH (FORCE)): nothing this run applied remains.");
      return outcome;
    }
    StrAppend(&outcome.error,
              "\nThe connection to the database was lost; PostgreSQL rolled back the open "
              "transaction");
    if (committed_) {
      StrAppend(&outcome.error, ", and ", Migrations(committed_),
                " committed earlier in this run stay applied");
    }
    StrAppend(&outcome.error, probe.ok() ? "."
                                         : StrCat(" (the database cannot be reached now: ",
                                                  probe.status().message(), ")."));
    return outcome;
  }

  JobOutcome AppliedAll() const {
    double seconds = static_cast<double>(MsSince(start_)) / 1000.0;
    return {v1::JOB_STATE_SUCCEEDED, 0, "",
            StrCat("applied ", Migrations(plan_.to_apply.size()), " in ",
                   absl::StrFormat("%.2f", seconds), " s")};
  }

  // Hands the connection back to the pool (which releases the lock) or
  // closes it. Only a connection whose job succeeded is reused: after a
  // failure or a cancel, a late cancel request could still be on its way
  // to it. The interrupter, which points at it, goes first.
  void Release(bool succeeded) {
    if (!conn_) return;
    ctx_.SetInterrupter(nullptr);
    if (!succeeded) conn_->Discard();
    conn_.reset();
  }

  const MigrateOptions& o_;
  JobContext& ctx_;
  const Clock::time_point start_ = Clock::now();
  TrackingTable table_;
  const AppliedBy by_;
  std::shared_ptr<const DrizzleFolder> folder_;
  std::optional<PooledConnection> conn_;
  std::string session_setup_;  // sent with the first lock attempt
  std::vector<AppliedRow> applied_rows_;
  MigrationPlan plan_;
  std::set<const DrizzleMigration*> out_of_order_;
  size_t committed_ = 0;  // migrations committed by this run so far
};

}  // namespace

absl::StatusOr<v1::MigrationStatusResponse> InspectMigrations(const MigrateOptions& o) {
  absl::StatusOr<std::shared_ptr<const DrizzleFolder>> read = LoadFolder(o);
  if (!read.ok()) return read.status();
  const DrizzleFolder& folder = **read;
  absl::StatusOr<PooledConnection> conn = OpenConnection(o, "ds migrate --status");
  if (!conn.ok()) return conn.status();
  TrackingTable t = NameTrackingTable(o.schema, o.table);
  if (absl::Status s = DescribeTrackingTable(**conn, &t); !s.ok()) return s;
  absl::StatusOr<std::vector<AppliedRow>> rows = ReadAppliedRows(**conn, t);
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

JobOutcome RunMigrations(const MigrateOptions& options, JobContext& ctx) {
  return MigrationRun(options, ctx).Run();
}

}  // namespace ds::daemon
