// The Neon provider: projects and branches of one Neon account (one API
// host and key), through the Neon API v2 (neon_api.h).
//
// Listings come from an in-memory snapshot of projects, branches and
// endpoints, so prompts, `ds db branches` and resolving a connection
// string never wait on the network once it is loaded: a stale snapshot is
// served while a background refresh replaces it (every refresh_interval,
// jittered; paused when nobody asked for a while). Mutations go to the API,
// wait for their operations, and refresh the project they touched.
#ifndef DS_DAEMON_PROVIDERS_NEON_NEON_PROVIDER_H_
#define DS_DAEMON_PROVIDERS_NEON_NEON_PROVIDER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "daemon/providers/neon/neon_api.h"
#include "daemon/providers/provider.h"

namespace ds::daemon {

struct NeonProviderOptions {
  neon::ApiOptions api;
  std::string org_id;  // narrows project listings to one organization
  std::chrono::milliseconds refresh_interval{60000};
  // No background refresh once nobody has asked for this long.
  std::chrono::milliseconds idle_pause{600000};
  std::chrono::milliseconds operation_timeout{300000};
  std::chrono::milliseconds operation_poll{500};
  // Where the snapshot is kept across restarts ("" = memory only).
  std::filesystem::path cache_file;
};

class NeonProvider final : public Provider {
 public:
  NeonProvider(NeonProviderOptions options, std::shared_ptr<http::HttpTransport> transport);
  ~NeonProvider() override;

  std::string_view Name() const override { return "neon"; }
  absl::StatusOr<std::vector<ProjectInfo>> ListProjects() override;
  absl::StatusOr<std::vector<BranchInfo>> ListBranches(const std::string& project) override;
  absl::StatusOr<BranchInfo> CreateBranch(const std::string& project, const std::string& name,
                                          const CreateBranchOptions& options) override;
  absl::Status DeleteBranch(const std::string& project, const std::string& name,
                            bool force) override;
  absl::Status ResetBranch(const std::string& project, const std::string& name,
                           bool force) override;
  absl::StatusOr<std::string> ConnectionUri(const std::string& project, const std::string& branch,
                                            const std::string& database,
                                            const std::string& role) override;
  absl::StatusOr<std::optional<BranchLocation>> Resolve(const common::ConnInfo& conn) override;
  std::vector<std::string> TakeNotices() override;
  void SetChangeListener(std::function<void()> listener) override;

  // Requests sent to the API so far.
  int64_t requests_sent() const { return api_.requests_sent(); }

 private:
  using ProjectState = neon::ProjectState;
  struct Snapshot : neon::AccountSnapshot {
    std::chrono::steady_clock::time_point fetched;
  };

  // The snapshot, loading it on first use; marks the provider as in use.
  absl::StatusOr<std::shared_ptr<const Snapshot>> Current();
  // Fetches everything (or, with projects_only, the project list, keeping
  // what is known of each) and swaps the snapshot in; one at a time.
  absl::Status Refresh(bool projects_only = false);
  // A project with its branches and endpoints loaded, and the snapshot
  // that holds it. `wanted`: an id or a name; empty = the only project.
  struct ProjectView {
    std::shared_ptr<const Snapshot> snapshot;
    const ProjectState* state = nullptr;
    const ProjectState* operator->() const { return state; }
    const ProjectState& operator*() const { return *state; }
  };
  absl::StatusOr<ProjectView> ProjectFor(const std::string& wanted);
  // Re-fetches one project's branches and endpoints.
  absl::Status RefreshProject(const std::string& project_id);
  void Install(std::shared_ptr<const Snapshot> next);
  void RefreshLoop();

  // `wanted` is an id or a name; empty = the only project.
  absl::StatusOr<const ProjectState*> FindProject(const Snapshot& s,
                                                  const std::string& wanted) const;
  absl::StatusOr<const neon::Branch*> FindBranch(const ProjectState& p,
                                                 const std::string& wanted) const;
  BranchInfo ToInfo(const neon::Branch& b, const ProjectState& p) const;
  // Polls until every operation has ended; `progress` (optional) hears
  // each change of their states.
  absl::Status WaitForOperations(const std::string& project_id,
                                 const std::vector<neon::Operation>& ops, std::string_view what,
                                 const std::function<void(std::string_view)>& progress = nullptr);

  const NeonProviderOptions options_;
  neon::Api api_;

  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::function<void()> listener_;
  std::vector<std::string> notices_;
  // Connection URIs hold passwords: kept in memory only, per branch,
  // database and role.
  std::map<std::string, std::string> uris_;
  // Endpoint ids looked up without success, and when (one refresh each).
  std::map<std::string, std::chrono::steady_clock::time_point> unknown_endpoints_;

  std::string last_refresh_error_;  // guarded by mu_; "" after a success
  std::mutex refresh_mu_;           // one refresh at a time
  std::atomic<int64_t> last_use_ms_{0};
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread refresher_;
};

// The factory ProviderRegistry uses: one NeonProvider (with its own HTTP
// connection) per API host and key.
// Snapshots are kept in `cache_dir`.
ProviderRegistry::Factory NeonProviderFactory(std::filesystem::path cache_dir);

}  // namespace ds::daemon

#endif  // DS_DAEMON_PROVIDERS_NEON_NEON_PROVIDER_H_
