// The external steps a reset runs between its SQL steps, by name. The job
// kinds here hold the registry; daemon/server.cc registers the clients of
// daemon/external/ into it. A step that nobody registered, or whose Plan
// says it is not configured, is reported "skipped: not configured" and never
// fails a reset.
#ifndef DS_DAEMON_TASKS_EXTERNAL_STEPS_H_
#define DS_DAEMON_TASKS_EXTERNAL_STEPS_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "daemon/jobs/external_step.h"

namespace ds::daemon {

// The names a reset asks for, in the order it runs them.
inline constexpr std::string_view kCognitoUsersStep = "cognito-users";
inline constexpr std::string_view kStripeProductsStep = "stripe-products";

class ExternalStepRegistry {
 public:
  // A later registration under the same name replaces the earlier one.
  void Register(std::unique_ptr<ExternalStep> step);
  // nullptr when no step of that name is registered.
  ExternalStep* Find(std::string_view name) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<ExternalStep>, std::less<>> steps_;
};

// One step's decision for a job: run it with `plan`, or skip it saying why.
struct PlannedExternalStep {
  std::string name;
  ExternalStep* step = nullptr;  // null when skipped
  ExternalStepPlan plan;
  // "skipped: not configured (no cognito-users step in this dsd)", or the
  // plan's summary.
  std::string Describe() const;
};

// Asks the registry for `name` and, when there is one, its Plan. A missing
// step or an unconfigured one is a skip; a Plan error (a production pool,
// an unreachable API) is returned, so the reset refuses before it drops
// anything.
absl::StatusOr<PlannedExternalStep> PlanExternalStep(const ExternalStepRegistry& registry,
                                                     std::string_view name,
                                                     const ExternalStepInput& input);

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_EXTERNAL_STEPS_H_
