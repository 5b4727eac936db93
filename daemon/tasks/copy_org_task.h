// The copy-org job kind (`ds db copy-org`): one organization copied into a
// target that already has the schema. Two steps: "check" (the reset's
// checks, then the engine's plan against the target, which refuses tables
// that hold rows and names them) and "copy-organization".
#ifndef DS_DAEMON_TASKS_COPY_ORG_TASK_H_
#define DS_DAEMON_TASKS_COPY_ORG_TASK_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/jobs/jobs.h"
#include "daemon/providers/provider.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

class CopyOrgTask {
 public:
  CopyOrgTask(JobManager* jobs, WorkspaceResolver* resolver, const ProviderRegistry* providers)
      : jobs_(jobs), resolver_(resolver), providers_(providers) {}
  CopyOrgTask(const CopyOrgTask&) = delete;
  CopyOrgTask& operator=(const CopyOrgTask&) = delete;

  // The checks and the copy's plan (row counts with request.count_rows,
  // the graph with request.explain); read-only. Blocks.
  absl::StatusOr<v1::ResetPlan> Plan(const v1::CopyOrgRequest& request);

  // Starts the job (refused unless confirmed, or while another job acts on
  // the target).
  absl::StatusOr<std::string> Start(const v1::CopyOrgRequest& request, JobManager::Sink sink,
                                    uint64_t* token);

 private:
  JobManager* const jobs_;
  WorkspaceResolver* const resolver_;
  const ProviderRegistry* const providers_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_COPY_ORG_TASK_H_
