// Reading Stripe's answers: a product, a price, a page of a list, the
// message of an error. Kept apart from the HTTP client (stripe.h) so that
// the fuzz target (tests/fuzz/fuzz_stripe) compiles them alone. Errors are
// kDataLoss, naming the answer and the field, never quoting the body.
#ifndef DS_DAEMON_EXTERNAL_STRIPE_ANSWERS_H_
#define DS_DAEMON_EXTERNAL_STRIPE_ANSWERS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ds::daemon::external {

struct StripeProduct {
  std::string id;
  std::string name;
  bool active = true;
  std::map<std::string, std::string> metadata;
};

struct StripePrice {
  std::string id;
  std::string product;
  std::string currency;
  std::optional<int64_t> unit_amount;
  std::string interval;  // empty for one-time prices
  std::map<std::string, std::string> metadata;
};

// One page of a list answer ({"object": "list", "data": [...], "has_more"}).
template <typename T>
struct StripeListPage {
  std::vector<T> data;
  bool has_more = false;
};

absl::StatusOr<StripeProduct> ParseStripeProduct(std::string_view json);
absl::StatusOr<StripePrice> ParseStripePrice(std::string_view json);
// `what` names the call in errors: "list products".
absl::StatusOr<StripeListPage<StripeProduct>> ParseStripeProductList(std::string_view json,
                                                                     std::string_view what);
absl::StatusOr<StripeListPage<StripePrice>> ParseStripePriceList(std::string_view json,
                                                                 std::string_view what);

// error.message of an error answer; empty when the body has none.
std::string StripeErrorMessage(std::string_view body);

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_STRIPE_ANSWERS_H_
