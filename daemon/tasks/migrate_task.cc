#include "daemon/tasks/migrate_task.h"

#include <memory>

#include "common/strings.h"
#include "daemon/migrate/migrator.h"
#include "daemon/tasks/migrate_request.h"
#include "daemon/workspace/protected_branch.h"

namespace ds::daemon {

absl::StatusOr<std::string> MigrateTask::Start(const v1::MigrateRequest& request,
                                               JobManager::Sink sink, uint64_t* token) {
  absl::StatusOr<PreparedMigrate> prepared = PrepareMigrate(request, *resolver_, *providers_);
  if (!prepared.ok()) return prepared.status();
  // Migrating a protected or default branch changes shared data: only
  // when the caller confirmed it (ds asks, or --yes).
  if (prepared->branch && !request.allow_protected()) {
    absl::StatusOr<std::optional<BranchInfo>> branch =
        DescribeBranch(*providers_, prepared->config, *prepared->branch);
    if (!branch.ok()) {
      return absl::Status(branch.status().code(),
                          StrCat(branch.status().message(), "; run again with --yes to go ahead"));
    }
    if (*branch) {
      if (absl::Status s = CheckProtected(**branch, "migrating it", false); !s.ok()) return s;
    }
  }
  prepared->options.pool = pool_;
  prepared->options.folders = &folders_;
  auto options = std::make_shared<const MigrateOptions>(std::move(prepared->options));
  return jobs_->Start(
      std::move(prepared->job), [options](JobContext& job) { return RunMigrations(*options, job); },
      std::move(sink), token);
}

absl::StatusOr<v1::MigrationStatusResponse> MigrateTask::Status(const v1::MigrateRequest& request) {
  absl::StatusOr<PreparedMigrate> prepared = PrepareMigrate(request, *resolver_, *providers_);
  if (!prepared.ok()) return prepared.status();
  prepared->options.pool = pool_;
  prepared->options.folders = &folders_;
  absl::StatusOr<v1::MigrationStatusResponse> status = InspectMigrations(prepared->options);
  if (status.ok()) *status->mutable_branch() = prepared->job.branch;
  return status;
}

}  // namespace ds::daemon
