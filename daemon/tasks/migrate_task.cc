#include "daemon/tasks/migrate_task.h"

#include <memory>

#include "daemon/migrate/migrator.h"
#include "daemon/tasks/migrate_request.h"

namespace ds::daemon {

absl::StatusOr<std::string> MigrateTask::Start(const v1::MigrateRequest& request,
                                               JobManager::Sink sink, uint64_t* token) {
  absl::StatusOr<PreparedMigrate> prepared = PrepareMigrate(request, *resolver_, *providers_);
  if (!prepared.ok()) return prepared.status();
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
