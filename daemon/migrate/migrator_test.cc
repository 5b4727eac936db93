// The migration runner against a real PostgreSQL (tests/pg_fixture.h) and a
// RecordingJobContext (daemon/jobs) that records what the runner reports and
// cancels the way JobManager does.
#include "daemon/migrate/migrator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "common/strings.h"
#include "daemon/jobs/recording_job_context.h"
#include "daemon/migrate/migration_lock.h"
#include "daemon/pg/pg_conn.h"
#include "tests/pg_fixture.h"

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kTracking[] = "\"drizzle\".\"__drizzle_migrations\"";
constexpr char kLog[] = "\"drizzle\".\"__ds_migrations_log\"";

struct File {
  std::string tag;
  std::string sql;
};

class MigratorTest : public test_pg::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    char tmpl[] = "/tmp/ds-migrator-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    absl::StatusOr<std::unique_ptr<PgConnection>> c =
        PgConnection::Open(conninfo(), "ds unit test");
    ASSERT_TRUE(c.ok()) << c.status();
    db_ = std::move(*c);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // A drizzle-kit journal folder holding `files` in order.
  void WriteFolder(const std::vector<File>& files) {
    fs::create_directories(dir_ / "meta");
    std::string entries;
    for (size_t i = 0; i < files.size(); ++i) {
      StrAppend(&entries, i ? "," : "", R"({"idx":)", i, R"(,"version":"7","when":)",
                1700000000000 + static_cast<int64_t>(i) * 1000, R"(,"tag":")", files[i].tag,
                R"(","breakpoints":true})");
      std::ofstream(dir_ / (files[i].tag + ".sql"), std::ios::binary) << files[i].sql;
    }
    std::ofstream(dir_ / "meta/_journal.json")
        << R"({"version":"7","dialect":"postgresql","entries":[)" << entries << "]}";
  }

  MigrateOptions Options() {
    MigrateOptions o;
    o.conninfo = conninfo();
    o.target_redacted = database();
    o.dir = dir_;
    o.applied_by = "test via ds";
    o.lock_timeout = std::chrono::seconds(30);
    return o;
  }

  // The first column of the first row of `sql`, "" for NULL.
  std::string Query(const std::string& sql) {
    PgResult r = db_->Exec(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.message();
    if (!r.ok() || r.rows() == 0) return "<no rows>";
    return std::string(r.Get(0, 0));
  }
  bool TableExists(const std::string& name) {
    return Query(StrCat("SELECT to_regclass('", name, "') IS NOT NULL")) == "t";
  }
  std::string Rows(const std::string& table) {
    if (!TableExists(table)) return "no table";
    return Query(StrCat("SELECT count(*) FROM ", table));
  }

  // Polls the server until `sql` answers "t": PostgreSQL cannot notify a
  // test that a session has started waiting for a lock.
  void WaitUntil(const std::string& sql, const std::string& what) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (Query(sql) != "t") {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "timed out waiting for " << what;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  fs::path dir_;
  std::unique_ptr<PgConnection> db_;  // the test's own session
};

const std::vector<File> kFourMigrations = {
    {"0000_users", "CREATE TABLE users (id serial PRIMARY KEY, email text);"},
    {"0001_posts",
     "CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users(id));\n"
     "--> statement-breakpoint\n"
     "INSERT INTO users (email) VALUES ('a@example.com');"},
    {"0002_index",
     "-- ds:no-transaction\n"
     "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);"},
    {"0003_tags", "CREATE TABLE tags (name text);"},
};

TEST_F(MigratorTest, AppliesEveryPendingMigrationReportingStepsAndProgressInOrder) {
  WriteFolder(kFourMigrations);
  PgConnectionPool pool;
  MigrateOptions o = Options();
  o.pool = &pool;
  RecordingJobContext ctx;
  JobOutcome out = RunMigrations(o, ctx);

  EXPECT_EQ(out.state, v1::JOB_STATE_SUCCEEDED) << out.error;
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_THAT(out.summary, StartsWith("applied 4 migrations in "));
  // Ordinary files share a transaction ("commit" ends it); the
  // no-transaction file runs on its own, between two of them.
  EXPECT_THAT(ctx.lines(),
              ElementsAre("step read folder", "step connect", "step lock", "step plan",
                          StrCat("info: 4 pending of 4 in ", dir_.string(), "; 0 already applied"),
                          "step 0000_users", "progress 1/4 0000_users", "step 0001_posts",
                          "progress 2/4 0001_posts", "step commit",
                          "end step succeeded committed 2 migrations (0000_users, 0001_posts)",
                          "step 0002_index", "progress 3/4 0002_index: outside a transaction",
                          "end step succeeded committed (outside a transaction)", "step 0003_tags",
                          "progress 4/4 0003_tags", "step commit",
                          "end step succeeded committed 1 migration (0003_tags)"));
  EXPECT_EQ(Query("SELECT string_agg(created_at::text, ',' ORDER BY id) "
                  "FROM drizzle.__drizzle_migrations"),
            "1700000000000,1700000001000,1700000002000,1700000003000");
  EXPECT_EQ(Query("SELECT string_agg(name || ' ' || job_id || ' ' || applied_by, ',' ORDER BY id) "
                  "FROM drizzle.__ds_migrations_log"),
            "0000_users 42 test via ds,0001_posts 42 test via ds,0002_index 42 test via ds,"
            "0003_tags 42 test via ds");
  EXPECT_TRUE(TableExists("users_email_idx"));
  EXPECT_EQ(Query("SELECT count(*) FROM users"), "1");
  // The connection went back to the pool, its interrupter cleared first.
  EXPECT_EQ(pool.idle_count(), 1u);
  EXPECT_EQ(ctx.interrupters_set(), 1);
  EXPECT_FALSE(ctx.has_interrupter());

  RecordingJobContext again;
  JobOutcome second = RunMigrations(o, again);
  EXPECT_EQ(second.state, v1::JOB_STATE_SUCCEEDED) << second.error;
  EXPECT_EQ(second.summary, "nothing to apply: 4 migrations already applied");
  EXPECT_THAT(again.lines(),
              ElementsAre("step read folder", "step connect", "step lock", "step plan"));
  EXPECT_EQ(Rows(kTracking), "4");
}

TEST_F(MigratorTest, FailingStatementNamesFileStatementAndPositionAndCommitsNothing) {
  WriteFolder({
      {"0000_a", "CREATE TABLE a (id int);"},
      {"0001_b",
       "CREATE TABLE b (id int);\n--> statement-breakpoint\nCREATE TABLE c (\n  id int,\n"
       "  bad typo\n);"},
  });
  PgConnectionPool pool;
  MigrateOptions o = Options();
  o.pool = &pool;
  RecordingJobContext ctx;
  JobOutcome out = RunMigrations(o, ctx);

  EXPECT_EQ(out.state, v1::JOB_STATE_FAILED);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_THAT(out.error, StartsWith(StrCat((dir_ / "0001_b.sql").string(),
                                           " failed at statement 2 of 2: type \"typo\" does not "
                                           "exist (SQLSTATE 42704)")));
  EXPECT_THAT(out.error, HasSubstr("\n  statement: CREATE TABLE c ( id int, bad typo );"));
  EXPECT_THAT(out.error, HasSubstr("\n  at 0001_b.sql:5:7"));
  EXPECT_THAT(out.error, HasSubstr("\nNothing of this transaction was committed: 1 migration "
                                   "rolled back (0000_a), 0001_b did not complete."));
  EXPECT_THAT(ctx.steps(),
              ElementsAre("read folder", "connect", "lock", "plan", "0000_a", "0001_b"));
  EXPECT_FALSE(TableExists("a"));
  EXPECT_FALSE(TableExists("b"));
  EXPECT_EQ(Rows(kTracking), "0");
  EXPECT_EQ(Rows(kLog), "0");
  // A failed job's connection is closed, not pooled.
  EXPECT_EQ(pool.idle_count(), 0u);
  EXPECT_FALSE(ctx.has_interrupter());
}

TEST_F(MigratorTest, CancelInterruptsTheRunningStatementAndCommitsNothing) {
  // 0001_wait blocks on an advisory lock the test holds until the end, so
  // only the interrupter can end it.
  ASSERT_TRUE(db_->Exec("SELECT pg_advisory_lock(4242)").ok());
  WriteFolder({
      {"0000_a", "CREATE TABLE a (id int);"},
      {"0001_wait", "SELECT pg_advisory_xact_lock(4242);"},
  });
  RecordingJobContext ctx;
  const MigrateOptions o = Options();
  std::future<JobOutcome> run =
      std::async(std::launch::async, [&] { return RunMigrations(o, ctx); });
  WaitUntil(
      "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
      "AND objid = 4242",
      "0001_wait to block on the test's lock");
  ctx.Cancel();
  if (run.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "the cancel did not interrupt the running statement";
    db_->Exec("SELECT pg_advisory_unlock(4242)");  // lets the run end
  }
  JobOutcome out = run.get();

  EXPECT_EQ(ctx.interrupts(), 1);
  EXPECT_EQ(out.state, v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(out.exit_code, 130);
  EXPECT_EQ(out.error,
            "cancelled during 0001_wait.sql\n"
            "Nothing of this transaction was committed: 1 migration rolled back (0000_a), "
            "0001_wait did not complete.");
  EXPECT_FALSE(TableExists("a"));
  EXPECT_EQ(Rows(kTracking), "0");
  EXPECT_FALSE(ctx.has_interrupter());
}

TEST_F(MigratorTest, CancelBeforeTheCommitRollsTheBatchBack) {
  WriteFolder({
      {"0000_a", "CREATE TABLE a (id int);"},
      {"0001_b", "CREATE TABLE b (id int);"},
  });
  RecordingJobContext ctx;
  // Everything ran; the transaction is healthy and open when this comes.
  ctx.OnLine([&](const std::string& line) {
    if (line == "step commit") ctx.Cancel();
  });
  JobOutcome out = RunMigrations(Options(), ctx);

  EXPECT_EQ(out.state, v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(out.exit_code, 130);
  EXPECT_EQ(out.error,
            "cancelled before the commit\n"
            "Nothing of this transaction was committed: 2 migrations rolled back (0000_a, "
            "0001_b).");
  EXPECT_FALSE(TableExists("a"));
  EXPECT_FALSE(TableExists("b"));
  EXPECT_EQ(Rows(kTracking), "0");
  EXPECT_EQ(Rows(kLog), "0");
}

TEST_F(MigratorTest, FailureInTheFirstOfTwoSaysWhatRan) {
  WriteFolder({
      {"0000_bad", "CREATE TABLE a (id int, bad typo);"},
      {"0001_b", "CREATE TABLE b (id int);"},
  });
  RecordingJobContext ctx;
  JobOutcome out = RunMigrations(Options(), ctx);

  EXPECT_EQ(out.state, v1::JOB_STATE_FAILED);
  EXPECT_THAT(out.error, HasSubstr("\nNothing of this transaction was committed: 0000_bad did not "
                                   "complete, 1 migration not run (0001_b)."));
  EXPECT_THAT(out.error, Not(HasSubstr("rolled back")));
  EXPECT_FALSE(TableExists("b"));
  EXPECT_EQ(Rows(kTracking), "0");
}

// `ds db delete-branch --force` (DROP DATABASE ... WITH (FORCE)) ends the
// run's session mid-statement: the error says so, and claims nothing of a
// database that is gone.
TEST_F(MigratorTest, DatabaseDroppedDuringTheRunIsSaidPlainly) {
  ASSERT_TRUE(db_->Exec("SELECT pg_advisory_lock(4243)").ok());
  WriteFolder({
      {"0000_a", "CREATE TABLE a (id int);"},
      {"0001_alone", "-- ds:no-transaction\nCREATE TABLE alone (id int);"},
      {"0002_wait", "SELECT pg_advisory_xact_lock(4243);"},
  });
  RecordingJobContext ctx;
  const MigrateOptions o = Options();
  std::future<JobOutcome> run =
      std::async(std::launch::async, [&] { return RunMigrations(o, ctx); });
  WaitUntil(
      "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
      "AND objid = 4243",
      "0002_wait to block on the test's lock");
  absl::StatusOr<std::unique_ptr<PgConnection>> admin =
      PgConnection::Open(cluster().ConnInfo("postgres"), "ds unit test admin");
  ASSERT_TRUE(admin.ok()) << admin.status();
  PgResult dropped =
      (*admin)->Exec(StrCat("DROP DATABASE ", QuoteIdent(database()), " WITH (FORCE)"));
  ASSERT_TRUE(dropped.ok()) << (*admin)->ErrorText(dropped);
  ASSERT_EQ(run.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  JobOutcome out = run.get();

  EXPECT_EQ(out.state, v1::JOB_STATE_FAILED);
  // libpq words the end of the session as it saw it (the server's
  // "terminating connection ..." or "server closed the connection ..."),
  // on one line.
  EXPECT_THAT(out.error, StartsWith("0002_wait.sql did not complete: "));
  EXPECT_THAT(out.error.substr(0, out.error.find("\nThe database")), Not(HasSubstr("\n")));
  EXPECT_THAT(out.error, HasSubstr(StrCat("\nThe database ", database(),
                                          " was dropped while the migration ran")));
  EXPECT_THAT(out.error, Not(HasSubstr("stay applied")));
  EXPECT_THAT(out.error, Not(HasSubstr("savepoint failed: )")));
  EXPECT_FALSE(ctx.has_interrupter());
}

TEST_F(MigratorTest, NoTransactionFileRunsAloneAndWhatRanBeforeStays) {
  // CREATE INDEX CONCURRENTLY fails inside a transaction block: the index
  // exists only if the file ran on its own.
  WriteFolder({
      {"0000_a", "CREATE TABLE a (id int, v text);"},
      {"0001_concurrently",
       "-- ds:no-transaction\nCREATE INDEX CONCURRENTLY a_id_idx ON a (id);\n"
       "--> statement-breakpoint\nCREATE INDEX CONCURRENTLY a_v_idx ON a (nope);"},
      {"0002_never", "CREATE TABLE never (id int);"},
  });
  RecordingJobContext ctx;
  JobOutcome out = RunMigrations(Options(), ctx);

  EXPECT_EQ(out.state, v1::JOB_STATE_FAILED);
  EXPECT_THAT(out.error, HasSubstr("0001_concurrently.sql failed at statement 2 of 2: column "
                                   "\"nope\" does not exist"));
  EXPECT_THAT(out.error,
              HasSubstr("\n0001_concurrently.sql runs without a transaction: it is not recorded "
                        "as applied, and its first 1 statement(s) stay applied\n1 migration "
                        "applied earlier in this run stay applied."));
  EXPECT_THAT(ctx.steps(), ElementsAre("read folder", "connect", "lock", "plan", "0000_a", "commit",
                                       "0001_concurrently"));
  EXPECT_TRUE(TableExists("a"));
  EXPECT_TRUE(TableExists("a_id_idx"));
  EXPECT_FALSE(TableExists("never"));
  EXPECT_EQ(Query("SELECT string_agg(name, ',') FROM drizzle.__ds_migrations_log"), "0000_a");
}

// The key the runner takes for drizzle's table in the test's database.
std::string MigrationLockOf(const std::string& database) {
  return std::to_string(MigrationLockKey(database, kTracking));
}

TEST_F(MigratorTest, CancelWhileWaitingForTheLockNamesTheHolder) {
  ASSERT_TRUE(db_->Exec(StrCat("SELECT pg_advisory_lock(", MigrationLockOf(database()), ")")).ok());
  WriteFolder({{"0000_a", "CREATE TABLE a (id int);"}});
  RecordingJobContext ctx;
  // Cancelled as soon as it reports waiting: deterministic, no clock.
  ctx.OnLine([&](const std::string& line) {
    if (line.starts_with("progress 0/0 lock")) ctx.Cancel();
  });
  JobOutcome out = RunMigrations(Options(), ctx);

  EXPECT_EQ(out.state, v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(out.exit_code, 130);
  EXPECT_EQ(out.error, "cancelled while waiting for the migration lock");
  const std::string holder = StrCat("pid ", db_->BackendPid(), " (ds unit test, user postgres)");
  EXPECT_THAT(
      ctx.lines(),
      ElementsAre(
          "step read folder", "step connect", "step lock",
          StrCat("info: waiting for the migration lock on ", kTracking, ", held by ", holder),
          StrCat("progress 0/0 lock: waiting for the migration lock held by ", holder)));
  EXPECT_FALSE(TableExists("a"));
}

TEST_F(MigratorTest, LockTimeoutGivesUpNamingTheHolder) {
  ASSERT_TRUE(db_->Exec(StrCat("SELECT pg_advisory_lock(", MigrationLockOf(database()), ")")).ok());
  WriteFolder({{"0000_a", "CREATE TABLE a (id int);"}});
  MigrateOptions o = Options();
  o.lock_timeout = std::chrono::milliseconds(0);
  RecordingJobContext ctx;
  JobOutcome out = RunMigrations(o, ctx);

  EXPECT_EQ(out.state, v1::JOB_STATE_FAILED);
  EXPECT_EQ(
      out.error,
      StrCat("gave up after 0 s waiting for the migration lock held by pid ", db_->BackendPid(),
             " (ds unit test, user postgres); another migration is running on this "
             "database (see `ds jobs list`), or raise --lock-timeout"));
  EXPECT_FALSE(TableExists("a"));
}

}  // namespace
}  // namespace ds::daemon
