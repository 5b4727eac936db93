#include "daemon/external/stripe.h"

#include <algorithm>
#include <iterator>
#include <random>

#include "absl/strings/str_format.h"
#include "common/strings.h"

namespace ds::daemon::external {
namespace {

constexpr int kPageSize = 100;    // Stripe's largest page
constexpr int kMaxPages = 10000;  // a cursor that never ends must not loop for ever

std::string NewIdempotencyKey() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("ds-seed-%016x%016x", rng(), rng());
}

void AddMetadata(std::vector<std::pair<std::string, std::string>>* fields,
                 const std::map<std::string, std::string>& metadata) {
  for (const auto& [k, v] : metadata) fields->emplace_back(StrCat("metadata[", k, "]"), v);
}

}  // namespace

absl::StatusOr<std::string> StripeTestKey(const Env& env) {
  std::string var = "STRIPE_SECRET_KEY";
  std::string key = EnvValue(env, var);
  if (key.empty()) {
    var = "STRIPE_API_KEY";
    key = EnvValue(env, var);
  }
  if (key.empty()) {
    return absl::NotFoundError(
        "no Stripe key: set STRIPE_SECRET_KEY (or STRIPE_API_KEY) to a test-mode key (sk_test_...) "
        "where you run ds or in the workspace .env; the reset seeds Stripe products with it");
  }
  if (key.starts_with("sk_test_") || key.starts_with("rk_test_")) return key;
  if (key.starts_with("sk_live_") || key.starts_with("rk_live_")) {
    return absl::PermissionDeniedError(
        StrCat(var,
               " holds a live-mode Stripe key; ds seeds only test-mode accounts and sent nothing. "
               "Use a test key (sk_test_... or rk_test_...)"));
  }
  return absl::InvalidArgumentError(
      StrCat(var,
             " is not a Stripe test-mode secret key (it must start with sk_test_ or rk_test_); "
             "ds sent nothing"));
}

std::string StripeApiBase(const Env& env) {
  std::string url = EnvValue(env, "STRIPE_API_BASE");
  if (url.empty()) url = "https://api.stripe.com";
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

http::ClientOptions StripeClientOptions() {
  http::ClientOptions o;
  o.retry.max_attempts = 6;
  o.retry.max_total = std::chrono::milliseconds(60000);
  o.retry.backoff_base = std::chrono::milliseconds(500);
  o.retry.backoff_cap = std::chrono::milliseconds(8000);
  o.retry.retry_statuses = {429, 500, 502, 503, 504};
  // Stripe says when another answer is worth retrying (a 409 lock timeout).
  o.advisor = [](const http::HttpResponse& r, std::chrono::system_clock::time_point) {
    auto it = r.headers.find("stripe-should-retry");
    return http::RetryAdvice{it != r.headers.end() && it->second == "true", std::nullopt};
  };
  // Test mode allows 25 requests a second; stay below it.
  o.pacing.min_spacing = std::chrono::milliseconds(50);
  return o;
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    StrAppend(&out, out.empty() ? "" : "&", PercentEncode(k), "=", PercentEncode(v));
  }
  return out;
}

StripeClient::StripeClient(StripeOptions options, std::shared_ptr<http::HttpTransport> transport)
    : options_(std::move(options)), client_(options_.client, std::move(transport)) {}

absl::StatusOr<std::string> StripeClient::Call(std::string_view what, std::string method,
                                               std::string path, std::string form) {
  http::HttpRequest req;
  req.method = std::move(method);
  req.url = StrCat(options_.base_url, path);
  req.headers = {{"Authorization", StrCat("Bearer ", options_.api_key)}};
  http::Idempotency idempotency = http::Idempotency::kByMethod;
  if (req.method == "POST") {
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    // One key per create, kept across retries: Stripe carries it out once.
    req.headers.emplace_back("Idempotency-Key", NewIdempotencyKey());
    idempotency = http::Idempotency::kIdempotent;
  }
  req.body = std::move(form);
  req.timeout = options_.request_timeout;
  absl::StatusOr<http::Reply> reply = client_.Send(std::move(req), idempotency);
  if (!reply.ok()) {
    return absl::UnavailableError(StrCat("Stripe ", what, ": ", reply.status().message(),
                                         "; check the network, or STRIPE_API_BASE"));
  }
  const http::HttpResponse& r = reply->response;
  if (r.status >= 200 && r.status < 300) return r.body;
  const std::string message = StripeErrorMessage(r.body);
  const std::string detail = StrCat("HTTP ", r.status, message.empty() ? "" : ": ", message);
  if (r.status == 401 || r.status == 403) {
    return absl::PermissionDeniedError(
        StrCat("Stripe refused the key for ", what, " (", detail,
               "); check STRIPE_SECRET_KEY (a test-mode key of the stage's account)"));
  }
  if (r.status == 429 || r.status >= 500) {
    return absl::UnavailableError(
        StrCat("Stripe ", what, " kept failing (", detail, ", ", reply->Effort(), ")"));
  }
  return absl::FailedPreconditionError(StrCat("Stripe ", what, " failed: ", detail));
}

