// Answers "which databases does this workspace point at?" from the
// workspace's .env and config files, asking the providers to name the
// project and branch. Pure logic over files: the RPC layer wraps it.
#ifndef DS_DAEMON_WORKSPACE_WORKSPACE_H_
#define DS_DAEMON_WORKSPACE_WORKSPACE_H_

#include <filesystem>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/dotenv.h"
#include "common/paths.h"
#include "daemon/sys/file_cache.h"
#include "daemon/providers/provider.h"
#include "ds/v1/workspace.pb.h"

namespace ds::daemon {

class WorkspaceResolver {
 public:
  WorkspaceResolver(common::Paths paths, const ProviderRegistry* providers);

  // `config` (optional) receives the configuration the answer was built with.
  absl::StatusOr<v1::GetCurrentResponse> GetCurrent(const v1::WorkspaceRef& ref,
                                                    common::Config* config = nullptr);

  // The directories whose entries can change GetCurrent's answer (the
  // workspace and the .env's directory), for WatchCurrent.
  absl::StatusOr<std::set<std::filesystem::path>> WatchedDirs(const v1::WorkspaceRef& ref);

  // The effective configuration of a workspace, as GetCurrent sees it.
  using DotenvEntries = std::vector<common::DotenvEntry>;
  // `env_file` and `env` receive the .env path and its parsed entries.
  absl::StatusOr<common::Config> LoadConfig(const v1::WorkspaceRef& ref,
                                            std::filesystem::path* env_file = nullptr,
                                            std::shared_ptr<const DotenvEntries>* env = nullptr);

 private:
  common::Paths paths_;
  const ProviderRegistry* providers_;
  ParsedFileCache<DotenvEntries> dotenv_cache_;
  ParsedFileCache<common::ConfigLayer> workspace_toml_cache_;
  ParsedFileCache<common::ConfigLayer> user_toml_cache_;
  // $XDG_CONFIG_HOME/ds/credentials: NEON_API_KEY=... lines, mode 0600.
  ParsedFileCache<common::ConfigLayer> credentials_cache_;
  const common::ConfigLayer daemon_secrets_;  // NEON_* from dsd's environment

  static absl::StatusOr<common::ConfigLayer> ParseCredentials(
      const std::filesystem::path& path, const std::optional<std::string>& text);
  static common::ConfigLayer DaemonSecretsLayer();

  void FillTarget(const DotenvEntries& env, const std::filesystem::path& env_file,
                  const std::string& variable, v1::DatabaseTarget* out) const;
};

v1::Origin::Kind ToProtoOriginKind(common::OriginKind kind);

// The wire form of a branch a provider located (GetCurrent's targets, a
// job's record).
v1::BranchRef ToBranchRef(const BranchLocation& location);

// Checks the workspace path of a request: non-empty, absolute, an existing
// directory. The error says which and what to send instead.
absl::Status ValidateWorkspaceDir(const std::string& dir);

}  // namespace ds::daemon

#endif  // DS_DAEMON_WORKSPACE_WORKSPACE_H_
