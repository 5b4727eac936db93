// Stripe's REST API, the calls the seed needs: list and create products
// and prices. Form-encoded bodies, `Authorization: Bearer <key>`, an
// Idempotency-Key on every create (so a create resent after a broken
// connection is carried out once), 429s and `Stripe-Should-Retry` answers
// retried. Only test-mode keys are accepted, before any request is made.
#ifndef DS_DAEMON_EXTERNAL_STRIPE_H_
#define DS_DAEMON_EXTERNAL_STRIPE_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/external/aws_config.h"
#include "daemon/external/stripe_answers.h"
#include "daemon/external/stripe_seed.h"
#include "daemon/http/http_client.h"

namespace ds::daemon::external {

// Stripe's API key from STRIPE_SECRET_KEY, else STRIPE_API_KEY; refused
// unless it is a test-mode secret or restricted key (sk_test_, rk_test_).
// The error names the variable, never the key.
absl::StatusOr<std::string> StripeTestKey(const Env& env);

// STRIPE_API_BASE, else https://api.stripe.com; no trailing slash.
std::string StripeApiBase(const Env& env);

http::ClientOptions StripeClientOptions();

// `key=value&...` with keys and values percent-encoded, as Stripe expects
// (nested keys like metadata[tier] are written by the caller).
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);

struct StripeOptions {
  std::string base_url = "https://api.stripe.com";
  std::string api_key;  // secret
  http::ClientOptions client = StripeClientOptions();
  std::chrono::milliseconds request_timeout{30000};
};

class StripeClient {
 public:
  StripeClient(StripeOptions options, std::shared_ptr<http::HttpTransport> transport);

  // Every product or price, all pages (100 a page).
  absl::StatusOr<std::vector<StripeProduct>> ListProducts();
  absl::StatusOr<std::vector<StripePrice>> ListPrices();
  // `metadata_key` = the seed id is added to the metadata.
  absl::StatusOr<StripeProduct> CreateProduct(const SeedProduct& seed,
                                              const std::string& metadata_key);
  absl::StatusOr<StripePrice> CreatePrice(const SeedPrice& seed, const std::string& product_id,
                                          const std::string& metadata_key);

  int64_t requests_sent() const { return client_.requests_sent(); }

 private:
  absl::StatusOr<std::string> Call(std::string_view what, std::string method, std::string path,
                                   std::string form);
  template <typename T>
  absl::StatusOr<std::vector<T>> ListAll(
      std::string_view what, const std::string& path,
      absl::StatusOr<StripeListPage<T>> (*parse)(std::string_view, std::string_view));

  const StripeOptions options_;
  http::Client client_;
};

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_STRIPE_H_
