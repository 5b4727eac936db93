#include "daemon/external/external_steps.h"

namespace ds::daemon::external {

std::unique_ptr<ExternalStep> MakeExternalStep(std::string_view name,
                                               const ExternalStepsOptions& options) {
  if (name == "cognito-users") {
    return std::make_unique<CognitoUsersStep>(
        CognitoStepOptions{options.transport, std::nullopt, options.home});
  }
  if (name == "stripe-products") {
    return std::make_unique<StripeProductsStep>(StripeStepOptions{options.transport, std::nullopt});
  }
  return nullptr;
}

std::vector<std::unique_ptr<ExternalStep>> MakeExternalSteps(const ExternalStepsOptions& options) {
  std::vector<std::unique_ptr<ExternalStep>> out;
  for (std::string_view name : {"cognito-users", "stripe-products"})
    out.push_back(MakeExternalStep(name, options));
  return out;
}

int64_t RequestsSent(const ExternalStep& step) {
  if (auto* s = dynamic_cast<const CognitoUsersStep*>(&step)) return s->requests_sent();
  if (auto* s = dynamic_cast<const StripeProductsStep*>(&step)) return s->requests_sent();
  return -1;
}

}  // namespace ds::daemon::external
