// The reset's "cognito-users" step: empties the stage's Cognito user pool
// (the one `cognito_user_pool_id` names, `{stage}` replaced) so that the
// fresh database and the pool agree. A pool whose name or tags mark it as
// production (`cognito_production_markers`) is refused in Plan, before the
// reset touches anything.
#ifndef DS_DAEMON_EXTERNAL_COGNITO_STEP_H_
#define DS_DAEMON_EXTERNAL_COGNITO_STEP_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daemon/external/cognito.h"
#include "daemon/http/http_transport.h"
#include "daemon/jobs/external_step.h"

namespace ds::daemon::external {

// Makes the transport a step's client sends through: libcurl in dsd, a
// script in unit tests.
using TransportFactory = std::function<std::shared_ptr<http::HttpTransport>()>;

struct CognitoStepOptions {
  TransportFactory transport;  // nullptr: libcurl
  // Replaces CognitoClientOptions() (tests: a manual clock, no pacing).
  std::optional<http::ClientOptions> client;
  std::string home;  // for ~/.aws; empty: $HOME of dsd
};

class CognitoUsersStep final : public ExternalStep {
 public:
  explicit CognitoUsersStep(CognitoStepOptions options = {});

  std::string_view name() const override { return "cognito-users"; }
  absl::StatusOr<ExternalStepPlan> Plan(const ExternalStepInput& input) override;
  absl::Status Run(const ExternalStepInput& input, const ExternalStepPlan& plan,
                   JobContext& job) override;

  // Requests sent by the last Plan and Run together (for benchmarks).
  int64_t requests_sent() const { return requests_; }

 private:
  struct Target {
    std::string pool_id;
    std::unique_ptr<CognitoClient> client;
  };
  absl::StatusOr<Target> Connect(const ExternalStepInput& input);

  CognitoStepOptions options_;
  int64_t requests_ = 0;
};

// `cognito_user_pool_id` with {stage} replaced (the config's stage when
// `stage` is empty).
std::string CognitoPoolId(const common::Config& config, std::string_view stage);

// Why a pool counts as production: a word of its name ("acme-prod-users":
// "prod") or a tag value equal to one of `markers` (comma-separated, case
// ignored), e.g. "name 'acme-prod-users' contains 'prod'". Empty: not
// production.
std::string ProductionReason(const UserPool& pool, std::string_view markers);

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_COGNITO_STEP_H_
