// The reset's "stripe-products" step: makes the stage's Stripe test account
// hold the products and prices of the workspace's seed file
// (`stripe_seed_file`), creating only what is missing. Products and prices
// are found by metadata[<the file's metadata_key>] = seed id, so a second
// run lists and creates nothing; existing ones are never changed.
#ifndef DS_DAEMON_EXTERNAL_STRIPE_STEP_H_
#define DS_DAEMON_EXTERNAL_STRIPE_STEP_H_

#include <optional>
#include <string>

#include "daemon/external/cognito_step.h"
#include "daemon/external/stripe.h"
#include "daemon/jobs/external_step.h"

namespace ds::daemon::external {

struct StripeStepOptions {
  TransportFactory transport;                 // nullptr: libcurl
  std::optional<http::ClientOptions> client;  // replaces StripeClientOptions()
};

class StripeProductsStep final : public ExternalStep {
 public:
  explicit StripeProductsStep(StripeStepOptions options = {});

  std::string_view name() const override { return "stripe-products"; }
  // Checks the key (test mode only) and reads the seed file; sends nothing.
  absl::StatusOr<ExternalStepPlan> Plan(const ExternalStepInput& input) override;
  absl::Status Run(const ExternalStepInput& input, const ExternalStepPlan& plan,
                   JobContext& job) override;

  int64_t requests_sent() const { return requests_; }

 private:
  struct Prepared {
    std::string key;
    std::string seed_path;
    SeedFile seed;
  };
  absl::StatusOr<Prepared> Prepare(const ExternalStepInput& input);

  StripeStepOptions options_;
  int64_t requests_ = 0;
};

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_STRIPE_STEP_H_
