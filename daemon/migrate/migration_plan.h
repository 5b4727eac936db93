// Which migrations of a Drizzle folder a database still needs, from the
// rows of drizzle's tracking table. Unlike drizzle's own migrator (which
// applies only entries newer than the newest row), every entry is matched
// individually, so out-of-order entries and edited files are found instead
// of skipped. Pure logic: the runner (issue 4) reads the rows and applies
// the plan.
#ifndef DS_DAEMON_MIGRATE_MIGRATION_PLAN_H_
#define DS_DAEMON_MIGRATE_MIGRATION_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/migrate/drizzle_folder.h"

namespace ds::daemon {

// One row of "drizzle"."__drizzle_migrations" (name only in drizzle 1.0's
// table shape).
struct AppliedRow {
  int64_t id = 0;
  std::string hash;
  std::optional<int64_t> created_at;
  std::optional<std::string> name;
};

enum class MigrationState {
  kApplied,
  kPending,
  kOutOfOrder,  // pending, but older than the newest applied one
  kDrifted,     // applied, but the file changed since
};

const char* MigrationStateName(MigrationState state);  // "applied", "out-of-order", ...

struct PlannedMigration {
  const DrizzleMigration* migration = nullptr;
  MigrationState state = MigrationState::kPending;
};

struct PlanOptions {
  bool allow_out_of_order = false;
  bool ignore_checksums = false;
};

struct MigrationPlan {
  std::vector<PlannedMigration> entries;          // every migration, folder order
  std::vector<const DrizzleMigration*> to_apply;  // what a run applies, in order
  std::vector<std::string> errors;    // refuse to run while non-empty
  std::vector<std::string> warnings;
};

MigrationPlan PlanMigrations(const DrizzleFolder& folder, const std::vector<AppliedRow>& rows,
                             const PlanOptions& options);

}  // namespace ds::daemon

#endif  // DS_DAEMON_MIGRATE_MIGRATION_PLAN_H_