template <typename T>
absl::StatusOr<std::vector<T>> StripeClient::ListAll(
    std::string_view what, const std::string& path,
    absl::StatusOr<StripeListPage<T>> (*parse)(std::string_view, std::string_view)) {
  std::vector<T> out;
  std::string after;
  for (int page = 0; page < kMaxPages; ++page) {
    std::string url = StrCat(path, "?limit=", kPageSize);
    if (!after.empty()) StrAppend(&url, "&starting_after=", PercentEncode(after));
    absl::StatusOr<std::string> body = Call(what, "GET", url, "");
    if (!body.ok()) return body.status();
    absl::StatusOr<StripeListPage<T>> parsed = parse(*body, what);
    if (!parsed.ok()) return parsed.status();
    const bool last = parsed->data.empty() || !parsed->has_more;
    if (!last) after = parsed->data.back().id;
    std::move(parsed->data.begin(), parsed->data.end(), std::back_inserter(out));
    if (last) return out;
  }
  return absl::DataLossError(StrCat("Stripe ", what, ": more than ", kMaxPages, " pages"));
}

absl::StatusOr<std::vector<StripeProduct>> StripeClient::ListProducts() {
  return ListAll<StripeProduct>("list products", "/v1/products", ParseStripeProductList);
}

absl::StatusOr<std::vector<StripePrice>> StripeClient::ListPrices() {
  return ListAll<StripePrice>("list prices", "/v1/prices", ParseStripePriceList);
}

absl::StatusOr<StripeProduct> StripeClient::CreateProduct(const SeedProduct& seed,
                                                          const std::string& metadata_key) {
  std::vector<std::pair<std::string, std::string>> f = {{"name", seed.name}};
  if (!seed.description.empty()) f.emplace_back("description", seed.description);
  if (seed.active) f.emplace_back("active", *seed.active ? "true" : "false");
  std::map<std::string, std::string> metadata = seed.metadata;
  metadata[metadata_key] = seed.seed_id;
  AddMetadata(&f, metadata);
  absl::StatusOr<std::string> body =
      Call(StrCat("create product ", seed.seed_id), "POST", "/v1/products", FormEncode(f));
  if (!body.ok()) return body.status();
  return ParseStripeProduct(*body);
}

absl::StatusOr<StripePrice> StripeClient::CreatePrice(const SeedPrice& seed,
                                                      const std::string& product_id,
                                                      const std::string& metadata_key) {
  std::vector<std::pair<std::string, std::string>> f = {{"product", product_id},
                                                        {"currency", seed.currency},
                                                        {"unit_amount", StrCat(seed.unit_amount)}};
  if (!seed.nickname.empty()) f.emplace_back("nickname", seed.nickname);
  if (!seed.interval.empty()) {
    f.emplace_back("recurring[interval]", seed.interval);
    if (seed.interval_count > 0) {
      f.emplace_back("recurring[interval_count]", StrCat(seed.interval_count));
    }
  }
  std::map<std::string, std::string> metadata = seed.metadata;
  metadata[metadata_key] = seed.seed_id;
  AddMetadata(&f, metadata);
  absl::StatusOr<std::string> body =
      Call(StrCat("create price ", seed.seed_id), "POST", "/v1/prices", FormEncode(f));
  if (!body.ok()) return body.status();
  return ParseStripePrice(*body);
}

}  // namespace ds::daemon::external
