// The reset's SQL steps against a real PostgreSQL 15 (tests/pg_fixture.h):
// which schemas count as the user's, the keep list, the drop and the
// re-created public, and ending other sessions.
#include "daemon/tasks/reset_sql.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"
#include "tests/pg_fixture.h"

namespace ds::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ResetSqlTest : public test_pg::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    conn_ = Open("reset_sql_test");
    ASSERT_TRUE(conn_);
  }
  std::unique_ptr<PgConnection> Open(const std::string& app) {
    absl::StatusOr<std::unique_ptr<PgConnection>> c = PgConnection::Open(conninfo(), app);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  void Must(const std::string& sql) {
    PgResult r = conn_->Exec(sql);
    ASSERT_TRUE(r.ok()) << sql << ": " << conn_->ErrorText(r);
  }
  std::string One(const std::string& sql) {
    PgResult r = conn_->Exec(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << conn_->ErrorText(r);
    return r.ok() && r.rows() == 1 ? std::string(r.Get(0, 0)) : "<no single row>";
  }
  std::unique_ptr<PgConnection> conn_;
};

TEST_F(ResetSqlTest, UserSchemasLeaveOutSystemAndExtensionSchemas) {
  Must("CREATE SCHEMA audit; CREATE SCHEMA drizzle; CREATE SCHEMA \"Mixed Case\"");
  absl::StatusOr<std::vector<std::string>> schemas = UserSchemas(*conn_);
  ASSERT_TRUE(schemas.ok()) << schemas.status();
  EXPECT_THAT(*schemas, ElementsAre("Mixed Case", "audit", "drizzle", "public"));
}

TEST_F(ResetSqlTest, KeepListSplitsAndRefusesPublicAndTheTrackingSchema) {
  std::vector<std::string> all = {"audit", "drizzle", "public", "reporting"};
  absl::StatusOr<SchemaChoice> c = ChooseSchemas(all, " reporting , nosuch", "drizzle");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->drop, ElementsAre("audit", "drizzle", "public"));
  EXPECT_THAT(c->keep, ElementsAre("reporting"));
  absl::StatusOr<SchemaChoice> bad = ChooseSchemas(all, "reporting,drizzle", "drizzle");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("reset_keep_schemas lists drizzle"));
  EXPECT_FALSE(ChooseSchemas(all, "public", "drizzle").ok());
}

TEST_F(ResetSqlTest, DropLeavesAnEmptyPublicWithDefaultOwnerAndGrants) {
  Must(
      "CREATE SCHEMA audit; CREATE TABLE audit.log (id int); CREATE SCHEMA keepme; "
      "CREATE TABLE keepme.t (id int); CREATE TABLE public.users (id int primary key); "
      "CREATE TYPE public.mood AS ENUM ('ok')");
  std::string acl_before = One("SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'");
  ASSERT_TRUE(DropSchemasAndRecreatePublic(*conn_, {"audit", "public"}).ok());
  EXPECT_EQ(One("SELECT count(*) FROM pg_namespace WHERE nspname = 'audit'"), "0");
  EXPECT_EQ(One("SELECT to_regclass('keepme.t') IS NOT NULL"), "t");
  EXPECT_EQ(One("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public'"),
            "0");
  EXPECT_EQ(One("SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = 'public'"),
            "0");
  // As initdb left it (PostgreSQL 15): pg_database_owner, USAGE for all.
  EXPECT_EQ(One("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public'"),
            "pg_database_owner");
  EXPECT_EQ(One("SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'"), acl_before);
  EXPECT_FALSE(conn_->InTransaction());
}

TEST_F(ResetSqlTest, AFailedDropChangesNothing) {
  Must("CREATE SCHEMA audit; CREATE TABLE audit.log (id int); CREATE TABLE public.t (id int)");
  absl::Status s = DropSchemasAndRecreatePublic(*conn_, {"audit", "nosuch", "public"});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("dropping schema nosuch"));
  EXPECT_EQ(One("SELECT to_regclass('audit.log') IS NOT NULL"), "t");
  EXPECT_EQ(One("SELECT to_regclass('public.t') IS NOT NULL"), "t");
  EXPECT_FALSE(conn_->InTransaction());
}

TEST_F(ResetSqlTest, ALockHeldElsewhereTimesOutNamingWhatToDo) {
  Must("CREATE TABLE public.t (id int)");
  std::unique_ptr<PgConnection> holder = Open("lock holder");
  ASSERT_TRUE(holder->Exec("BEGIN; LOCK TABLE public.t IN ACCESS SHARE MODE").ok());
  absl::Status s = DropSchemasAndRecreatePublic(*conn_, {"public"}, /*lock_timeout_ms=*/100);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("other sessions hold locks"));
  EXPECT_EQ(One("SELECT to_regclass('public.t') IS NOT NULL"), "t");
}

TEST_F(ResetSqlTest, TerminatesOtherSessionsAndCountsThemByApplication) {
  std::unique_ptr<PgConnection> a = Open("app-a");
  std::unique_ptr<PgConnection> b = Open("app-a");
  std::unique_ptr<PgConnection> c = Open("app-b");
  absl::StatusOr<std::vector<std::string>> before = OtherSessions(*conn_);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_THAT(*before, ElementsAre("app-a × 2", "app-b × 1"));
  absl::StatusOr<TerminateReport> report = TerminateOtherSessions(*conn_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->ended_total(), 3);
  EXPECT_THAT(report->not_ended, IsEmpty());
  EXPECT_EQ(report->Summary(), "ended 3 sessions: app-a × 2, app-b × 1");
  absl::StatusOr<std::vector<std::string>> after = OtherSessions(*conn_);
  ASSERT_TRUE(after.ok());
  EXPECT_THAT(*after, IsEmpty());
  EXPECT_FALSE(a->Exec("SELECT 1").ok());
}

TEST_F(ResetSqlTest, SessionsOfARoleThatMayNotBeEndedAreReportedNotFatal) {
  Must("CREATE ROLE reset_owner LOGIN; CREATE ROLE other_app LOGIN");
  Must(StrCat("GRANT CONNECT ON DATABASE \"", database(), "\" TO reset_owner, other_app"));
  auto as = [&](const std::string& role, const std::string& app) {
    absl::StatusOr<std::unique_ptr<PgConnection>> c =
        PgConnection::Open(StrCat(conninfo(), " user=", role), app);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  };
  std::unique_ptr<PgConnection> owner = as("reset_owner", "ds reset");
  std::unique_ptr<PgConnection> other = as("other_app", "worker");
  std::unique_ptr<PgConnection> mine = as("reset_owner", "psql");
  ASSERT_TRUE(owner && other && mine);
  absl::StatusOr<TerminateReport> report = TerminateOtherSessions(*owner);
  ASSERT_TRUE(report.ok()) << report.status();
  // Its own psql ends; another role's worker and the superuser's session
  // cannot be ended by a plain owner role, as on a managed server.
  EXPECT_EQ(report->ended_total(), 1);
  ASSERT_EQ(report->not_ended.size(), 2u);
  EXPECT_THAT(report->Summary(), HasSubstr("worker (role other_app)"));
  EXPECT_THAT(report->Summary(), HasSubstr("could not end 2"));
  EXPECT_TRUE(other->Exec("SELECT 1").ok());
}

}  // namespace
}  // namespace ds::daemon
