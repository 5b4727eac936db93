#include "daemon/external/json_reader.h"

#include "common/strings.h"

namespace ds::daemon::external {

absl::StatusOr<JsonDoc> JsonDoc::Parse(std::string_view body, std::string_view what) {
  JsonDoc doc;
  doc.parser_ = std::make_shared<simdjson::dom::parser>();
  simdjson::dom::element root;
  if (auto error = doc.parser_->parse(body.data(), body.size()).get(root)) {
    return absl::DataLossError(
        StrCat(what, " answered with invalid JSON (", simdjson::error_message(error), ")"));
  }
  doc.root_ = root;
  return doc;
}

absl::StatusOr<std::optional<std::string>> OptString(simdjson::dom::element obj,
                                                     std::string_view key) {
  simdjson::dom::element v;
  if (obj.at_key(key).get(v) != simdjson::SUCCESS || v.is_null()) return std::nullopt;
  std::string_view s;
  if (v.get(s) != simdjson::SUCCESS) {
    return absl::DataLossError(StrCat("field '", key, "' is not a string"));
  }
  return std::string(s);
}

absl::StatusOr<std::string> ReqString(simdjson::dom::element obj, std::string_view key,
                                      std::string_view what) {
  absl::StatusOr<std::optional<std::string>> v = OptString(obj, key);
  if (!v.ok()) return absl::DataLossError(StrCat(what, ": ", v.status().message()));
  if (!*v) return absl::DataLossError(StrCat(what, ": field '", key, "' is missing"));
  return std::move(**v);
}

absl::StatusOr<std::optional<int64_t>> OptInt(simdjson::dom::element obj, std::string_view key) {
  simdjson::dom::element v;
  if (obj.at_key(key).get(v) != simdjson::SUCCESS || v.is_null()) return std::nullopt;
  int64_t i = 0;
  if (v.get(i) == simdjson::SUCCESS) return i;
  // Some APIs send whole numbers as floats (AWS timestamps, estimates).
  double d = 0;
  if (v.get(d) != simdjson::SUCCESS) {
    return absl::DataLossError(StrCat("field '", key, "' is not a number"));
  }
  // Converting a double beyond int64 is undefined (fuzz_stripe: 1e300);
  // 2^63 is exact as a double, so the bounds are too.
  constexpr double kLimit = 9223372036854775808.0;
  if (!(d >= -kLimit && d < kLimit)) {
    return absl::DataLossError(StrCat("field '", key, "' is out of range"));
  }
  return static_cast<int64_t>(d);
}

absl::StatusOr<int64_t> ReqInt(simdjson::dom::element obj, std::string_view key,
                               std::string_view what) {
  absl::StatusOr<std::optional<int64_t>> v = OptInt(obj, key);
  if (!v.ok()) return absl::DataLossError(StrCat(what, ": ", v.status().message()));
  if (!*v) return absl::DataLossError(StrCat(what, ": field '", key, "' is missing"));
  return **v;
}

absl::Status ReadRequired(simdjson::dom::element obj, std::string_view key, std::string_view what,
                          std::string* out) {
  absl::StatusOr<std::string> v = ReqString(obj, key, what);
  if (!v.ok()) return v.status();
  *out = std::move(*v);
  return absl::OkStatus();
}

absl::Status ReadRequired(simdjson::dom::element obj, std::string_view key, std::string_view what,
                          int64_t* out) {
  absl::StatusOr<int64_t> v = ReqInt(obj, key, what);
  if (!v.ok()) return v.status();
  *out = *v;
  return absl::OkStatus();
}

absl::Status ReadOptional(simdjson::dom::element obj, std::string_view key, std::string_view what,
                          std::string* out) {
  absl::StatusOr<std::optional<std::string>> v = OptString(obj, key);
  if (!v.ok()) return absl::DataLossError(StrCat(what, ": ", v.status().message()));
  if (*v) *out = std::move(**v);
  return absl::OkStatus();
}

absl::Status ReadOptional(simdjson::dom::element obj, std::string_view key, std::string_view what,
                          std::optional<int64_t>* out) {
  absl::StatusOr<std::optional<int64_t>> v = OptInt(obj, key);
  if (!v.ok()) return absl::DataLossError(StrCat(what, ": ", v.status().message()));
  if (*v) *out = **v;
  return absl::OkStatus();
}

absl::Status ReadOptional(simdjson::dom::element obj, std::string_view key, std::string_view what,
                          int64_t* out) {
  std::optional<int64_t> v;
  if (absl::Status s = ReadOptional(obj, key, what, &v); !s.ok()) return s;
  if (v) *out = *v;
  return absl::OkStatus();
}

}  // namespace ds::daemon::external
