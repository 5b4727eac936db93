// Turns a MigrateRequest into what the migrator needs: which database (the
// --db string, a provider branch, or the workspace's target variable),
// which folder, which tracking table, and the job's description. Shared by
// the Migrate job and the read-only MigrationStatus.
#ifndef DS_DAEMON_TASKS_MIGRATE_REQUEST_H_
#define DS_DAEMON_TASKS_MIGRATE_REQUEST_H_

#include <optional>

#include "absl/status/statusor.h"
#include "daemon/jobs/jobs.h"
#include "daemon/migrate/migrator.h"
#include "daemon/providers/provider.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

struct PreparedMigrate {
  MigrateOptions options;
  JobSpec job;
  // The provider branch the target is, when a provider knows it (for the
  // protected-branch check), and the workspace's configuration.
  std::optional<BranchLocation> branch;
  common::Config config;
};

// Errors say what is missing and what to pass: kInvalidArgument for bad
// request values, kFailedPrecondition for a workspace that says nothing
// usable (no target variable, no folder).
absl::StatusOr<PreparedMigrate> PrepareMigrate(const v1::MigrateRequest& req,
                                               WorkspaceResolver& resolver,
                                               const ProviderRegistry& providers);

// The Drizzle folder: `requested` (relative to the workspace), else config
// `migrations_dir`, else the first of drizzle/ and backend/drizzle/ that
// exists; kFailedPrecondition naming both otherwise.
absl::StatusOr<std::filesystem::path> MigrationsDir(const std::string& requested,
                                                    const common::Config& config,
                                                    const std::filesystem::path& workspace);

// One job per database: the key names the server and the database.
std::string DatabaseKey(const common::ConnInfo& info);

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_MIGRATE_REQUEST_H_
