// The organization copy against a real PostgreSQL 15 (tests/pg_fixture.h):
// testdata/schema.sql filled by testdata/generate.sql, copied, and judged
// by testdata/oracle.py, which computes the expected rows in Python from
// its own list of the schema's FKs and checks the target by query.
#include "daemon/orgcopy/org_copy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/jobs/recording_job_context.h"
#include "daemon/pg/pg_conn.h"
#include "tests/pg_fixture.h"

namespace ds::daemon {
namespace {

using ::absl::StrCat;
using ::testing::HasSubstr;

const std::string kTestdata = DS_ORGCOPY_TESTDATA;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class OrgCopyTest : public test_pg::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    source_ = Open(conninfo());
    ASSERT_TRUE(source_);
  }

  static std::unique_ptr<PgConnection> Open(const std::string& conninfo) {
    absl::StatusOr<std::unique_ptr<PgConnection>> c = PgConnection::Open(conninfo, "org_copy_test");
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }
  static void Must(PgConnection& conn, const std::string& sql) {
    PgResult r = conn.Exec(sql);
    ASSERT_TRUE(r.ok()) << sql.substr(0, 200) << ": " << conn.ErrorText(r);
  }
  static std::string One(PgConnection& conn, const std::string& sql) {
    PgResult r = conn.Exec(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << conn.ErrorText(r);
    return r.ok() && r.rows() == 1 ? std::string(r.Get(0, 0)) : "<no single row>";
  }

  // The generated source: 4 organizations, org 1 three times the others.
  void GenerateSource() {
    Must(*source_, ReadFile(kTestdata + "/schema.sql"));
    Must(*source_, ReadFile(kTestdata + "/generate.sql"));
    Must(*source_, "SELECT orgcopy_generate(orgs => 4, scale => 2, big => 3, seed => 7)");
    // The source's physical layout drifts from a fresh migration's: a
    // dropped column, and (below) the target's columns in another order.
    Must(*source_, "ALTER TABLE notes ADD COLUMN legacy int; ALTER TABLE notes DROP COLUMN legacy");
  }

  // A migrated, empty target. `owner` set: a database and tables owned by
  // that non-superuser role, which the copy then connects as.
  std::string MakeTarget(const std::string& owner = "") {
    absl::StatusOr<std::string> db = cluster().CreateDatabase("target");
    EXPECT_TRUE(db.ok()) << db.status();
    std::string conninfo = cluster().ConnInfo(*db);
    if (!owner.empty()) {
      auto admin = Open(conninfo);
      (void)admin->Exec(StrCat("CREATE ROLE ", owner, " LOGIN NOSUPERUSER"));
      Must(*admin, StrCat("ALTER DATABASE ", *db, " OWNER TO ", owner,
                          "; ALTER SCHEMA public OWNER TO ", owner));
      conninfo += StrCat(" user=", owner);
    }
    auto target = Open(conninfo);
    Must(*target, ReadFile(kTestdata + "/schema.sql"));
    Must(*target,
         "ALTER TABLE projects DROP COLUMN name; ALTER TABLE projects ADD COLUMN name text");
    return conninfo;
  }

  // testdata/oracle.py's verdict: its exit status and output.
  std::pair<int, std::string> RunOracle(const std::string& target, const std::string& org) {
    std::string cmd = StrCat("python3 ", kTestdata, "/oracle.py --source '", conninfo(),
                             "' --target '", target, "' --org ", org, " 2>&1");
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return {-1, "popen failed"};
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    return {pclose(p), out};
  }
  void ExpectOracleAgrees(const std::string& target, const std::string& org) {
    auto [rc, out] = RunOracle(target, org);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_THAT(out, HasSubstr(" 0 problems")) << out;
  }

  // The copy from this test's source into `target`.
  absl::StatusOr<OrgCopyReport> Copy(const std::string& target, const OrgCopySpec& spec,
                                     JobContext& job) {
    return RunOrgCopy({.source_conninfo = conninfo(), .target_conninfo = target}, spec, job);
  }

  OrgCopySpec Spec(const std::string& org) {
    OrgCopySpec spec;
    spec.organization_id = org;
    return spec;
  }

  std::unique_ptr<PgConnection> source_;
};

// Replica mode loads in any order, so each selection statement's rows
// load from a second source session while the selection goes on (users
// in several batches: the organization's, then the guests who arrive as
// parents),
// and audit_events, a root leaf with exact duplicate rows, by its join; a
// batch lost or loaded twice leaves the oracle short or breaks a key. The
// same copy with the selection first, then the load, must agree too.
TEST_F(OrgCopyTest, SuperuserCopyMatchesTheOracle) {
  GenerateSource();
  std::string target;
  absl::StatusOr<OrgCopyReport> report;
  for (bool overlap : {false, true}) {
    target = MakeTarget();
    RecordingJobContext job;
    OrgCopySpec spec = Spec("1");
    spec.load_while_selecting = overlap;
    // Batches of more ids than this load in several COPYs (the default is
    // 4M ids per array): the oracle must still agree.
    spec.row_ids_per_array = 7;
    report = Copy(target, spec, job);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->replica_mode);
    EXPECT_GT(report->rows, 0);
    EXPECT_GT(report->bytes, 0);
    ExpectOracleAgrees(target, "1");
    if (overlap) {
      EXPECT_GE(report->batches_while_selecting, 3) << FormatOrgCopyReport(*report);
    } else {
      EXPECT_EQ(report->batches_while_selecting, 0);
    }
    // Step i of n counts tables, however many batches one takes: never
    // past n, never back, and the last step is the report's last table.
    int last_step = 0, total = 0, steps = 0;
    for (const std::string& line : job.lines()) {
      int step = 0;
      if (std::sscanf(line.c_str(), "progress %d/%d", &step, &total) != 2) continue;
      ++steps;
      EXPECT_LE(step, total) << line;
      EXPECT_GE(step, last_step) << line;
      last_step = step;
    }
    EXPECT_EQ(last_step, static_cast<int>(report->tables.size()));
    if (overlap) {
      EXPECT_GT(steps, last_step) << "some table came in more than one batch";
    }
  }
  EXPECT_THAT(FormatOrgCopyReport(*report), HasSubstr("public.tasks"));

