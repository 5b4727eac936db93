// The Stripe seed file: the products and prices a stage's Stripe test
// account should have, which the reset creates when missing. Its shape (see
// README "Stripe seed file"):
//
//   {"metadata_key": "ds_seed_id",
//    "products": [{"seed_id": "pro", "name": "Pro", "description": "...",
//                  "active": true, "metadata": {"tier": "pro"},
//                  "prices": [{"seed_id": "pro-monthly", "currency": "usd",
//                              "unit_amount": 2000, "nickname": "...",
//                              "recurring": {"interval": "month",
//                                            "interval_count": 1},
//                              "metadata": {}}]}]}
//
// Each product and price carries metadata[<metadata_key>] = its seed_id in
// Stripe, which is how a later run finds it.
#ifndef DS_DAEMON_EXTERNAL_STRIPE_SEED_H_
#define DS_DAEMON_EXTERNAL_STRIPE_SEED_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ds::daemon::external {

struct SeedPrice {
  std::string seed_id;
  std::string currency;  // lowercase ISO code: "usd"
  int64_t unit_amount = 0;
  std::string nickname;
  std::string interval;        // "", "day", "week", "month", "year"
  int64_t interval_count = 0;  // 0: Stripe's default (1)
  std::map<std::string, std::string> metadata;
};

struct SeedProduct {
  std::string seed_id;
  std::string name;
  std::string description;
  std::optional<bool> active;
  std::map<std::string, std::string> metadata;
  std::vector<SeedPrice> prices;
};

struct SeedFile {
  std::string metadata_key;
  std::vector<SeedProduct> products;
  size_t price_count() const;
};

// Parses and checks the whole file; an error names the file and the field
// ("seed.json: products[2].prices[0].currency: ...") and what is expected.
absl::StatusOr<SeedFile> ParseSeedFile(std::string_view text, std::string_view file);

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_STRIPE_SEED_H_
