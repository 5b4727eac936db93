// The Neon provider: projects and branches of one Neon account (one API
// host and key), through the Neon API v2 (neon_api.h).
//
// Listings come from an in-memory snapshot of projects, branches and
// endpoints, so prompts, `ds db branches` and resolving a connection
// string never wait on the network once it is loaded: a stale snapshot is
// served while a background refresh replaces it (every refresh_interval,
// jittered; paused when nobody asked for a while). Mutations go to the API,
// wait for their operations, and refresh the project they touched; they
// are serialised per project (Neon runs one operation per project at a
// time), never across projects.
//
// Resolve never runs a refresh itself: a connection string whose endpoint
// the snapshot does not know (or a cold provider) asks the refresher
// thread for one and waits at most kResolveWait, then answers "not
// resolved yet" with the reason. Locks: mu_ guards the snapshot pointer
// and the bookkeeping and is never held across an HTTP call or a disk
// write; install_mu_ orders snapshot updates (merge, cache file, swap) and
// no read takes it; a project's write lock is held by its mutations alone.
#ifndef DS_DAEMON_PROVIDERS_NEON_NEON_PROVIDER_H_
#define DS_DAEMON_PROVIDERS_NEON_NEON_PROVIDER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/providers/neon/neon_api.h"
#include "daemon/providers/provider.h"

namespace ds::daemon {

// How long Resolve waits for the refresh that a lookup which missed has
// scheduled (an endpoint made since the last refresh, or a cold dsd).
// Long enough for a healthy refresh of a typical account (2 requests, plus
// 2 per project, 25 ms apart, some 100 ms each to Neon), so the usual case
// answers in one call; short enough for a shell prompt or an editor's
// status bar, which would otherwise hang for a whole refresh: up to 45 s a
// request while Neon is down or rate-limiting. Callers that come later
// for the same endpoint share the first one's deadline rather than waiting
// anew.
inline constexpr std::chrono::milliseconds kResolveWait{2000};

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
  std::chrono::milliseconds resolve_wait = kResolveWait;
};

class NeonProvider final : public Provider {
 public:
  NeonProvider(NeonProviderOptions options, std::shared_ptr<http::HttpTransport> transport);
  ~NeonProvider() override;

  std::string_view Name() const override { return "neon"; }
  absl::StatusOr<std::vector<ProjectInfo>> ListProjects() override;
  absl::StatusOr<std::vector<BranchInfo>> ListBranches(const std::string& project) override;
  std::optional<std::vector<BranchInfo>> CachedBranches(const std::string& project) override;
  absl::Status RefreshBranches(const std::string& project) override;
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
  // Only a Neon endpoint that the snapshot does not know (yet) may wait.
  bool ResolveMayWait(const common::ConnInfo& conn) override;
  std::vector<std::string> TakeNotices() override;
  // The snapshot as it is; a cold provider answers empty and asks the
  // refresher for a first fetch. Never an HTTP call.
  CachedInventory Cached() override;
  absl::Status RefreshAll() override;
  // PATCH expires_at: at most 30 days ahead, in the future; not on the
  // default branch, a protected one or one with children (Neon's rules,
  // checked here first so the message says which).
  absl::Status SetExpiry(const std::string& project, const std::string& name,
                         const std::string& expires_at) override;
  void SetChangeListener(std::function<void()> listener) override;

  // Requests sent to the API so far.
  int64_t requests_sent() const { return api_.requests_sent(); }

 private:
  using Clock = std::chrono::steady_clock;
  using ProjectState = neon::ProjectState;
  struct Snapshot : neon::AccountSnapshot {
    // When the whole account was last fetched: its age makes the
    // refresher run and the notices speak.
    Clock::time_point fetched;
    // When the project list, and each project's branches and endpoints,
    // were asked for. An update keeps whichever answer was asked for last,
    // so a slow refresh that started earlier never undoes a newer one (a
    // mutation's own refresh, say).
    Clock::time_point list_asked = Clock::time_point::min();
    std::map<std::string, Clock::time_point> project_asked;
  };
  struct ProjectData {
    std::vector<neon::Branch> branches;
    std::vector<neon::Endpoint> endpoints;
  };
  // What one refresh brought back, to merge into the snapshot.
  struct Fetch {
    Clock::time_point asked;
    std::optional<std::vector<neon::Project>> projects;  // the project list, when fetched
    std::map<std::string, ProjectData> data;             // by project id
    bool whole_account = false;  // every project's data: the snapshot is fresh
  };
  // A lookup that missed: when it was first asked, and the refresher run
  // that answers it.
  struct Miss {
    Clock::time_point asked;
    uint64_t run = 0;
  };

