// The seam every database provider plugs into (local PostgreSQL, Neon).
// Commands are written against this interface, never against one provider.
//
// Providers never see the RPC layer: they take and return plain structs and
// absl::Status. Error codes are part of the contract, so the client can word
// them:
//   kInvalidArgument     bad branch name
//   kNotFound            no such project or branch
//   kAlreadyExists       a branch of that name exists
//   kPermissionDenied    the branch is protected or the default branch
//   kFailedPrecondition  busy: sessions are connected (the message lists them)
//   kUnavailable         the provider cannot be reached or started
// Implementations must be thread-safe: dsd calls them from many threads.
#ifndef DS_DAEMON_PROVIDERS_PROVIDER_H_
#define DS_DAEMON_PROVIDERS_PROVIDER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/conninfo.h"

namespace ds::daemon {

struct BranchLocation {
  std::string provider;
  std::string project_id;
  std::string project_name;
  std::string branch_id;
  std::string branch_name;
  bool is_protected = false;
  bool is_default = false;
};

struct ProjectInfo {
  std::string id;
  std::string name;
  std::string region;
  std::string created_at;  // RFC 3339
};

struct BranchInfo {
  std::string id;
  std::string project_id;
  std::string name;
  std::string parent_id;    // empty for a root branch
  std::string parent_name;
  std::string created_at;   // RFC 3339
  std::string created_by;
  std::string expires_at;   // empty when the branch does not expire
  std::string last_activity;
  // "ready", "archived" (Neon), "init" or "resetting" (being made or reset).
  std::string state = "ready";
  bool is_protected = false;
  bool is_default = false;
  int64_t size_bytes = -1;  // -1 when unknown
  // Set by CreateBranch when options.connection_uri asks for it: computed
  // before the create lets go of the name, so a delete cannot come between.
  std::string connection_uri;
};

struct CreateBranchOptions {
  std::string parent;      // branch name; empty = the default branch
  std::string created_by;
  bool force = false;      // terminate sessions on the parent if needed
  // Told what the create is doing, while it does it (may be empty).
  std::function<void(std::string_view)> progress;
  // Fill in BranchInfo::connection_uri (the branch's own database and role).
  bool connection_uri = false;
  // RFC 3339; empty = the branch does not expire.
  std::string expires_at;
};

// What a provider holds in memory of its projects and branches: audit
// answers from it without a network call, a query or a wait.
struct CachedProject {
  ProjectInfo project;
  std::vector<BranchInfo> branches;
  bool loaded = true;  // false: the project's branches were never fetched
};
struct CachedInventory {
  std::vector<CachedProject> projects;
  int64_t as_of_unix_ms = 0;  // when it was fetched or read; 0 = nothing cached yet
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view Name() const = 0;

  virtual absl::StatusOr<std::vector<ProjectInfo>> ListProjects() = 0;
  // `project_id` empty = the provider's only or default project.
  virtual absl::StatusOr<std::vector<BranchInfo>> ListBranches(const std::string& project_id) = 0;
  // The branches already in memory, answered at once: no query, no API
  // call, no cluster start (shell completion asks on every Tab). nullopt
  // when nothing is loaded for that project yet.
  virtual std::optional<std::vector<BranchInfo>> CachedBranches(const std::string& project_id) {
    (void)project_id;
    return std::nullopt;
  }
  // Loads the project's branches again, now, into whatever the provider
  // keeps in memory: something outside dsd changed them (a refresh-staging
  // run rewrote staging's main). A provider that keeps nothing has nothing
  // to do.
  virtual absl::Status RefreshBranches(const std::string& project_id) {
    (void)project_id;
    return absl::OkStatus();
  }
  virtual absl::StatusOr<BranchInfo> CreateBranch(const std::string& project_id,
                                                  const std::string& name,
                                                  const CreateBranchOptions& options) = 0;
  // Refuses protected and default branches (kPermissionDenied).
  virtual absl::Status DeleteBranch(const std::string& project_id, const std::string& name,
                                    bool force) = 0;
  // Replaces the branch's data with its parent's current data.
  virtual absl::Status ResetBranch(const std::string& project_id, const std::string& name,
                                   bool force) = 0;
  // A connection URI (with password) for a branch; database and role
  // default to the branch's own.
  virtual absl::StatusOr<std::string> ConnectionUri(const std::string& project_id,
                                                    const std::string& branch,
                                                    const std::string& database = "",
                                                    const std::string& role = "") = 0;
  // The branch that owns (host, port, database) of `conn`; nullopt when the
  // address is not one of this provider's.
  virtual absl::StatusOr<std::optional<BranchLocation>> Resolve(
      const common::ConnInfo& conn) = 0;
  // Whether Resolve(conn) may wait (for a first load, a refresh, a lock a
  // write holds) rather than answer from memory at once. dsd answers
  // GetCurrent on gRPC's callback threads only when no provider says yes,
  // so a provider that cannot tell says yes. Must itself answer at once.
  virtual bool ResolveMayWait(const common::ConnInfo& conn) {
    (void)conn;
    return true;
  }
  // Called before dsd connects to `conn` itself (a migration, its status):
  // a provider that runs the server behind an address it owns starts it
  // when it is down. Default: nothing to start.
  virtual absl::Status PrepareToConnect(const common::ConnInfo& conn) {
    (void)conn;
    return absl::OkStatus();
  }

