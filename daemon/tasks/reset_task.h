// The reset job kind (`ds db reset`): a wipe-and-rebuild of a developer
// database at the SQL level, in seven steps reported as "step i of 7":
//
//   1 check            both databases answer, the organization exists in
//                      the source, the target is not the source nor a
//                      protected/default branch, the folder reads, the
//                      external steps are planned (nothing is touched yet)
//   2 terminate        every other session on the target ended
//   3 drop-schemas     every user schema dropped (reset_keep_schemas
//                      excepted), the tracking schema too; public re-created
//   4 cognito-users    external step
//   5 migrate          the whole folder, in process, by the migrate engine
//   6 stripe-products  external step
//   7 copy-organization  the org-copy engine, source into target
//
// A failure or cancel from step 3 on leaves the target partial; the job's
// error says so and that re-running the reset repairs it (a reset never
// depends on what the target holds).
#ifndef DS_DAEMON_TASKS_RESET_TASK_H_
#define DS_DAEMON_TASKS_RESET_TASK_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/jobs/jobs.h"
#include "daemon/migrate/drizzle_folder_cache.h"
#include "daemon/providers/provider.h"
#include "daemon/tasks/external_steps.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

class ResetTask {
 public:
  ResetTask(JobManager* jobs, WorkspaceResolver* resolver, const ProviderRegistry* providers,
            const ExternalStepRegistry* external)
      : jobs_(jobs), resolver_(resolver), providers_(providers), external_(external) {}
  ResetTask(const ResetTask&) = delete;
  ResetTask& operator=(const ResetTask&) = delete;

  // Step 1 alone, read-only: the plan the confirmation and --dry-run show
  // (with the copy's per-table row counts when request.count_rows). Its
  // refusals are errors. Blocks (connects to both databases).
  absl::StatusOr<v1::ResetPlan> Plan(const v1::ResetRequest& request);

  // Resolves the request and starts the job (refused unless confirmed, or
  // while another job acts on the target). `sink` sees every event.
  absl::StatusOr<std::string> Start(const v1::ResetRequest& request, JobManager::Sink sink,
                                    uint64_t* token);

 private:
  JobManager* const jobs_;
  WorkspaceResolver* const resolver_;
  const ProviderRegistry* const providers_;
  const ExternalStepRegistry* const external_;
  DrizzleFolderCache folders_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_RESET_TASK_H_