  // The snapshot as it is (null when cold), for a read: marks the provider
  // as in use and, when the snapshot is stale, wakes the refresher and
  // notes its age. Never waits for anything but mu_.
  std::shared_ptr<const Snapshot> Peek();
  // The snapshot; when cold, loads the project list on the caller's thread
  // (listings cannot answer without it).
  absl::StatusOr<std::shared_ptr<const Snapshot>> Current();
  // Wakes the refresher when some project is not loaded yet. Called once
  // the caller has fetched what it needs, so that the caller's requests do
  // not queue behind the whole account's in the pacer and on the one
  // connection.
  void FillInBehind();
  // Fetches everything (or, with projects_only, the project list, keeping
  // what is known of each) and merges it in.
  absl::Status Refresh(bool projects_only = false);
  // Re-fetches one project's branches and endpoints.
  absl::Status RefreshProject(const std::string& project_id);
  absl::StatusOr<std::vector<neon::Project>> FetchProjectList();
  absl::StatusOr<ProjectData> FetchProject(const std::string& project_id);
  // Merges `fetch` into the snapshot, saves and swaps it, tells the listener.
  void Apply(Fetch fetch);
  void NoteRefreshError(const absl::Status& s);
  // A project with its branches and endpoints loaded, and the snapshot
  // that holds it. `wanted`: an id or a name; empty = the only project.
  struct ProjectView {
    std::shared_ptr<const Snapshot> snapshot;
    const ProjectState* state = nullptr;
    const ProjectState* operator->() const { return state; }
    const ProjectState& operator*() const { return *state; }
  };
  absl::StatusOr<ProjectView> ProjectFor(const std::string& wanted);
  // Held by a mutation of `project_id` for its whole course.
  std::unique_lock<std::mutex> LockProjectForWrite(
      const std::string& project_id, const std::function<void(std::string_view)>& progress);
  // A branch about to be changed: its project locked for writing, and both
  // read again under that lock, as the write before this one left them.
  struct BranchForWrite {
    std::unique_lock<std::mutex> serial;
    ProjectView project;
    const neon::Branch* branch = nullptr;
  };
  absl::StatusOr<BranchForWrite> LockBranchForWrite(const std::string& project,
                                                    const std::string& name);

  // Asks the refresher for a full refresh; returns the number of the run
  // that will answer it. mu_ held.
  uint64_t RequestRefreshLocked();
  // Whether a periodic refresh is due. mu_ held.
  bool RefreshDueLocked() const;
  void RefreshLoop();

  // `wanted` is an id or a name; empty = the only project.
  absl::StatusOr<const ProjectState*> FindProject(const Snapshot& s,
                                                  const std::string& wanted) const;
  absl::StatusOr<const neon::Branch*> FindBranch(const ProjectState& p,
                                                 const std::string& wanted) const;
  // `lookups`: fill parent_name and last_activity by scanning the project
  // (callers that convert a whole project look them up once instead).
  BranchInfo ToInfo(const neon::Branch& b, const ProjectState& p, bool lookups = true) const;
  // Polls until every operation has ended; `progress` (optional) hears
  // each change of their states.
  absl::Status WaitForOperations(const std::string& project_id,
                                 const std::vector<neon::Operation>& ops, std::string_view what,
                                 const std::function<void(std::string_view)>& progress = nullptr);

  const NeonProviderOptions options_;
  neon::Api api_;

  // Never held across an HTTP call or a disk write.
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::function<void()> listener_;
  std::vector<std::string> notices_;
  // Connection URIs hold passwords: kept in memory only, per branch,
  // database and role.
  std::map<std::string, std::string> uris_;
  // Endpoint ids looked up without success (one refresh each a minute).
  std::map<std::string, Miss> misses_;
  std::string last_refresh_error_;  // "" after a success
  // The refresher's runs: asked for, started, ended (and how the last went).
  bool refresh_wanted_ = false;
  uint64_t runs_started_ = 0;
  uint64_t runs_done_ = 0;
  absl::Status last_run_;
  std::condition_variable cv_;         // wakes the refresher
  std::condition_variable refreshed_;  // a run ended
  bool stopping_ = false;
  // One mutex per project, made on first write; never erased.
  std::map<std::string, std::shared_ptr<std::mutex>> project_writes_;

  std::mutex install_mu_;  // one Apply at a time
  std::atomic<int64_t> last_use_ms_{0};
  std::thread refresher_;
};

// The factory ProviderRegistry uses: one NeonProvider (with its own HTTP
// connection) per API host and key.
// Snapshots are kept in `cache_dir`.
ProviderRegistry::Factory NeonProviderFactory(std::filesystem::path cache_dir);

}  // namespace ds::daemon

#endif  // DS_DAEMON_PROVIDERS_NEON_NEON_PROVIDER_H_