  // The oracle can tell: one of a pair of exact duplicates gone, and a
  // sequence set back, are both seen.
  Must(*Open(target),
       "DELETE FROM audit_events WHERE ctid = (SELECT min(ctid) FROM audit_events WHERE "
       "detail = 'event 5 of 1'); SELECT setval('billing.invoice_numbers', 1000)");
  auto [rc, out] = RunOracle(target, "1");
  EXPECT_NE(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("public.audit_events: 144 rows expected, 143 copied"));
  EXPECT_THAT(out, HasSubstr("sequence billing.invoice_numbers"));
}

// Both of the owner's ways: every copied FK dropped and re-added (the
// default), and per row (order, NULL-then-UPDATE, deferred, the hard
// cycle's one FK dropped). The second also selects the upward pass round
// by round to the end, where the first (and the superuser's) finishes it
// with the recursive walk: both must find the oracle's rows.
TEST_F(OrgCopyTest, NonSuperuserOwnerCopyMatchesTheOracle) {
  GenerateSource();
  for (bool drop : {true, false}) {
    std::string target = MakeTarget("orgcopy_owner");
    RecordingJobContext job;
    OrgCopySpec spec = Spec("2");
    spec.drop_foreign_keys = drop;
    if (!drop) spec.upward_walk_below = 0;
    absl::StatusOr<OrgCopyReport> report = Copy(target, spec, job);
    ASSERT_TRUE(report.ok()) << drop << ": " << report.status();
    EXPECT_FALSE(report->replica_mode);
    ExpectOracleAgrees(target, "2");
    // With every FK dropped the order is free, and rows load while the
    // selection runs; per row, parents must come first.
    if (drop) {
      EXPECT_GT(report->batches_while_selecting, 0);
    } else {
      EXPECT_EQ(report->batches_while_selecting, 0);
    }
  }
}

