// An external step: a call into a cloud API that a job runs between its SQL
// steps (a reset deletes the stage's Cognito users before migrating and seeds
// Stripe products after). The job kinds in tasks/ hold a registry of steps by
// name; the clients in external/ implement them. Both sides see only this
// header, so neither folder includes the other.
#ifndef DS_DAEMON_JOBS_EXTERNAL_STEP_H_
#define DS_DAEMON_JOBS_EXTERNAL_STEP_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config.h"
#include "daemon/jobs/jobs.h"

namespace ds::daemon {

// What a step may read. `credentials` holds the variables the caller
// forwarded or the workspace .env set (AWS_*, STRIPE_*, GITHUB_TOKEN): they
// are secrets, so a step never logs or reports them.
struct ExternalStepInput {
  const common::Config* config = nullptr;  // the workspace's resolved settings
  std::map<std::string, std::string> credentials;
  std::string stage;
  std::string workspace_dir;
};

// A step's answer before anything changes. A step that is not configured is
// skipped, never failed: `skip_reason` names the missing setting.
struct ExternalStepPlan {
  bool configured = false;
  std::string skip_reason;  // "not configured: cognito_user_pool_id is unset"
  std::string summary;      // for the confirmation: "pool dev-users (us-east-1_X), 150 users"
};

class ExternalStep {
 public:
  virtual ~ExternalStep() = default;
  // Stable, shown in progress and job records: "cognito-users".
  virtual std::string_view name() const = 0;
  // Read-only: decides whether the step is configured and checks what it
  // would touch (a production user pool is refused here), so that the job's
  // first step can refuse before anything is dropped.
  virtual absl::StatusOr<ExternalStepPlan> Plan(const ExternalStepInput& input) = 0;
  // Does the work, reporting through `job` (Progress, Log; honours
  // job.cancelled()). Called only when Plan said configured.
  virtual absl::Status Run(const ExternalStepInput& input, const ExternalStepPlan& plan,
                           JobContext& job) = 0;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_JOBS_EXTERNAL_STEP_H_
