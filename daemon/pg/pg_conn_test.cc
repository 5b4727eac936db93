// PgConnection against a real PostgreSQL 15 (tests/pg_fixture.h): typed reads,
// error statuses, COPY out and in, and streaming one into the other.
#include "daemon/pg/pg_conn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/strings.h"
#include "daemon/pg/pg_pool.h"
#include "tests/pg_fixture.h"

namespace ds::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Each test gets its own database (conn_) and a second one (target_) for
// copies between databases.
class PgConnTest : public test_pg::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    conn_ = Open(conninfo());
    absl::StatusOr<std::string> target = cluster().CreateDatabase("target");
    ASSERT_TRUE(target.ok()) << target.status();
    target_ = Open(cluster().ConnInfo(*target));
    ASSERT_TRUE(conn_ && target_);
  }

  static std::unique_ptr<PgConnection> Open(const std::string& conninfo) {
    absl::StatusOr<std::unique_ptr<PgConnection>> c = PgConnection::Open(conninfo, "pg_conn_test");
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // Runs `sql` on `conn`, failing the test when it fails.
  static PgResult Must(PgConnection& conn, const std::string& sql) {
    PgResult r = conn.Exec(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << conn.ErrorText(r);
    return r;
  }
  static std::string One(PgConnection& conn, const std::string& sql) {
    PgResult r = Must(conn, sql);
    return r.rows() == 1 ? std::string(r.Get(0, 0)) : "<no single row>";
  }

  std::unique_ptr<PgConnection> conn_;
  std::unique_ptr<PgConnection> target_;
};

// A session the server ended while it sat idle (a restart, a terminated
// backend) must be known dead before anyone sends it a query.
TEST_F(PgConnTest, LooksAliveUntilTheServerEndsTheSession) {
  EXPECT_TRUE(conn_->LooksAlive());
  EXPECT_EQ(One(*conn_, "SELECT 1"), "1");
  EXPECT_TRUE(conn_->LooksAlive()) << "a query's answer is not an unasked message";
  // pg_terminate_backend with a timeout returns once the backend is gone,
  // so its goodbye is already in this side's socket.
  EXPECT_EQ(One(*target_, StrCat("SELECT pg_terminate_backend(", conn_->BackendPid(), ", 10000)")),
            "t");
  EXPECT_FALSE(conn_->LooksAlive());
}

TEST_F(PgConnTest, PoolNeverHandsOutASessionTheServerEnded) {
  PgConnectionPool pool;
  absl::StatusOr<std::unique_ptr<PgConnection>> first = pool.Acquire(conninfo(), "pool test");
  ASSERT_TRUE(first.ok()) << first.status();
  const int old_pid = (*first)->BackendPid();
  pool.Release(conninfo(), std::move(*first));
  ASSERT_EQ(pool.idle_count(), 1u);
  EXPECT_EQ(One(*target_, StrCat("SELECT pg_terminate_backend(", old_pid, ", 10000)")), "t");
  absl::StatusOr<std::unique_ptr<PgConnection>> next = pool.Acquire(conninfo(), "pool test");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_NE((*next)->BackendPid(), old_pid);
  EXPECT_EQ(One(**next, "SELECT 1"), "1");
}

TEST_F(PgConnTest, ParametersAndTypedReads) {
  PgResult r = conn_->ExecParams("SELECT $1::int8 * 2, $2::text IS NULL, $3::text, NULL::int",
                                 {"21", std::nullopt, "it's"});
  ASSERT_TRUE(r.ok()) << conn_->ErrorText(r);
  ASSERT_EQ(r.rows(), 1);
  EXPECT_EQ(r.columns(), 4);
  EXPECT_EQ(r.GetInt(0, 0), 42);
  EXPECT_TRUE(r.GetBool(0, 1));
  EXPECT_EQ(r.Get(0, 2), "it's");
  EXPECT_TRUE(r.IsNull(0, 3));
  EXPECT_EQ(r.GetInt(0, 3, -7), -7);
  EXPECT_EQ(r.GetInt(0, 2, -1), -1) << "text is no integer";

  // Binary parameters: an int4 in network order, and bytes with NULs in
  // them that a text parameter could not carry.
  r = conn_->ExecBinaryParams("SELECT $1::int4 + 1, encode($2::bytea, 'hex')",
                              {std::string("\0\0\1\0", 4), std::string("a\0b", 3)});
  ASSERT_TRUE(r.ok()) << conn_->ErrorText(r);
  EXPECT_EQ(r.GetInt(0, 0), 257);
  EXPECT_EQ(r.Get(0, 1), "610062");
  r = conn_->ExecBinaryParams("SELECT $1::int4", {"abc"});
  EXPECT_FALSE(r.ok()) << "three bytes are no int4";

  Must(*conn_, "CREATE TEMP TABLE t (x int)");
  EXPECT_EQ(Must(*conn_, "INSERT INTO t SELECT generate_series(1, 3)").affected_rows(), 3);
  EXPECT_EQ(Must(*conn_, "CREATE TEMP TABLE u (x int)").affected_rows(), -1);
}

TEST_F(PgConnTest, ErrorStatusNamesWhatFailedAndPicksTheCode) {
  PgResult r = conn_->Exec("SELECT 1/0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.sqlstate(), "22012");
  absl::Status s = conn_->ErrorStatus(r, "dividing");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "dividing: division by zero");

  r = conn_->Exec("SET statement_timeout = 1; SELECT pg_sleep(5)");
  EXPECT_EQ(conn_->ErrorStatus(r, "sleeping").code(), absl::StatusCode::kCancelled)
      << conn_->ErrorText(r);
  Must(*conn_, "RESET statement_timeout");
  EXPECT_TRUE(conn_->ErrorStatus(Must(*conn_, "SELECT 1"), "x").ok());

  // A connection the server ended: no SQLSTATE in the result, the
  // connection's own message, kUnavailable.
  std::unique_ptr<PgConnection> victim = Open(conninfo());
  Must(*conn_, StrCat("SELECT pg_terminate_backend(", victim->BackendPid(), ")"));
  r = victim->Exec("SELECT 1");
  ASSERT_FALSE(r.ok());
  s = victim->ErrorStatus(r, "asking");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s.message();
  EXPECT_THAT(std::string(s.message()), StartsWith("asking: "));
  EXPECT_GT(s.message().size(), std::string("asking: ").size());
}

TEST_F(PgConnTest, CopyOutHandsOverEveryRow) {
  Must(*conn_,
       "CREATE TABLE out_rows AS SELECT g AS id, 'row ' || g AS label"
       " FROM generate_series(1, 1000) g");
  std::string received;
  int chunks = 0;
  absl::StatusOr<int64_t> n =
      conn_->CopyOut("COPY out_rows TO STDOUT", [&](std::string_view chunk) {
        received.append(chunk);
        ++chunks;
        return absl::OkStatus();
      });
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1000);
  EXPECT_EQ(chunks, 1000) << "libpq hands over one row at a time";
  EXPECT_THAT(received, StartsWith("1\trow 1\n2\trow 2\n"));
  EXPECT_EQ(std::count(received.begin(), received.end(), '\n'), 1000);
  EXPECT_EQ(One(*conn_, "SELECT count(*) FROM out_rows"), "1000") << "usable afterwards";
}