TEST_F(OrgCopyTest, ExplainCountsWithoutWritingAndShowsHowCyclesLoad) {
  GenerateSource();
  std::string target = MakeTarget("orgcopy_explain");
  absl::StatusOr<OrgCopyPlan> bulk = ExplainOrgCopy(
      {.source_conninfo = conninfo(), .target_conninfo = target}, Spec("1"), /*count_rows=*/false);
  ASSERT_TRUE(bulk.ok()) << bulk.status();
  EXPECT_TRUE(bulk->foreign_keys_dropped);
  EXPECT_THAT(FormatOrgCopyPlan(*bulk), HasSubstr("FKs dropped for the load"));
  // The per-row way shows each cycle's plan.
  OrgCopySpec per_row = Spec("1");
  per_row.drop_foreign_keys = false;
  absl::StatusOr<OrgCopyPlan> plan = ExplainOrgCopy(
      {.source_conninfo = conninfo(), .target_conninfo = target}, per_row, /*count_rows=*/true);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->refusals.empty());
  std::string text = FormatOrgCopyPlan(*plan);
  EXPECT_THAT(text, HasSubstr("null-then-update"));
  EXPECT_THAT(text, HasSubstr("public.users.favorite_project_id"));
  EXPECT_THAT(text, HasSubstr("deferred"));
  EXPECT_THAT(text, HasSubstr("self-reference"));
  EXPECT_THAT(text, HasSubstr("users_favorite_project_fk: up only (nullable)"));
  EXPECT_THAT(text, HasSubstr("projects_owner_id_fkey: down+up (NOT NULL)"));
  // The hard cycle, loaded by the owner with one FK dropped and re-added.
  EXPECT_THAT(text, HasSubstr("drop-and-validate"));
  EXPECT_THAT(text, HasSubstr("public.team_leads.team_leads_team_id_fkey (team_id)"));
  for (const OrgCopyTablePlan& t : plan->tables) {
    // Org 1, and as parents: org 2 (its first user is a guest in org 1),
    // org 4 (its project 1 is owned by org 1's first user, so it is in D),
    // org 3 (owner of project 200001, the guest's favorite project).
    if (t.table.name == "organizations") {
      EXPECT_EQ(t.rows, 4) << text;
    }
    EXPECT_NE(t.table.name, "unrelated");
    // Partitioned tables are copied through their parent, partitions unseen.
    EXPECT_NE(t.table.name, "events_old");
    if (t.table.name == "events" || t.table.name == "event_reads") {
      EXPECT_GT(t.rows, 0) << text;
    }
  }
  EXPECT_EQ(One(*Open(target), "SELECT count(*) FROM organizations"), "0");

  absl::StatusOr<OrgCopyPlan> graph_only = ExplainOrgCopy(
      {.source_conninfo = conninfo(), .target_conninfo = ""}, Spec("1"), /*count_rows=*/false);
  ASSERT_TRUE(graph_only.ok()) << graph_only.status();
  EXPECT_EQ(graph_only->tables.front().rows, -1);
}

TEST_F(OrgCopyTest, UnknownOrganizationTouchesNothing) {
  GenerateSource();
  std::string target = MakeTarget();
  RecordingJobContext job;
  absl::StatusOr<OrgCopyReport> report = Copy(target, Spec("999"), job);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(report.status().message(), HasSubstr("public.organizations.id = 999"));
  report = Copy(target, Spec("acme"), job);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("not a valid bigint"));
  OrgCopySpec spec = Spec("1");
  spec.skip_down = {"no_such_fk"};
  report = Copy(target, spec, job);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("no_such_fk"));
}