  // Everything cached, at once (see CachedInventory).
  virtual CachedInventory Cached() { return {}; }
  // Fetches every project's branches afresh (audit --refresh), so that
  // Cached() is current; may take a while.
  virtual absl::Status RefreshAll() { return absl::OkStatus(); }
  // Sets (RFC 3339) or, with "", removes a branch's expiry. Refuses the
  // default branch, protected branches and branches with children
  // (kPermissionDenied / kFailedPrecondition).
  virtual absl::Status SetExpiry(const std::string& project_id, const std::string& name,
                                 const std::string& expires_at) {
    (void)project_id;
    (void)name;
    (void)expires_at;
    return absl::UnimplementedError("provider " + std::string(Name()) + " has no branch expiry");
  }
  // Messages for the user gathered since the last call (e.g. "PostgreSQL had
  // stopped; dsd restarted it").
  virtual std::vector<std::string> TakeNotices() { return {}; }
  // Called after every change to any branch list, from the changing thread.
  virtual void SetChangeListener(std::function<void()> listener) { (void)listener; }
};

struct Resolution {
  std::optional<BranchLocation> branch;
  std::string unresolved_reason;  // set when branch is empty
};

// The providers dsd knows. Fixed ones (local) are added at start; others
// are made on demand from a workspace's configuration (one Neon provider per
// API host and key). Thread-safe.
class ProviderRegistry {
 public:
  // `instance` names the provider a config needs (e.g. its API host and
  // key; an error says what is missing); `make` builds it, once per name.
  struct Factory {
    std::function<absl::StatusOr<std::string>(const common::Config&)> instance;
    std::function<std::unique_ptr<Provider>(const common::Config&)> make;
  };

  void Add(std::unique_ptr<Provider> provider);
  void AddFactory(std::string name, Factory factory);
  // The provider the configuration selects (common::EffectiveProvider),
  // made on first use. Errors say what to configure.
  absl::StatusOr<Provider*> ForConfig(const common::Config& config) const;
  // Asks every provider made so far, in the order they were made.
  Resolution Resolve(const common::ConnInfo& conn) const;
  // Provider::PrepareToConnect of every provider made so far; the first error.
  absl::Status PrepareToConnect(const common::ConnInfo& conn) const;
  // Whether Resolve(conn) may wait: a provider made so far says it may.
  bool ResolveMayWait(const common::ConnInfo& conn) const;
  // Whether ForConfig(config) would make a provider (a Neon one for a key
  // not seen yet), which takes more than a lookup.
  bool WouldMake(const common::Config& config) const;
  // The fixed provider called `name`, or nullptr.
  Provider* Find(std::string_view name) const;
  std::vector<Provider*> All() const;
  // Told after any branch list of any provider, present or future, changes.
  void SetChangeListener(std::function<void()> listener);

 private:
  mutable std::mutex mu_;
  mutable std::vector<std::unique_ptr<Provider>> providers_;
  mutable std::map<std::string, Provider*> instances_;  // factory-made, by instance key
  std::map<std::string, Factory> factories_;
  std::function<void()> listener_;
};

// Checks an expiry (RFC 3339): well-formed, in the future, and at most
// `max_days` ahead (0 = no bound). The error says which rule failed.
absl::Status CheckExpiry(const std::string& expires_at, int max_days);
// Whether a branch may expire: not the default branch, not protected, no
// children (Neon's rules, which the local provider follows too).
absl::Status CheckExpiryAllowed(const std::string& name, bool is_default, bool is_protected,
                                int children);

// Checks a branch name: not empty, at most 256 characters, no control
// characters. The error says which rule failed.
absl::Status ValidateBranchName(std::string_view name);

}  // namespace ds::daemon

#endif  // DS_DAEMON_PROVIDERS_PROVIDER_H_