TEST_F(PgConnTest, CopyOutSinkErrorStopsTheCopyAndKeepsTheConnection) {
  int calls = 0;
  absl::StatusOr<int64_t> n = conn_->CopyOut(
      "COPY (SELECT g, repeat('x', 100) FROM generate_series(1, 2000000) g) TO STDOUT",
      [&](std::string_view) {
        ++calls;
        return calls == 10 ? absl::DataLossError("the sink is full") : absl::OkStatus();
      });
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(n.status().message(), "the sink is full");
  EXPECT_EQ(calls, 10) << "nothing more after the sink failed";
  EXPECT_FALSE(conn_->InTransaction());
  EXPECT_EQ(One(*conn_, "SELECT 'still here'"), "still here");
}

TEST_F(PgConnTest, CopyOutOfAFailingQueryReportsTheServerError) {
  absl::StatusOr<int64_t> n =
      conn_->CopyOut("COPY (SELECT 1 / (g - 500) FROM generate_series(1, 1000) g) TO STDOUT",
                     [](std::string_view) { return absl::OkStatus(); });
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(std::string(n.status().message()), HasSubstr("division by zero"));
  n = conn_->CopyOut("COPY no_such_table TO STDOUT",
                     [](std::string_view) { return absl::OkStatus(); });
  EXPECT_THAT(std::string(n.status().message()), HasSubstr("does not exist"));
  n = conn_->CopyOut("SELECT 1", [](std::string_view) { return absl::OkStatus(); });
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(One(*conn_, "SELECT 2"), "2");
}

TEST_F(PgConnTest, CopyInStoresRowsSplitAnywhere) {
  Must(*target_, "CREATE TABLE in_rows (id int, label text)");
  ASSERT_TRUE(target_->BeginCopyIn("COPY in_rows FROM STDIN").ok());
  // Rows cut in the middle of a field and a line end.
  for (std::string_view piece : {"1\tone\n2\ttw", "o\n3", "\tthree", "\n"}) {
    ASSERT_TRUE(target_->PutCopyData(piece).ok());
  }
  absl::StatusOr<int64_t> n = target_->EndCopyIn();
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(One(*target_, "SELECT string_agg(label, ',' ORDER BY id) FROM in_rows"),
            "one,two,three");
  Must(*target_, "DROP TABLE in_rows");
}

