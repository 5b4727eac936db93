// Branch operations for a workspace: picks the workspace's provider from
// its configuration, marks which branch .env points at, and writes .env
// when a command switches the target or source database. Plain logic over
// the provider interface; branch_service.cc wraps it for gRPC.
#ifndef DS_DAEMON_WORKSPACE_BRANCHES_H_
#define DS_DAEMON_WORKSPACE_BRANCHES_H_

#include "absl/status/statusor.h"
#include "daemon/providers/provider.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/branch.pb.h"

namespace ds::daemon {

// "7d" from now as RFC 3339; the error names --expires-in.
absl::StatusOr<std::string> ExpiryFromNow(const std::string& expires_in);

class BranchManager {
 public:
  BranchManager(WorkspaceResolver* resolver, ProviderRegistry* providers);

  absl::StatusOr<v1::ListProjectsResponse> ListProjects(const v1::ListProjectsRequest& req);
  absl::StatusOr<v1::ListBranchesResponse> ListBranches(const v1::ListBranchesRequest& req);
  // `progress` (optional) hears what the provider is doing.
  absl::StatusOr<v1::CreateBranchResponse> CreateBranch(
      const v1::CreateBranchRequest& req,
      std::function<void(std::string_view)> progress = nullptr);
  absl::StatusOr<v1::DeleteBranchResponse> DeleteBranch(const v1::DeleteBranchRequest& req);
  absl::StatusOr<v1::SetDatabaseResponse> SetDatabase(const v1::SetDatabaseRequest& req);
  // "7d" from now, or "never" (removes it).
  absl::StatusOr<v1::SetExpiryResponse> SetExpiry(const v1::SetExpiryRequest& req);

 private:
  struct Context {
    Provider* provider = nullptr;
    v1::GetCurrentResponse current;  // which branches .env points at
    std::filesystem::path env_file;
    std::string target_var;
    std::string source_var;
    std::string default_project;  // config `project`
    // The project a request names, else the configured one ("" lets the
    // provider pick its only or default project).
    std::string Project(const std::string& requested) const {
      return requested.empty() ? default_project : requested;
    }
  };
  absl::StatusOr<Context> ContextFor(const v1::WorkspaceRef& ws);
  v1::Branch ToProto(const BranchInfo& b, const Context& ctx) const;
  // Writes `provider`'s URI for `branch` into .env as `variable`.
  absl::StatusOr<std::string> WriteEnv(const Context& ctx, const std::string& project,
                                       const std::string& branch, const std::string& variable);
  // Writes `uri` into .env as `variable`; returns it redacted.
  absl::StatusOr<std::string> WriteEnvUri(const Context& ctx, const std::string& variable,
                                          const std::string& uri);

  WorkspaceResolver* resolver_;
  ProviderRegistry* providers_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_WORKSPACE_BRANCHES_H_
