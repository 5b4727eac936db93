#include "daemon/external/stripe_step.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/strings.h"

namespace ds::daemon::external {

StripeProductsStep::StripeProductsStep(StripeStepOptions options) : options_(std::move(options)) {
  if (!options_.transport) options_.transport = [] { return http::NewCurlTransport(); };
}

absl::StatusOr<StripeProductsStep::Prepared> StripeProductsStep::Prepare(
    const ExternalStepInput& input) {
  Prepared p;
  // The key first: a live key is refused before the file is even read.
  absl::StatusOr<std::string> key = StripeTestKey(input.credentials);
  if (!key.ok()) return key.status();
  p.key = std::move(*key);
  std::filesystem::path path = input.config->Get("stripe_seed_file");
  if (path.is_relative()) path = std::filesystem::path(input.workspace_dir) / path;
  p.seed_path = path.lexically_normal().string();
  std::ifstream in(p.seed_path);
  if (!in) {
    return absl::NotFoundError(StrCat("cannot read the Stripe seed file ", p.seed_path,
                                      " (stripe_seed_file); create it or fix the setting"));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<SeedFile> seed = ParseSeedFile(text.str(), p.seed_path);
  if (!seed.ok()) return seed.status();
  p.seed = std::move(*seed);
  return p;
}

absl::StatusOr<ExternalStepPlan> StripeProductsStep::Plan(const ExternalStepInput& input) {
  ExternalStepPlan plan;
  requests_ = 0;
  if (input.config->Get("stripe_seed_file").empty()) {
    plan.skip_reason = "not configured: stripe_seed_file is unset";
    return plan;
  }
  absl::StatusOr<Prepared> p = Prepare(input);
  if (!p.ok()) return p.status();
  plan.configured = true;
  plan.summary =
      StrCat("create the missing ones of ", p->seed.products.size(), " products and ",
             p->seed.price_count(), " prices from ", p->seed_path, " in Stripe (test mode)");
  return plan;
}

absl::Status StripeProductsStep::Run(const ExternalStepInput& input, const ExternalStepPlan& plan,
                                     JobContext& job) {
  (void)plan;
  absl::StatusOr<Prepared> p = Prepare(input);
  if (!p.ok()) return p.status();
  const SeedFile& seed = p->seed;
  const std::string& key = seed.metadata_key;
  StripeOptions o;
  o.base_url = StripeApiBase(input.credentials);
  o.api_key = p->key;
  if (options_.client) o.client = *options_.client;
  StripeClient stripe(std::move(o), options_.transport());
  auto done = [&](absl::Status s) {
    requests_ = stripe.requests_sent();
    return s;
  };

  // What exists, by seed id: one listing of each kind, whatever the seed.
  std::map<std::string, std::string> product_ids, price_ids;
  absl::StatusOr<std::vector<StripeProduct>> products = stripe.ListProducts();
  if (!products.ok()) return done(products.status());
  for (const StripeProduct& sp : *products) {
    if (auto it = sp.metadata.find(key); it != sp.metadata.end()) {
      product_ids.emplace(it->second, sp.id);
    }
  }
  absl::StatusOr<std::vector<StripePrice>> prices = stripe.ListPrices();
  if (!prices.ok()) return done(prices.status());
  for (const StripePrice& sp : *prices) {
    if (auto it = sp.metadata.find(key); it != sp.metadata.end())
      price_ids.emplace(it->second, sp.id);
  }

  int created_products = 0, created_prices = 0;
  const int n = static_cast<int>(seed.products.size());
  for (int i = 0; i < n; ++i) {
    if (job.cancelled()) {
      return done(
          absl::CancelledError(StrCat("cancelled after ", i, " of ", n, " Stripe products")));
    }
    const SeedProduct& sp = seed.products[i];
    std::string product_id;
    if (auto it = product_ids.find(sp.seed_id); it != product_ids.end()) {
      product_id = it->second;
    } else {
      absl::StatusOr<StripeProduct> made = stripe.CreateProduct(sp, key);
      if (!made.ok()) {
        return done(
            absl::Status(made.status().code(),
                         StrCat(made.status().message(), " (", created_products, " products and ",
                                created_prices, " prices were created before it)")));
      }
      product_id = made->id;
      ++created_products;
    }
    for (const SeedPrice& price : sp.prices) {
      if (price_ids.count(price.seed_id)) continue;
      absl::StatusOr<StripePrice> made = stripe.CreatePrice(price, product_id, key);
      if (!made.ok()) {
        return done(
            absl::Status(made.status().code(),
                         StrCat(made.status().message(), " (", created_products, " products and ",
                                created_prices, " prices were created before it)")));
      }
      ++created_prices;
    }
    job.Progress(i + 1, n, name(), StrCat("products seeded ", i + 1, " of ", n));
  }
  requests_ = stripe.requests_sent();
  job.Log("info", StrCat("Stripe: created ", created_products, " products and ", created_prices,
                         " prices (", n - created_products, " products and ",
                         seed.price_count() - created_prices, " prices were there) in ", requests_,
                         " requests"));
  return absl::OkStatus();
}

}  // namespace ds::daemon::external
