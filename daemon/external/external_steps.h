// The external steps this folder implements, made by name, for the job
// kinds in tasks/ (which see only daemon/jobs/external_step.h) and for
// dsd's wiring: "cognito-users" (the reset's step before migrating) and
// "stripe-products" (after).
#ifndef DS_DAEMON_EXTERNAL_EXTERNAL_STEPS_H_
#define DS_DAEMON_EXTERNAL_EXTERNAL_STEPS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/external/cognito_step.h"
#include "daemon/external/stripe_step.h"
#include "daemon/jobs/external_step.h"

namespace ds::daemon::external {

struct ExternalStepsOptions {
  TransportFactory transport;  // nullptr: libcurl
  std::string home;            // for ~/.aws; empty: dsd's $HOME
};

// nullptr for a name this folder does not know.
std::unique_ptr<ExternalStep> MakeExternalStep(std::string_view name,
                                               const ExternalStepsOptions& options = {});
// Every step, in the order a reset runs them.
std::vector<std::unique_ptr<ExternalStep>> MakeExternalSteps(
    const ExternalStepsOptions& options = {});

// Requests the step's last Plan and Run sent (benchmarks, tests); -1 for a
// step not made here.
int64_t RequestsSent(const ExternalStep& step);

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_EXTERNAL_STEPS_H_
