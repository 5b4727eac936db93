// Branch operations for a workspace: picks the workspace's provider from
// its configuration, marks which branch .env points at, and writes .env
// when a command switches the target or source database. Plain logic over
// the provider interface; branch_service.cc wraps it for gRPC.
#ifndef DS_DAEMON_WORKSPACE_BRANCHES_H_
#define DS_DAEMON_WORKSPACE_BRANCHES_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "daemon/providers/provider.h"
#include "daemon/workspace/env_history.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/branch.pb.h"

namespace ds::daemon {

// "7d" from now as RFC 3339; the error names --expires-in.
absl::StatusOr<std::string> ExpiryFromNow(const std::string& expires_in);

// A provider's branch as the wire shows it (without is_target/is_source,
// which depend on a workspace).
v1::Branch BranchToWire(std::string_view provider, const BranchInfo& b);

class BranchManager {
 public:
  // `history` keeps the values .env writes replace (for `set target-db -`).
  BranchManager(WorkspaceResolver* resolver, ProviderRegistry* providers, EnvHistory* history);

  absl::StatusOr<v1::ListProjectsResponse> ListProjects(const v1::ListProjectsRequest& req);
  absl::StatusOr<v1::ListBranchesResponse> ListBranches(const v1::ListBranchesRequest& req);
  // `progress` (optional) hears what the provider is doing.
  absl::StatusOr<v1::CreateBranchResponse> CreateBranch(
      const v1::CreateBranchRequest& req, std::function<void(std::string_view)> progress = nullptr);
  absl::StatusOr<v1::DeleteBranchResponse> DeleteBranch(const v1::DeleteBranchRequest& req);
  // Refuses to point the target variable at a protected or default branch
  // unless req.allow_protected (FailedPrecondition naming the branch).
  absl::StatusOr<v1::SetDatabaseResponse> SetDatabase(const v1::SetDatabaseRequest& req);
  absl::StatusOr<v1::ListDatabaseHistoryResponse> ListDatabaseHistory(
      const v1::ListDatabaseHistoryRequest& req);
  // "7d" from now, or "never" (removes it).
  absl::StatusOr<v1::SetExpiryResponse> SetExpiry(const v1::SetExpiryRequest& req);

 private:
  struct Context {
    Provider* provider = nullptr;
    common::Config config;
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
  absl::StatusOr<v1::ListBranchesResponse> CachedBranches(const v1::ListBranchesRequest& req);
  v1::Branch ToProto(const BranchInfo& b, const Context& ctx) const;
  // Writes `uri` into .env as `variable` and records the change in the
  // history; returns the URI redacted. A URI with a password makes a .env
  // that group or others could read owner-only, with a notice saying so. A history that cannot be
  // written becomes a notice: the .env edit stands.
  absl::StatusOr<std::string> WriteEnvUri(const Context& ctx, const std::string& variable,
                                          const std::string& uri,
                                          google::protobuf::RepeatedPtrField<std::string>* notices);
  // The raw value of `variable` in the workspace's .env ("" when unset).
  static std::string CurrentValue(const Context& ctx, const std::string& variable);
  // SetDatabase with `previous`: back to the value before, as `cd -`.
  absl::StatusOr<v1::SetDatabaseResponse> SetPrevious(const v1::SetDatabaseRequest& req,
                                                      const Context& ctx,
                                                      const std::string& variable);

  WorkspaceResolver* resolver_;
  ProviderRegistry* providers_;
  EnvHistory* history_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_WORKSPACE_BRANCHES_H_
