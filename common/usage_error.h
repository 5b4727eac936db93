// Telling "the request is wrong" from "what the request found is wrong".
//
// Both are InvalidArgument below the RPC layer, but they mean different
// things to the user, and ds exits differently (README, "Exit codes"): a
// malformed branch name or --db value is fixed by changing the command line
// (exit 2), a malformed .env, ds.toml or migrations journal by fixing the
// file (exit 1). Code that checks what the caller sent marks its error with
// UsageError; every other InvalidArgument is about state, and the RPC layer
// (daemon/rpc/rpc_status.h) sends it as FAILED_PRECONDITION.
#ifndef DS_COMMON_USAGE_ERROR_H_
#define DS_COMMON_USAGE_ERROR_H_

#include <string_view>

#include "absl/status/status.h"

namespace ds::common {

// InvalidArgument, marked as a fault of the request itself.
absl::Status UsageError(std::string_view message);

// True for a status made by UsageError (its code and mark kept).
bool IsUsageError(const absl::Status& status);

}  // namespace ds::common

#endif  // DS_COMMON_USAGE_ERROR_H_
