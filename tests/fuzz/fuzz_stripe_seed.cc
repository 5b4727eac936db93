// The Stripe seed file (daemon/external/stripe_seed): a user's JSON file
// saying which products and prices a stage's test account should have. The
// input is the file. Properties:
//   - an error is kInvalidArgument and starts with the file's name, as
//     stripe_seed.h says ("seed.json: products[2]...");
//   - a file that parses has unique product and price seed ids, 3-letter
//     lowercase currencies, amounts of 0 or more, a known interval, and
//     metadata within Stripe's limits;
//   - it re-serialises to a file that parses back to the same seed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "daemon/external/stripe_seed.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ds::JsonQuote;
using ds::StrAppend;
using ds::StrCat;
using ds::daemon::external::ParseSeedFile;
using ds::daemon::external::SeedFile;
using ds::daemon::external::SeedPrice;
using ds::daemon::external::SeedProduct;
using ds::fuzz::Fail;

constexpr std::string_view kFile = "seed.json";

std::string MetadataJson(const std::map<std::string, std::string>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m)
    StrAppend(&out, out.size() > 1 ? "," : "", JsonQuote(k), ":", JsonQuote(v));
  return out + "}";
}

std::string PriceJson(const SeedPrice& p) {
  std::string out =
      StrCat("{\"seed_id\":", JsonQuote(p.seed_id), ",\"currency\":", JsonQuote(p.currency),
             ",\"unit_amount\":", p.unit_amount, ",\"nickname\":", JsonQuote(p.nickname));
  if (!p.interval.empty()) {
    StrAppend(&out, ",\"recurring\":{\"interval\":", JsonQuote(p.interval));
    if (p.interval_count > 0) StrAppend(&out, ",\"interval_count\":", p.interval_count);
    out += "}";
  }
  return StrCat(out, ",\"metadata\":", MetadataJson(p.metadata), "}");
}

std::string SeedJson(const SeedFile& f) {
  std::string out = StrCat("{\"metadata_key\":", JsonQuote(f.metadata_key), ",\"products\":[");
  for (size_t i = 0; i < f.products.size(); ++i) {
    const SeedProduct& p = f.products[i];
    StrAppend(&out, i ? "," : "", "{\"seed_id\":", JsonQuote(p.seed_id),
              ",\"name\":", JsonQuote(p.name), ",\"description\":", JsonQuote(p.description));
    if (p.active) StrAppend(&out, ",\"active\":", *p.active ? "true" : "false");
    StrAppend(&out, ",\"metadata\":", MetadataJson(p.metadata), ",\"prices\":[");
    for (size_t k = 0; k < p.prices.size(); ++k)
      StrAppend(&out, k ? "," : "", PriceJson(p.prices[k]));
    out += "]}";
  }
  return out + "]}";
}

void CheckMetadata(const std::map<std::string, std::string>& m) {
  for (const auto& [k, v] : m) {
    if (k.size() > 40 || v.size() > 500) Fail("metadata beyond Stripe's limits accepted", k);
  }
}

void CheckSeed(const SeedFile& f) {
  if (f.metadata_key.empty() || f.metadata_key.size() > 40) {
    Fail("a metadata_key Stripe refuses was accepted", f.metadata_key);
  }
  std::set<std::string> products, prices;
  size_t price_count = 0;
  for (const SeedProduct& p : f.products) {
    if (p.seed_id.empty() || p.name.empty()) Fail("a product without seed_id or name", p.seed_id);
    if (!products.insert(p.seed_id).second) Fail("a product seed id used twice", p.seed_id);
    CheckMetadata(p.metadata);
    for (const SeedPrice& q : p.prices) {
      ++price_count;
      if (q.seed_id.empty()) Fail("a price without seed_id", p.seed_id);
      if (!prices.insert(q.seed_id).second) Fail("a price seed id used twice", q.seed_id);
      if (q.currency.size() != 3 || ds::AsciiToLower(q.currency) != q.currency) {
        Fail("a currency that is no 3-letter lowercase code", q.currency);
      }
      if (q.unit_amount < 0) Fail("a negative unit_amount", StrCat(q.unit_amount));
      static const std::set<std::string> kIntervals = {"", "day", "week", "month", "year"};
      if (!kIntervals.count(q.interval)) Fail("an unknown interval", q.interval);
      if (q.interval_count < 0) Fail("a negative interval_count", StrCat(q.interval_count));
      CheckMetadata(q.metadata);
    }
  }
  if (price_count != f.price_count()) Fail("price_count() miscounts", StrCat(price_count));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<SeedFile> seed = ParseSeedFile(text, kFile);
  if (!seed.ok()) {
    if (seed.status().code() != absl::StatusCode::kInvalidArgument ||
        std::string(seed.status().message()).rfind(kFile, 0) != 0) {
      Fail("an error that is not kInvalidArgument naming the file", seed.status().ToString());
    }
    return 0;
  }
  CheckSeed(*seed);
  const std::string written = SeedJson(*seed);
  absl::StatusOr<SeedFile> again = ParseSeedFile(written, kFile);
  if (!again.ok())
    Fail("its own serialisation does not parse",
         StrCat(written, "\n  ", again.status().ToString()));
  if (SeedJson(*again) != written)
    Fail("a value changed on the way round", StrCat(written, "\n  ", SeedJson(*again)));
  return 0;
}
