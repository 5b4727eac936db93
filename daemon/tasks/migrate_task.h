// The migrate job kind: turns a MigrateRequest into a job on the
// JobManager that runs the migrator, and answers the read-only status. The
// RPC layer (job_service.cc) only converts and streams; everything about
// migrating lives here and below.
#ifndef DS_DAEMON_TASKS_MIGRATE_TASK_H_
#define DS_DAEMON_TASKS_MIGRATE_TASK_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/jobs/jobs.h"
#include "daemon/migrate/drizzle_folder_cache.h"
#include "daemon/pg/pg_pool.h"
#include "daemon/providers/provider.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

class MigrateTask {
 public:
  // `pool` keeps the connections of finished jobs for the next one.
  MigrateTask(JobManager* jobs, WorkspaceResolver* resolver, const ProviderRegistry* providers,
              PgConnectionPool* pool)
      : jobs_(jobs), resolver_(resolver), providers_(providers), pool_(pool) {}
  MigrateTask(const MigrateTask&) = delete;
  MigrateTask& operator=(const MigrateTask&) = delete;

  // Resolves the target and folder (PrepareMigrate's errors) and starts the
  // job (JobManager::Start's: another job on the database). `sink` sees
  // every event from `started` on; `token` receives its subscription.
  // Blocks: resolving a branch may start the local cluster.
  absl::StatusOr<std::string> Start(const v1::MigrateRequest& request, JobManager::Sink sink,
                                    uint64_t* token);

  // Every migration's state, and what a run would apply; changes nothing.
  absl::StatusOr<v1::MigrationStatusResponse> Status(const v1::MigrateRequest& request);

 private:
  JobManager* const jobs_;
  WorkspaceResolver* const resolver_;
  const ProviderRegistry* const providers_;
  PgConnectionPool* const pool_;
  DrizzleFolderCache folders_;  // parsed folders, shared by runs and status
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_MIGRATE_TASK_H_
