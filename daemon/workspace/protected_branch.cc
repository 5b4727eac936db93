#include "daemon/workspace/protected_branch.h"

#include "common/confirmation.h"
#include "common/strings.h"

namespace ds::daemon {

std::string ProtectedKind(const BranchInfo& b) {
  if (b.is_default && b.is_protected) return "the default and a protected branch";
  if (b.is_default) return "the default branch";
  if (b.is_protected) return "a protected branch";
  return "";
}

absl::Status CheckProtected(const BranchInfo& branch, std::string_view what, bool allowed) {
  const std::string kind = ProtectedKind(branch);
  if (kind.empty() || allowed) return absl::OkStatus();
  return absl::FailedPreconditionError(StrCat("branch \"", branch.name, "\" is ", kind, "; ", what,
                                              " ", common::kNeedsConfirmation));
}

absl::StatusOr<std::optional<BranchInfo>> DescribeBranch(const ProviderRegistry& providers,
                                                         const common::Config& config,
                                                         const BranchLocation& where) {
  // The workspace's own provider first: several Neon providers (one per
  // key) share the name "neon", and the workspace's is the one that knows.
  std::vector<Provider*> candidates;
  if (absl::StatusOr<Provider*> own = providers.ForConfig(config); own.ok()) {
    candidates.push_back(*own);
  }
  for (Provider* p : providers.All()) candidates.push_back(p);
  absl::Status failed;
  for (Provider* p : candidates) {
    if (p->Name() != where.provider) continue;
    absl::StatusOr<std::vector<BranchInfo>> all = p->ListBranches(where.project_id);
    if (!all.ok()) {
      failed = all.status();  // another instance of the same name may know it
      continue;
    }
    for (BranchInfo& b : *all) {
      if (b.id == where.branch_id) return std::optional<BranchInfo>(std::move(b));
    }
  }
  // Not being able to tell is not "unprotected".
  if (!failed.ok()) {
    return absl::Status(failed.code(), StrCat("cannot tell whether branch \"", where.branch_name,
                                              "\" is protected: ", failed.message()));
  }
  return std::optional<BranchInfo>();
}

}  // namespace ds::daemon
