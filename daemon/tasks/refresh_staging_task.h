// The refresh-staging job kind: a RefreshStagingRequest turned into a job
// that dispatches the workspace's GitHub workflow and follows its run
// (daemon/external/refresh_staging.h), then refreshes the provider's branch
// list, since staging's main has new data. The RPC layer only converts.
#ifndef DS_DAEMON_TASKS_REFRESH_STAGING_TASK_H_
#define DS_DAEMON_TASKS_REFRESH_STAGING_TASK_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/jobs/jobs.h"
#include "daemon/providers/provider.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

class RefreshStagingTask {
 public:
  RefreshStagingTask(JobManager* jobs, WorkspaceResolver* resolver,
                     const ProviderRegistry* providers)
      : jobs_(jobs), resolver_(resolver), providers_(providers) {}

  // Checks the settings and token (errors name what is missing) and starts
  // the job; one at a time per repository and workflow.
  absl::StatusOr<std::string> Start(const v1::RefreshStagingRequest& request, JobManager::Sink sink,
                                    uint64_t* token);

 private:
  JobManager* const jobs_;
  WorkspaceResolver* const resolver_;
  const ProviderRegistry* const providers_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_REFRESH_STAGING_TASK_H_
