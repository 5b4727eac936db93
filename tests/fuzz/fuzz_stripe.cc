// Stripe's answers (daemon/external/stripe_answers): a product, a price, a
// page of either list, an error's message. The input is the body every
// parser reads. Properties:
//   - every parser fails only with kDataLoss, as stripe_answers.h says;
//   - what parses re-serialises to JSON that parses back to the same value
//     (ids, names, amounts, metadata keys and values, has_more).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "daemon/external/stripe_answers.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ds::JsonQuote;
using ds::StrAppend;
using ds::StrCat;
using ds::fuzz::Fail;
using ds::fuzz::RoundTrip;
using ds::fuzz::StringMapJson;
using namespace ds::daemon::external;  // NOLINT: the parsers under test

std::string ProductJson(const StripeProduct& p) {
  return StrCat("{\"id\":", JsonQuote(p.id), ",\"name\":", JsonQuote(p.name),
                ",\"active\":", p.active ? "true" : "false",
                ",\"metadata\":", StringMapJson(p.metadata), "}");
}

std::string PriceJson(const StripePrice& p) {
  return StrCat("{\"id\":", JsonQuote(p.id), ",\"product\":", JsonQuote(p.product),
                ",\"currency\":", JsonQuote(p.currency),
                ",\"unit_amount\":", p.unit_amount ? StrCat(*p.unit_amount) : "null",
                ",\"recurring\":",
                p.interval.empty() ? "null" : StrCat("{\"interval\":", JsonQuote(p.interval), "}"),
                ",\"metadata\":", StringMapJson(p.metadata), "}");
}

template <typename T, typename Write>
std::string ListJson(const StripeListPage<T>& page, Write write) {
  std::string out = "{\"object\":\"list\",\"data\":[";
  for (size_t i = 0; i < page.data.size(); ++i) StrAppend(&out, i ? "," : "", write(page.data[i]));
  return StrCat(out, "],\"has_more\":", page.has_more ? "true" : "false", "}");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  RoundTrip<StripeProduct>("ParseStripeProduct", json, ParseStripeProduct, ProductJson);
  RoundTrip<StripePrice>("ParseStripePrice", json, ParseStripePrice, PriceJson);
  RoundTrip<StripeListPage<StripeProduct>>(
      "ParseStripeProductList", json,
      [](std::string_view j) { return ParseStripeProductList(j, "list products"); },
      [](const StripeListPage<StripeProduct>& p) { return ListJson(p, ProductJson); });
  RoundTrip<StripeListPage<StripePrice>>(
      "ParseStripePriceList", json,
      [](std::string_view j) { return ParseStripePriceList(j, "list prices"); },
      [](const StripeListPage<StripePrice>& p) { return ListJson(p, PriceJson); });
  (void)StripeErrorMessage(json);
  return 0;
}
