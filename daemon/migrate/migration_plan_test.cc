#include "daemon/migrate/migration_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ds::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

DrizzleMigration M(std::string tag, int64_t when, std::string hash) {
  DrizzleMigration m;
  m.tag = tag;
  m.when = when;
  m.name = DerivedFolderName(when, tag);
  m.hash = std::move(hash);
  m.file = tag + ".sql";
  return m;
}

AppliedRow Row(int64_t id, std::string hash, std::optional<int64_t> created_at,
               std::optional<std::string> name = std::nullopt) {
  return AppliedRow{id, std::move(hash), created_at, std::move(name)};
}

DrizzleFolder Folder(std::vector<DrizzleMigration> ms) {
  DrizzleFolder f;
  f.migrations = std::move(ms);
  return f;
}

std::vector<std::string> States(const MigrationPlan& p) {
  std::vector<std::string> out;
  for (const PlannedMigration& e : p.entries) out.push_back(MigrationStateName(e.state));
  return out;
}

TEST(MigrationPlanTest, FreshDatabaseAppliesEverythingInOrder) {
  DrizzleFolder f = Folder({M("0000_a", 100, "h0"), M("0001_b", 200, "h1")});
  MigrationPlan p = PlanMigrations(f, {}, {});
  EXPECT_THAT(p.errors, IsEmpty());
  ASSERT_EQ(p.to_apply.size(), 2u);
  EXPECT_EQ(p.to_apply[0]->tag, "0000_a");
  EXPECT_EQ(p.to_apply[1]->tag, "0001_b");
}

TEST(MigrationPlanTest, AppliedByWhenAndHashNothingToDo) {
  DrizzleFolder f = Folder({M("0000_a", 100, "h0"), M("0001_b", 200, "h1")});
  MigrationPlan p = PlanMigrations(f, {Row(1, "h0", 100), Row(2, "h1", 200)}, {});
  EXPECT_THAT(p.to_apply, IsEmpty());
  EXPECT_THAT(States(p), ::testing::ElementsAre("applied", "applied"));
  EXPECT_THAT(p.warnings, IsEmpty());
}

TEST(MigrationPlanTest, OutOfOrderIsRefusedThenAllowed) {
  // 0001 was merged late: its `when` is older than the newest applied row.
  DrizzleFolder f = Folder({M("0000_a", 100, "h0"), M("0001_late", 150, "h1"),
                            M("0002_c", 200, "h2")});
  std::vector<AppliedRow> rows = {Row(1, "h0", 100), Row(2, "h2", 200)};
  MigrationPlan p = PlanMigrations(f, rows, {});
  EXPECT_THAT(States(p), ::testing::ElementsAre("applied", "out-of-order", "applied"));
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_THAT(p.errors[0], HasSubstr("0001_late.sql"));
  EXPECT_THAT(p.errors[0], HasSubstr("--allow-out-of-order"));
  EXPECT_THAT(p.to_apply, IsEmpty());

  p = PlanMigrations(f, rows, {.allow_out_of_order = true});
  EXPECT_THAT(p.errors, IsEmpty());
  ASSERT_EQ(p.to_apply.size(), 1u);
  EXPECT_EQ(p.to_apply[0]->tag, "0001_late");
}

TEST(MigrationPlanTest, EditedAppliedFileIsDrift) {
  DrizzleFolder f = Folder({M("0000_a", 100, "edited")});
  MigrationPlan p = PlanMigrations(f, {Row(1, "original", 100)}, {});
  EXPECT_THAT(States(p), ::testing::ElementsAre("drifted"));
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_THAT(p.errors[0], HasSubstr("0000_a.sql"));
  EXPECT_THAT(p.errors[0], HasSubstr("--ignore-checksums"));
  EXPECT_THAT(p.to_apply, IsEmpty()) << "a drifted migration is never re-run";
  p = PlanMigrations(f, {Row(1, "original", 100)}, {.ignore_checksums = true});
  EXPECT_THAT(p.errors, IsEmpty());
}

TEST(MigrationPlanTest, NullCreatedAtWarnsAndDoesNotRerun) {
  DrizzleFolder f = Folder({M("0000_a", 100, "h0"), M("0001_b", 200, "h1")});
  MigrationPlan p = PlanMigrations(f, {Row(1, "h0", std::nullopt)}, {});
  ASSERT_FALSE(p.warnings.empty());
  EXPECT_THAT(p.warnings[0], HasSubstr("NULL created_at"));
  // Matched by hash: 0000 is applied, only 0001 runs.
  ASSERT_EQ(p.to_apply.size(), 1u);
  EXPECT_EQ(p.to_apply[0]->tag, "0001_b");
}

TEST(MigrationPlanTest, NameColumnMatchesDrizzle1Rows) {
  DrizzleFolder f = Folder({M("0000_a", 100, "h0"), M("0001_b", 200, "h1")});
  MigrationPlan p =
      PlanMigrations(f, {Row(1, "h1", 999, DerivedFolderName(200, "0001_b"))}, {});
  EXPECT_THAT(States(p), ::testing::ElementsAre("out-of-order", "applied"));
}

TEST(MigrationPlanTest, UnknownRowsWarn) {
  DrizzleFolder f = Folder({M("0000_a", 100, "h0")});
  MigrationPlan p = PlanMigrations(f, {Row(1, "h0", 100), Row(7, "deadbeefdeadbeef", 50)}, {});
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_THAT(p.warnings[0], HasSubstr("tracking row 7"));
}

}  // namespace
}  // namespace ds::daemon