TEST_F(OrgCopyTest, RefusesTargetTablesWithRowsAndSchemaMismatches) {
  GenerateSource();
  std::string target = MakeTarget();
  auto t = Open(target);
  Must(*t,
       "INSERT INTO plans VALUES (1, 'seeded by a migration'); ALTER TABLE notes DROP COLUMN due");
  RecordingJobContext job;
  absl::StatusOr<OrgCopyReport> report = Copy(target, Spec("1"), job);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.status().message(), HasSubstr("target table public.plans already holds rows"));
  EXPECT_THAT(report.status().message(),
              HasSubstr("column public.notes.due is in the source but not in the target"));
  EXPECT_EQ(One(*t, "SELECT count(*) FROM organizations"), "0");
}

TEST_F(OrgCopyTest, CancelLeavesTheTargetAsItWas) {
  GenerateSource();
  std::string target = MakeTarget("orgcopy_cancel");
  RecordingJobContext job;
  job.OnLine([&job](const std::string& line) {
    if (line.starts_with("progress 3/")) job.Cancel();
  });
  absl::StatusOr<OrgCopyReport> report = Copy(target, Spec("1"), job);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(report.status().message(), HasSubstr("left as they were"));
  auto t = Open(target);
  EXPECT_EQ(One(*t, "SELECT count(*) FROM organizations"), "0");
  EXPECT_EQ(One(*t, "SELECT count(*) FROM users"), "0");
  // Every user trigger as the schema left it, the partitions' clones too.
  EXPECT_EQ(One(*t,
                "SELECT string_agg(tgrelid::regclass::text || '.' || tgname || '=' || "
                "tgenabled::text, ' ' ORDER BY tgrelid::regclass::text) "
                "FROM pg_trigger WHERE NOT tgisinternal"),
            "events.events_mark=O events_new.events_mark=O events_old.events_mark=D "
            "files.files_mark=A memberships.memberships_count=O plans.plans_mark=D");
  // And the next copy works.
  RecordingJobContext again;
  report = Copy(target, Spec("1"), again);
  ASSERT_TRUE(report.ok()) << report.status();
  ExpectOracleAgrees(target, "1");
}

TEST_F(OrgCopyTest, SourceThatBreaksAnFkIsNamed) {
  GenerateSource();
  Must(*source_,
       "ALTER TABLE tasks DROP CONSTRAINT tasks_assignee_id_fkey;"
       "UPDATE tasks SET assignee_id = 777 WHERE id = (SELECT min(id) FROM tasks WHERE project_id "
       "= 100002);"
       "ALTER TABLE tasks ADD CONSTRAINT tasks_assignee_id_fkey FOREIGN KEY (assignee_id) "
       "REFERENCES users NOT VALID");
  for (const std::string& owner : {std::string(), std::string("orgcopy_fk")}) {
    std::string target = MakeTarget(owner);
    RecordingJobContext job;
    absl::StatusOr<OrgCopyReport> report = Copy(target, Spec("1"), job);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition) << report.status();
    EXPECT_THAT(report.status().message(), HasSubstr("tasks_assignee_id_fkey")) << owner;
    EXPECT_THAT(report.status().message(), HasSubstr("777")) << owner;
    EXPECT_EQ(One(*Open(target), "SELECT count(*) FROM tasks"), "0");
  }
}

