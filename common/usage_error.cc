#include "common/usage_error.h"

#include "absl/strings/cord.h"

namespace ds::common {
namespace {

// A status payload only this process reads: it never crosses the wire.
constexpr absl::string_view kUsagePayload = "type.ds.dev/ds.UsageError";

}  // namespace

absl::Status UsageError(std::string_view message) {
  absl::Status s = absl::InvalidArgumentError(absl::string_view(message.data(), message.size()));
  s.SetPayload(kUsagePayload, absl::Cord());
  return s;
}

bool IsUsageError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument &&
         status.GetPayload(kUsagePayload).has_value();
}

}  // namespace ds::common
