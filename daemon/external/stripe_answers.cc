#include "daemon/external/stripe_answers.h"

#include "common/strings.h"
#include "daemon/external/json_reader.h"

namespace ds::daemon::external {
namespace {

using simdjson::dom::element;

absl::Status ReadMetadata(element obj, std::map<std::string, std::string>* out) {
  simdjson::dom::object m;
  if (obj.at_key("metadata").get(m) != simdjson::SUCCESS) return {};
  for (auto [key, value] : m) {
    std::string_view s;
    if (value.get(s) != simdjson::SUCCESS) {
      return absl::DataLossError(StrCat("metadata.", key, " is not a string"));
    }
    (*out)[std::string(key)] = std::string(s);
  }
  return {};
}

absl::StatusOr<StripeProduct> ProductFrom(element obj) {
  constexpr std::string_view kWhat = "Stripe product";
  StripeProduct p;
  if (absl::Status s = ReadRequired(obj, "id", kWhat, &p.id); !s.ok()) return s;
  if (absl::Status s = ReadOptional(obj, "name", kWhat, &p.name); !s.ok()) return s;
  bool active = true;
  if (element a; obj.at_key("active").get(a) == simdjson::SUCCESS && a.get(active)) {
    return absl::DataLossError(StrCat(kWhat, ": field 'active' is not a boolean"));
  }
  p.active = active;
  if (absl::Status s = ReadMetadata(obj, &p.metadata); !s.ok()) return s;
  return p;
}

absl::StatusOr<StripePrice> PriceFrom(element obj) {
  constexpr std::string_view kWhat = "Stripe price";
  StripePrice p;
  if (absl::Status s = ReadRequired(obj, "id", kWhat, &p.id); !s.ok()) return s;
  // `product` is an id, or the object when expanded.
  element product;
  if (obj.at_key("product").get(product) == simdjson::SUCCESS) {
    std::string_view s;
    if (product.get(s) == simdjson::SUCCESS) {
      p.product = std::string(s);
    } else if (product.is_object()) {
      if (absl::Status s = ReadRequired(product, "id", kWhat, &p.product); !s.ok()) return s;
    }
  }
  if (absl::Status s = ReadRequired(obj, "currency", kWhat, &p.currency); !s.ok()) return s;
  if (absl::Status s = ReadOptional(obj, "unit_amount", kWhat, &p.unit_amount); !s.ok()) return s;
  element recurring;
  if (obj.at_key("recurring").get(recurring) == simdjson::SUCCESS && recurring.is_object()) {
    if (absl::Status s = ReadOptional(recurring, "interval", kWhat, &p.interval); !s.ok()) return s;
  }
  if (absl::Status s = ReadMetadata(obj, &p.metadata); !s.ok()) return s;
  return p;
}

template <typename T>
absl::StatusOr<T> ParseOne(std::string_view json, std::string_view what,
                           absl::StatusOr<T> (*from)(element)) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(json, what);
  if (!doc.ok()) return doc.status();
  return from(doc->root());
}

template <typename T>
absl::StatusOr<StripeListPage<T>> ParseList(std::string_view json, std::string_view what,
                                            absl::StatusOr<T> (*from)(element)) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(json, StrCat("Stripe ", what));
  if (!doc.ok()) return doc.status();
  simdjson::dom::array data;
  if (doc->root().at_key("data").get(data) != simdjson::SUCCESS) {
    return absl::DataLossError(StrCat("Stripe ", what, ": no data array in the list"));
  }
  StripeListPage<T> page;
  for (element item : data) {
    absl::StatusOr<T> parsed = from(item);
    if (!parsed.ok()) {
      return absl::DataLossError(StrCat("Stripe ", what, ": ", parsed.status().message()));
    }
    page.data.push_back(std::move(*parsed));
  }
  if (element m; doc->root().at_key("has_more").get(m) == simdjson::SUCCESS) {
    if (m.get(page.has_more) != simdjson::SUCCESS) {
      return absl::DataLossError(StrCat("Stripe ", what, ": has_more is not a boolean"));
    }
  }
  return page;
}

}  // namespace

absl::StatusOr<StripeProduct> ParseStripeProduct(std::string_view json) {
  return ParseOne<StripeProduct>(json, "Stripe product", ProductFrom);
}

absl::StatusOr<StripePrice> ParseStripePrice(std::string_view json) {
  return ParseOne<StripePrice>(json, "Stripe price", PriceFrom);
}

absl::StatusOr<StripeListPage<StripeProduct>> ParseStripeProductList(std::string_view json,
                                                                     std::string_view what) {
  return ParseList<StripeProduct>(json, what, ProductFrom);
}

absl::StatusOr<StripeListPage<StripePrice>> ParseStripePriceList(std::string_view json,
                                                                 std::string_view what) {
  return ParseList<StripePrice>(json, what, PriceFrom);
}

std::string StripeErrorMessage(std::string_view body) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(body, "Stripe");
  if (!doc.ok()) return {};
  element error;
  if (doc->root().at_key("error").get(error) != simdjson::SUCCESS) return {};
  absl::StatusOr<std::optional<std::string>> m = OptString(error, "message");
  return m.ok() && *m ? **m : std::string();
}

}  // namespace ds::daemon::external
