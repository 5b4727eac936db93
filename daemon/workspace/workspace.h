// Answers "which databases does this workspace point at?" from the
// workspace's .env and config files, asking the providers to name the
// project and branch. Pure logic over files: the RPC layer wraps it.
#ifndef DS_DAEMON_WORKSPACE_WORKSPACE_H_
#define DS_DAEMON_WORKSPACE_WORKSPACE_H_

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/dotenv.h"
#include "common/paths.h"
#include "daemon/providers/provider.h"
#include "daemon/sys/file_cache.h"
#include "daemon/workspace/known_workspaces.h"
#include "ds/v1/workspace.pb.h"

namespace ds::daemon {

class WorkspaceResolver {
 public:
  WorkspaceResolver(common::Paths paths, const ProviderRegistry* providers);

  // `config` (optional) receives the configuration the answer was built with.
  absl::StatusOr<v1::GetCurrentResponse> GetCurrent(const v1::WorkspaceRef& ref,
                                                    common::Config* config = nullptr);

  // GetCurrent when it answers at once: reading the workspace's files is
  // (a stat per cached file), but a provider may wait a bounded time to
  // resolve (a first load, a Neon refresh after a miss) or have to be made
  // first. Then this returns nullopt, having asked no provider, and the
  // caller runs GetCurrent where waiting is allowed. (A provider made by
  // another request in between is asked too; it waits at most its bound.)
  std::optional<absl::StatusOr<v1::GetCurrentResponse>> GetCurrentWithoutWaiting(
      const v1::WorkspaceRef& ref);

  // The directories whose entries can change GetCurrent's answer (the
  // workspace and the .env's directory), for WatchCurrent.
  absl::StatusOr<std::set<std::filesystem::path>> WatchedDirs(const v1::WorkspaceRef& ref);

  // The effective configuration of a workspace, as GetCurrent sees it.
  using DotenvEntries = std::vector<common::DotenvEntry>;
  // `env_file` and `env` receive the .env path and its parsed entries.
  absl::StatusOr<common::Config> LoadConfig(const v1::WorkspaceRef& ref,
                                            std::filesystem::path* env_file = nullptr,
                                            std::shared_ptr<const DotenvEntries>* env = nullptr);

  // The workspaces served so far (this dsd and earlier ones).
  const KnownWorkspaces& known() const { return known_; }

 private:
  common::Paths paths_;
  const ProviderRegistry* providers_;
  // Lets a warm GetCurrent skip the stat() of each file it reads (one
  // epoll_wait instead); null when inotify is unavailable, and then every
  // file is stat()ed as before.
  std::unique_ptr<PathWatch> watch_;
  ParsedFileCache<DotenvEntries> dotenv_cache_;
  ParsedFileCache<common::ConfigLayer> workspace_toml_cache_;
  ParsedFileCache<common::ConfigLayer> user_toml_cache_;
  // $XDG_CONFIG_HOME/ds/credentials: NEON_API_KEY=... lines, mode 0600.
  ParsedFileCache<common::ConfigLayer> credentials_cache_;
  const common::ConfigLayer daemon_secrets_;  // NEON_* from dsd's environment
  KnownWorkspaces known_;

  static absl::StatusOr<common::ConfigLayer> ParseCredentials(
      const std::filesystem::path& path, const std::optional<std::string>& text);
  static common::ConfigLayer DaemonSecretsLayer();

  // A .env variable naming a database, parsed.
  struct Target {
    common::DbRole role;
    std::string variable;
    const common::DotenvEntry* entry = nullptr;  // null when absent or empty
    absl::StatusOr<common::ConnInfo> info;       // when entry is set
    std::string redacted_uri;                    // when entry is set
  };
  // What GetCurrent reads from the workspace before asking any provider.
  struct Read {
    common::Config config;
    std::filesystem::path env_file;
    bool env_file_exists = false;
    std::shared_ptr<const DotenvEntries> env;  // owns what the targets point at
    Target target;
    Target source;
  };
  static Target ReadTarget(const DotenvEntries& env, common::DbRole role,
                           const std::string& variable);
  // The parsed files below the .env, each revalidated by one stat().
  struct Inputs {
    std::shared_ptr<const common::ConfigLayer> user, workspace, credentials;
    bool operator==(const Inputs&) const = default;
  };
  // `epoch`: the watch's, read once at the start of the request.
  absl::StatusOr<Inputs> ReadInputs(const std::filesystem::path& workspace,
                                    std::optional<uint64_t> epoch = std::nullopt);
  // ValidateWorkspaceDir, skipped when the directory was found valid at
  // `epoch`.
  absl::Status CheckWorkspaceDir(const std::string& dir, std::optional<uint64_t> epoch);
  std::mutex valid_dirs_mu_;
  std::map<std::string, uint64_t> valid_dirs_;  // workspace dir -> epoch it was valid at
  absl::StatusOr<common::Config> BuildConfig(const v1::WorkspaceRef& ref, const Inputs& inputs,
                                             std::filesystem::path* env_file,
                                             std::shared_ptr<const DotenvEntries>* env,
                                             FileIdentity* env_identity,
                                             std::optional<uint64_t> epoch = std::nullopt);
  // Reads the workspace. A Read is rebuilt only when one of its files
  // changed (the cached parse is a new one); otherwise the last Read of the
  // same workspace and overrides is returned as it is, which spares the
  // layer merging and the connection string parsing of every call.
  absl::StatusOr<std::shared_ptr<const Read>> ReadWorkspace(const v1::WorkspaceRef& ref);
  struct Memo {
    Inputs inputs;
    std::shared_ptr<const Read> read;
  };
  std::mutex memo_mu_;
  std::map<std::string, Memo> memo_;  // by MemoKey: the workspace and its overrides
  // Whether answering may wait for a provider.
  bool MayWait(const Read& read) const;
  v1::GetCurrentResponse Answer(const v1::WorkspaceRef& ref, const Read& read);
  void FillTarget(const Target& t, const std::filesystem::path& env_file,
                  v1::DatabaseTarget* out) const;
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
