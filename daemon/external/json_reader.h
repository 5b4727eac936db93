// Reading the cloud APIs' JSON answers: a parsed document kept alive with
// its parser, and lookups that say which field was missing or of the wrong
// type (never quoting the body, which may hold personal data).
#ifndef DS_DAEMON_EXTERNAL_JSON_READER_H_
#define DS_DAEMON_EXTERNAL_JSON_READER_H_

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ds::daemon::external {

// A parsed JSON document. The DOM parser, as the Neon client uses (see
// neon_json.cc for why not On-Demand); one parser per document, since these
// answers are small and few.
class JsonDoc {
 public:
  // `what` names the answer in errors: "Cognito ListUsers".
  static absl::StatusOr<JsonDoc> Parse(std::string_view body, std::string_view what);
  simdjson::dom::element root() const { return root_; }

 private:
  std::shared_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
};

// Field lookups on an object. Missing fields are nullopt; a field of the
// wrong type is an error naming it. A number with a fraction is cut to its
// whole part; one beyond int64 is an error.
absl::StatusOr<std::optional<std::string>> OptString(simdjson::dom::element obj,
                                                     std::string_view key);
absl::StatusOr<std::string> ReqString(simdjson::dom::element obj, std::string_view key,
                                      std::string_view what);
absl::StatusOr<std::optional<int64_t>> OptInt(simdjson::dom::element obj, std::string_view key);
absl::StatusOr<int64_t> ReqInt(simdjson::dom::element obj, std::string_view key,
                               std::string_view what);

// The same lookups stored into a field of the thing being read: the
// answer readers' usual three lines (look up, return on error, assign) as
// one call. Errors name `what` and the field. An absent optional field
// leaves `out` as it was.
absl::Status ReadRequired(simdjson::dom::element obj, std::string_view key, std::string_view what,
                          std::string* out);
absl::Status ReadRequired(simdjson::dom::element obj, std::string_view key, std::string_view what,
                          int64_t* out);
absl::Status ReadOptional(simdjson::dom::element obj, std::string_view key, std::string_view what,
                          std::string* out);
absl::Status ReadOptional(simdjson::dom::element obj, std::string_view key, std::string_view what,
                          int64_t* out);
absl::Status ReadOptional(simdjson::dom::element obj, std::string_view key, std::string_view what,
                          std::optional<int64_t>* out);

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_JSON_READER_H_