TEST_F(PgConnTest, CopyInAbortAndBadDataStoreNothing) {
  Must(*target_, "CREATE TABLE strict_rows (id int)");
  ASSERT_TRUE(target_->BeginCopyIn("COPY strict_rows FROM STDIN").ok());
  ASSERT_TRUE(target_->PutCopyData("1\n2\n").ok());
  absl::StatusOr<int64_t> n = target_->EndCopyIn("changed my mind");
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(std::string(n.status().message()), HasSubstr("changed my mind"));
  EXPECT_EQ(One(*target_, "SELECT count(*) FROM strict_rows"), "0");

  ASSERT_TRUE(target_->BeginCopyIn("COPY strict_rows FROM STDIN").ok());
  ASSERT_TRUE(target_->PutCopyData("1\nnot a number\n3\n").ok());
  n = target_->EndCopyIn();
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(n.status().message()), HasSubstr("invalid input syntax"));
  EXPECT_EQ(One(*target_, "SELECT count(*) FROM strict_rows"), "0");

  EXPECT_EQ(target_->BeginCopyIn("SELECT 1").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(target_->BeginCopyIn("COPY no_such_table FROM STDIN").code(),
            absl::StatusCode::kInternal);
  Must(*target_, "DROP TABLE strict_rows");
}

// The organization copy's shape: one connection's COPY TO STDOUT streamed
// into another database's COPY FROM STDIN, in text and in binary.
TEST_F(PgConnTest, CopyBetweenStreamsOneDatabaseIntoAnother) {
  Must(*conn_,
       "CREATE TABLE org_rows AS SELECT g AS id,"
       " CASE WHEN g % 7 = 0 THEN NULL ELSE E'tab\\there, line\\nend, ' || g || ' é ☃' END"
       " AS note, now() - g * interval '1 minute' AS at FROM generate_series(1, 100000) g");
  const std::string digest =
      "SELECT md5(string_agg(id || ':' || coalesce(note, '<null>') || ':' || at, '|'"
      " ORDER BY id)) FROM org_rows";
  const std::string want = One(*conn_, digest);
  for (const char* format : {"text", "binary"}) {
    SCOPED_TRACE(format);
    Must(*target_, "CREATE TABLE org_rows (id int, note text, at timestamptz)");
    absl::StatusOr<int64_t> n =
        CopyBetween(*conn_, StrCat("COPY org_rows TO STDOUT (FORMAT ", format, ")"), *target_,
                    StrCat("COPY org_rows FROM STDIN (FORMAT ", format, ")"));
    ASSERT_TRUE(n.ok()) << n.status().message();
    EXPECT_EQ(*n, 100000);
    EXPECT_EQ(One(*target_, digest), want);
    Must(*target_, "DROP TABLE org_rows");
  }
}

TEST_F(PgConnTest, CopyBetweenWithAFailingSourceLeavesTheTargetEmpty) {
  Must(*target_, "CREATE TABLE half_rows (x int)");
  // Fails after 499 rows have already travelled.
  absl::StatusOr<int64_t> n =
      CopyBetween(*conn_, "COPY (SELECT 1 / (g - 500) FROM generate_series(1, 1000) g) TO STDOUT",
                  *target_, "COPY half_rows FROM STDIN");
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(std::string(n.status().message()), HasSubstr("division by zero"));
  EXPECT_EQ(One(*target_, "SELECT count(*) FROM half_rows"), "0");
  EXPECT_EQ(One(*conn_, "SELECT 3"), "3");

  // And a target that refuses a row keeps none of them.
  Must(*target_, "ALTER TABLE half_rows ADD CHECK (x < 100)");
  n = CopyBetween(*conn_, "COPY (SELECT g FROM generate_series(1, 100000) g) TO STDOUT", *target_,
                  "COPY half_rows FROM STDIN");
  ASSERT_FALSE(n.ok());
  EXPECT_THAT(std::string(n.status().message()), HasSubstr("check constraint"));
  EXPECT_EQ(One(*target_, "SELECT count(*) FROM half_rows"), "0");
  EXPECT_EQ(One(*conn_, "SELECT 4"), "4");
  Must(*target_, "DROP TABLE half_rows");
}

TEST_F(PgConnTest, ScramVerifierAndQuotedLiteralMakeALoginRole) {
  absl::StatusOr<std::string> verifier = conn_->ScramVerifier("scram_role", "s3cret'pw");
  ASSERT_TRUE(verifier.ok()) << verifier.status().message();
  EXPECT_THAT(*verifier, StartsWith("SCRAM-SHA-256$4096:"));
  EXPECT_THAT(*verifier, ::testing::Not(HasSubstr("s3cret")));
  EXPECT_EQ(conn_->QuoteLiteral("it's"), "'it''s'");
  Must(*conn_, StrCat("CREATE ROLE scram_role LOGIN PASSWORD ", conn_->QuoteLiteral(*verifier)));
  EXPECT_EQ(One(*conn_, "SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_role'"),
            *verifier);
}

}  // namespace
}  // namespace ds::daemon
