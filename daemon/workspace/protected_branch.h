// Protected and default branches hold shared data: pointing a workspace's
// target at one, or migrating one, needs the caller's confirmation
// (`allow_protected` on the request; `ds` sets it after asking, or with
// --yes). The check lives in dsd, so an editor calling the API is held to
// it as well.
#ifndef DS_DAEMON_WORKSPACE_PROTECTED_BRANCH_H_
#define DS_DAEMON_WORKSPACE_PROTECTED_BRANCH_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "daemon/providers/provider.h"

namespace ds::daemon {

// "the default branch", "a protected branch", "the default and a protected
// branch", or "" for any other branch.
std::string ProtectedKind(const BranchInfo& branch);

// OK when `branch` is neither, or `allowed`. Otherwise FailedPrecondition:
//   branch "main" is the default branch; <what> needs confirmation: run
//   again with --yes (API: set allow_protected)
// where `what` says what was asked ("pointing DB_CONNECTION_STRING at it").
absl::Status CheckProtected(const BranchInfo& branch, std::string_view what, bool allowed);

// The provider's full record of a located branch, so that its protected
// and default flags are known; nullopt when no provider made so far has it,
// an error (naming the branch) when its provider cannot list its branches.
absl::StatusOr<std::optional<BranchInfo>> DescribeBranch(const ProviderRegistry& providers,
                                                         const common::Config& config,
                                                         const BranchLocation& where);

}  // namespace ds::daemon

#endif  // DS_DAEMON_WORKSPACE_PROTECTED_BRANCH_H_
