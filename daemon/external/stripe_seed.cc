#include "daemon/external/stripe_seed.h"

#include <set>

#include "common/strings.h"
#include "daemon/external/json_reader.h"

namespace ds::daemon::external {
namespace {

using simdjson::dom::element;

// Stripe's limits on metadata: keys up to 40 characters, values up to 500.
constexpr size_t kMaxMetadataKey = 40;
constexpr size_t kMaxMetadataValue = 500;

class Checker {
 public:
  explicit Checker(std::string_view file) : file_(file) {}

  absl::Status Error(std::string_view where, std::string_view what) const {
    return absl::InvalidArgumentError(where.empty() ? StrCat(file_, ": ", what)
                                                    : StrCat(file_, ": ", where, ": ", what));
  }

  absl::StatusOr<std::string> String(element obj, std::string_view where, std::string_view key,
                                     bool required) const {
    element v;
    if (obj.at_key(key).get(v) != simdjson::SUCCESS || v.is_null()) {
      if (required) return Error(where, StrCat("'", key, "' is required"));
      return std::string();
    }
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) return Error(Path(where, key), "must be a string");
    if (required && s.empty()) return Error(Path(where, key), "must not be empty");
    return std::string(s);
  }

  absl::Status Metadata(element obj, std::string_view where,
                        std::map<std::string, std::string>* out) const {
    element v;
    if (obj.at_key("metadata").get(v) != simdjson::SUCCESS || v.is_null()) return {};
    simdjson::dom::object m;
    if (v.get(m) != simdjson::SUCCESS) {
      return Error(Path(where, "metadata"), "must be an object of strings");
    }
    for (auto [key, value] : m) {
      std::string_view s;
      if (value.get(s) != simdjson::SUCCESS) {
        return Error(Path(Path(where, "metadata"), key), "must be a string");
      }
      if (key.size() > kMaxMetadataKey || s.size() > kMaxMetadataValue) {
        return Error(Path(Path(where, "metadata"), key),
                     "Stripe allows keys up to 40 characters and values up to 500");
      }
      (*out)[std::string(key)] = std::string(s);
    }
    return {};
  }

  static std::string Path(std::string_view where, std::string_view key) {
    return where.empty() ? std::string(key) : StrCat(where, ".", key);
  }