// A replica-mode load checks no FK, and nothing checks after it: the
// selection proves every FK value of S. So a broken FK on a row that S
// only holds as a parent (a guest user of another organization, whose
// favourite project does not exist), or on a composite FK of a row of D,
// must stop the selection, whether the upward pass ends round by round
// or by the recursive walk; and the dry run's count stops the same way.
TEST_F(OrgCopyTest, SelectionNamesBrokenFksOnParentsAndCompositeKeys) {
  GenerateSource();
  const std::string guest =
      One(*source_,
          "SELECT min(u.id) FROM memberships m JOIN users u ON u.id = m.user_id "
          "WHERE m.org_id = 1 AND u.org_id <> 1");
  ASSERT_NE(guest, "");
  Must(*source_, StrCat("ALTER TABLE users DROP CONSTRAINT users_favorite_project_fk;"
                        "UPDATE users SET favorite_project_id = 987654 WHERE id = ",
                        guest,
                        ";"
                        "ALTER TABLE users ADD CONSTRAINT users_favorite_project_fk "
                        "FOREIGN KEY (favorite_project_id) REFERENCES projects NOT VALID"));
  for (int64_t walk_below : {int64_t{0}, int64_t{1} << 40}) {
    OrgCopySpec spec = Spec("1");
    spec.upward_walk_below = walk_below;
    std::string target = MakeTarget();
    RecordingJobContext job;
    absl::StatusOr<OrgCopyReport> report = Copy(target, spec, job);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition) << report.status();
    EXPECT_THAT(report.status().message(), HasSubstr("users_favorite_project_fk")) << walk_below;
    EXPECT_THAT(report.status().message(), HasSubstr("(987654)")) << walk_below;
    EXPECT_EQ(One(*Open(target), "SELECT count(*) FROM users"), "0");
    absl::StatusOr<OrgCopyPlan> plan =
        ExplainOrgCopy({.source_conninfo = conninfo(), .target_conninfo = ""}, spec,
                       /*count_rows=*/true);
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition) << walk_below;
  }
  Must(*source_, StrCat("UPDATE users SET favorite_project_id = NULL WHERE id = ", guest));

  // A read of an event that does not exist, by a user of the organization
  // (so in D through user_id), written the way broken rows get in: in
  // replica mode, which skips the FK (a partitioned table has no NOT VALID
  // FK in PostgreSQL 15).
  Must(*source_, StrCat("SET session_replication_role = replica;"
                        "INSERT INTO event_reads VALUES (424242, '2020-01-01', "
                        "(SELECT min(id) FROM users WHERE org_id = 1));"
                        "RESET session_replication_role"));
  std::string target = MakeTarget();
  RecordingJobContext job;
  absl::StatusOr<OrgCopyReport> report = Copy(target, Spec("1"), job);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition) << report.status();
  EXPECT_THAT(report.status().message(), HasSubstr("event_reads_event_id_event_at_fkey"));
  EXPECT_THAT(report.status().message(), HasSubstr("(424242,2020-01-01)"));
}

// A cycle of NOT NULL, NOT DEFERRABLE FKs: replica mode loads it as a
// superuser, the tables' owner drops one FK and re-adds it, NOT VALID then
// VALIDATE, in the load's transaction; a role that may only write the
// tables is refused before anything is written, naming cycle and right.
TEST_F(OrgCopyTest, HardCycleLoadsByReplicaModeOrDroppedFkElseIsNamed) {
  const std::string schema =
      "CREATE TABLE organizations (id int PRIMARY KEY);"
      "CREATE TABLE a (id int PRIMARY KEY, org_id int NOT NULL REFERENCES organizations, b_id int "
      "NOT NULL);"
      "CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a);"
      "ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;";
  Must(*source_,
       "CREATE TABLE organizations (id int PRIMARY KEY);"
       "CREATE TABLE a (id int PRIMARY KEY, org_id int NOT NULL REFERENCES organizations, b_id int "
       "NOT NULL);"
       "CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a);"
       "INSERT INTO organizations VALUES (1), (2); INSERT INTO a VALUES (1, 1, 1), (2, 2, 2);"
       "INSERT INTO b VALUES (1, 1), (2, 2); ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;");
  const std::string fks =
      "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated, "
      "'; ' ORDER BY conname) FROM pg_constraint WHERE contype = 'f'";
  const std::string source_fks = One(*source_, fks);
  for (const std::string& role :
       {std::string(), std::string("hard_owner"), std::string("hard_writer")}) {
    absl::StatusOr<std::string> db = cluster().CreateDatabase("hard");
    ASSERT_TRUE(db.ok());
    std::string target = cluster().ConnInfo(*db);
    if (role == "hard_owner") {
      Must(*Open(target),
           StrCat("CREATE ROLE ", role, " LOGIN; ALTER SCHEMA public OWNER TO ", role));
      Must(*Open(StrCat(target, " user=", role)), schema);
    } else {
      Must(*Open(target), schema);
      if (!role.empty()) {
        Must(*Open(target),
             StrCat("CREATE ROLE ", role, " LOGIN; GRANT USAGE ON SCHEMA public TO ", role,
                    "; GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO ", role));
      }
    }
    if (!role.empty()) target += StrCat(" user=", role);
    RecordingJobContext job;
    absl::StatusOr<OrgCopyReport> report = Copy(target, Spec("1"), job);
    auto check = Open(target);
    if (role != "hard_writer") {
      ASSERT_TRUE(report.ok()) << role << ": " << report.status();
      EXPECT_EQ(report->replica_mode, role.empty());
      EXPECT_EQ(report->rows, 3);
      EXPECT_EQ(One(*check, "SELECT string_agg(id::text, ',') FROM b"), "1");
      // The FKs are all back, as defined, and valid.
      EXPECT_EQ(One(*check, fks), source_fks) << role;
    } else {
      EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_THAT(report.status().message(), HasSubstr("public.a -> public.b -> public.a"));
      EXPECT_THAT(report.status().message(), HasSubstr("session_replication_role"));
      EXPECT_THAT(report.status().message(), HasSubstr("needs ownership of public."));
      EXPECT_EQ(One(*check, "SELECT count(*) FROM a"), "0");
      EXPECT_EQ(One(*check, fks), source_fks);
    }
  }
}

// A dropped FK that the copied rows break fails at VALIDATE, inside the
// one transaction: the target keeps no row and gets its FK back.
TEST_F(OrgCopyTest, HardCycleFkThatTheRowsBreakRollsBackWithTheFkInPlace) {
  Must(*source_,
       "CREATE TABLE organizations (id int PRIMARY KEY);"
       "CREATE TABLE a (id int PRIMARY KEY, org_id int NOT NULL REFERENCES organizations, b_id int "
       "NOT NULL);"
       "CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL);"
       "INSERT INTO organizations VALUES (1); INSERT INTO b VALUES (1, 1), (2, 99);"
       "INSERT INTO a VALUES (1, 1, 2);"
       "ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;"
       "ALTER TABLE b ADD FOREIGN KEY (a_id) REFERENCES a NOT VALID;");
  absl::StatusOr<std::string> db = cluster().CreateDatabase("broken");
  ASSERT_TRUE(db.ok());
  std::string target = cluster().ConnInfo(*db);
  Must(*Open(target), "CREATE ROLE broken_owner LOGIN; ALTER SCHEMA public OWNER TO broken_owner");
  target += " user=broken_owner";
  Must(*Open(target),
       "CREATE TABLE organizations (id int PRIMARY KEY);"
       "CREATE TABLE a (id int PRIMARY KEY, org_id int NOT NULL REFERENCES organizations, b_id int "
       "NOT NULL);"
       "CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a);"
       "ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;");
  RecordingJobContext job;
  absl::StatusOr<OrgCopyReport> report = Copy(target, Spec("1"), job);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition) << report.status();
  EXPECT_THAT(report.status().message(), HasSubstr("b_a_id_fkey"));
  EXPECT_THAT(report.status().message(), HasSubstr("99"));
  auto t = Open(target);
  EXPECT_EQ(One(*t, "SELECT count(*) FROM a"), "0");
  EXPECT_EQ(One(*t,
                "SELECT count(*) FROM pg_constraint WHERE conname = 'b_a_id_fkey' AND "
                "convalidated"),
            "1");
}

}  // namespace
}  // namespace ds::daemon