 private:
  std::string file_;
};

absl::StatusOr<SeedPrice> ParsePrice(const Checker& c, element p, const std::string& where) {
  if (!p.is_object()) return c.Error(where, "must be an object");
  SeedPrice out;
  absl::StatusOr<std::string> s = c.String(p, where, "seed_id", true);
  if (!s.ok()) return s.status();
  out.seed_id = *s;
  if (s = c.String(p, where, "currency", true); !s.ok()) return s.status();
  out.currency = AsciiToLower(*s);
  if (out.currency.size() != 3) {
    return c.Error(Checker::Path(where, "currency"), "must be a 3-letter ISO code like \"usd\"");
  }
  element amount;
  if (p.at_key("unit_amount").get(amount) != simdjson::SUCCESS ||
      amount.get(out.unit_amount) != simdjson::SUCCESS || out.unit_amount < 0) {
    return c.Error(Checker::Path(where, "unit_amount"),
                   "is required: a whole number of the currency's smallest unit (cents), 0 or "
                   "more");
  }
  if (s = c.String(p, where, "nickname", false); !s.ok()) return s.status();
  out.nickname = *s;
  element rec;
  if (p.at_key("recurring").get(rec) == simdjson::SUCCESS && !rec.is_null()) {
    const std::string rw = Checker::Path(where, "recurring");
    if (!rec.is_object()) return c.Error(rw, "must be an object with 'interval'");
    if (s = c.String(rec, rw, "interval", true); !s.ok()) return s.status();
    out.interval = *s;
    static const std::set<std::string> kIntervals = {"day", "week", "month", "year"};
    if (!kIntervals.count(out.interval)) {
      return c.Error(Checker::Path(rw, "interval"), "must be day, week, month or year");
    }
    element count;
    if (rec.at_key("interval_count").get(count) == simdjson::SUCCESS &&
        (count.get(out.interval_count) != simdjson::SUCCESS || out.interval_count < 1)) {
      return c.Error(Checker::Path(rw, "interval_count"), "must be a whole number, 1 or more");
    }
  }
  if (absl::Status m = c.Metadata(p, where, &out.metadata); !m.ok()) return m;
  return out;
}

absl::StatusOr<SeedProduct> ParseProduct(const Checker& c, element p, const std::string& where,
                                         std::set<std::string>* price_ids) {
  if (!p.is_object()) return c.Error(where, "must be an object");
  SeedProduct out;
  absl::StatusOr<std::string> s = c.String(p, where, "seed_id", true);
  if (!s.ok()) return s.status();
  out.seed_id = *s;
  if (s = c.String(p, where, "name", true); !s.ok()) return s.status();
  out.name = *s;
  if (s = c.String(p, where, "description", false); !s.ok()) return s.status();
  out.description = *s;
  element active;
  if (p.at_key("active").get(active) == simdjson::SUCCESS) {
    bool b = false;
    if (active.get(b) != simdjson::SUCCESS) {
      return c.Error(Checker::Path(where, "active"), "must be true or false");
    }
    out.active = b;
  }
  if (absl::Status m = c.Metadata(p, where, &out.metadata); !m.ok()) return m;
  element prices;
  if (p.at_key("prices").get(prices) == simdjson::SUCCESS) {
    simdjson::dom::array list;
    if (prices.get(list) != simdjson::SUCCESS) {
      return c.Error(Checker::Path(where, "prices"), "must be an array");
    }
    int i = 0;
    for (element price : list) {
      absl::StatusOr<SeedPrice> parsed =
          ParsePrice(c, price, StrCat(Checker::Path(where, "prices"), "[", i++, "]"));
      if (!parsed.ok()) return parsed.status();
      if (!price_ids->insert(parsed->seed_id).second) {
        return c.Error(StrCat(Checker::Path(where, "prices"), "[", i - 1, "].seed_id"),
                       StrCat("'", parsed->seed_id, "' is used twice; seed ids must be unique"));
      }
      out.prices.push_back(std::move(*parsed));
    }
  }
  return out;
}

}  // namespace

size_t SeedFile::price_count() const {
  size_t n = 0;
  for (const SeedProduct& p : products) n += p.prices.size();
  return n;
}

absl::StatusOr<SeedFile> ParseSeedFile(std::string_view text, std::string_view file) {
  Checker c(file);
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(text, file);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(StrCat(doc.status().message(), "; fix the seed file"));
  }
  element root = doc->root();
  if (!root.is_object())
    return c.Error("(top)", "must be an object with metadata_key and products");
  SeedFile out;
  absl::StatusOr<std::string> key = c.String(root, "", "metadata_key", true);
  if (!key.ok()) return key.status();
  if (key->size() > kMaxMetadataKey) {
    return c.Error("metadata_key", "Stripe allows metadata keys up to 40 characters");
  }
  out.metadata_key = *key;
  simdjson::dom::array products;
  if (root.at_key("products").get(products) != simdjson::SUCCESS) {
    return c.Error("products", "is required: an array of products");
  }
  std::set<std::string> product_ids, price_ids;
  int i = 0;
  for (element p : products) {
    absl::StatusOr<SeedProduct> parsed =
        ParseProduct(c, p, StrCat("products[", i++, "]"), &price_ids);
    if (!parsed.ok()) return parsed.status();
    if (!product_ids.insert(parsed->seed_id).second) {
      return c.Error(StrCat("products[", i - 1, "].seed_id"),
                     StrCat("'", parsed->seed_id, "' is used twice; seed ids must be unique"));
    }
    out.products.push_back(std::move(*parsed));
  }
  return out;
}

}  // namespace ds::daemon::external
