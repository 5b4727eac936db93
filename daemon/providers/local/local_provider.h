// The embedded local provider: one project whose branches are databases of
// dsd's private PostgreSQL cluster (local_cluster.h), created with
// CREATE DATABASE ... TEMPLATE <parent> STRATEGY FILE_COPY.
//
// Every branch has its own login role (branch_roles.h): the password a
// workspace's .env holds reaches that branch only, and no branch's role can
// drop a database. A copy is handed over to the new branch's role before
// anyone can connect to it. Branch metadata (with each branch's role) lives
// in the cluster's ds_meta database, which only the superuser reaches.
//
// Clusters made before branch roles had one role, ds_owner, for every
// branch. The first load after dsd starts (Ready) gives every branch without
// a role its own, moves ds_owner's objects to it, and drops ds_owner, whose
// password is in old .env files; each step is idempotent, so an interrupted
// upgrade finishes on the next start.
//
// Reads never wait for writes. Resolve, ConnectionUri, ListProjects and a
// fresh ListBranches answer from an immutable Snapshot (project, branches,
// database -> branch), swapped whole after every change. Who holds what:
//   snapshot_mu_  the snapshot pointer, for a copy or a swap; nothing else.
//   load_mu_      one metadata read (two queries, milliseconds) and the
//                 swap after it, so snapshots are installed in the order
//                 they were read. Never held during a copy.
//   first_load_mu_ the first load (cluster start, bootstrap); Resolve never
//                 takes it (see Resolve).
//   names_        per branch name, for a whole create, delete or reset, the
//                 copy included: the new or changed name exclusively, the
//                 parent that is copied shared (name_locks.h).
//   writes_       shared by every write, exclusive for StopCluster, which
//                 so waits for a copy in flight rather than cut it short.
//   LocalCluster's mutex: while the server starts or stops.
// PostgreSQL lets two copies of one template run at once (each takes a
// share lock on it), so copies of the same parent are not serialised.
#ifndef DS_DAEMON_PROVIDERS_LOCAL_LOCAL_PROVIDER_H_
#define DS_DAEMON_PROVIDERS_LOCAL_LOCAL_PROVIDER_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/pg/pg_conn.h"
#include "daemon/providers/local/branch_roles.h"
#include "daemon/providers/local/local_cluster.h"
#include "daemon/providers/local/name_locks.h"
#include "daemon/providers/provider.h"

namespace ds::daemon {

class LocalProvider final : public Provider {
 public:
  // `project_name` is what `ds db list-projects` shows ("local").
  LocalProvider(LocalClusterOptions cluster_options, std::string project_name);
  ~LocalProvider() override;

  std::string_view Name() const override { return "local"; }
  absl::StatusOr<std::vector<ProjectInfo>> ListProjects() override;
  // From the snapshot when it is at most kListFreshFor old; else reads the
  // metadata again (sizes and last activity change behind ds's back).
  absl::StatusOr<std::vector<BranchInfo>> ListBranches(const std::string& project_id) override;
  std::optional<std::vector<BranchInfo>> CachedBranches(const std::string& project_id) override;
  absl::StatusOr<BranchInfo> CreateBranch(const std::string& project_id, const std::string& name,
                                          const CreateBranchOptions& options) override;
  absl::Status DeleteBranch(const std::string& project_id, const std::string& name,
                            bool force) override;
  absl::Status ResetBranch(const std::string& project_id, const std::string& name,
                           bool force) override;
  absl::StatusOr<std::string> ConnectionUri(const std::string& project_id,
                                            const std::string& branch, const std::string& database,
                                            const std::string& role) override;
  // Answers from the snapshot, without a lock anyone else holds for longer
  // than a pointer copy. Before the first load (a fresh dsd) it starts the
  // load on a thread of its own (which starts the cluster if it is down)
  // and waits for it at most kFirstLoadWait; then it answers "not loaded
  // yet" (kUnavailable) and the next call finds the snapshot.
  absl::StatusOr<std::optional<BranchLocation>> Resolve(const common::ConnInfo& conn) override;
  // Only an address of the cluster's, before the first snapshot is loaded.
  bool ResolveMayWait(const common::ConnInfo& conn) override;
  // Starts the cluster (restarting it with a notice when it died) when
  // `conn` names it: a migration must not meet "Connection refused". A
  // string that logs in as the retired ds_owner gets an error saying how to
  // point the workspace at the branch's own role.
  absl::Status PrepareToConnect(const common::ConnInfo& conn) override;
  std::vector<std::string> TakeNotices() override;
  // The snapshot as it is (empty before the first load): no query, and
  // the cluster is not started.
  CachedInventory Cached() override;
  // Starts the cluster if needed and reads the metadata (activity sampled).
  absl::Status RefreshAll() override;
  // Recorded in ds_meta; audit reports the branch as EXPIRING, then
  // EXPIRED for a prune (dsd deletes nothing by itself).
  absl::Status SetExpiry(const std::string& project_id, const std::string& name,
                         const std::string& expires_at) override;
  void SetChangeListener(std::function<void()> listener) override;

  // Stops the cluster (for `ds daemon stop`), after the writes in flight.
  absl::Status StopCluster();

  static constexpr std::chrono::seconds kFirstLoadWait{3};
  static constexpr std::chrono::seconds kListFreshFor{2};

 private:
  // Loopback or the cluster's socket dir: an address Resolve may claim.
  bool OurHost(const common::ConnInfo& conn) const;
  struct Row {
    BranchInfo info;
    std::string database;
    std::string role;  // the branch's login role (branch_roles.h)
  };
  // The URI of a branch's database (or of `database`), as the branch's role.
  absl::StatusOr<std::string> UriFor(const Row& row, const std::string& database = "");
  struct Snapshot {
    std::string project_id;
    std::string project_created_at;
    std::vector<Row> rows;                                   // by creation time
    std::map<std::string, size_t, std::less<>> by_database;  // -> index in rows
    std::chrono::steady_clock::time_point loaded_at;
    int64_t loaded_unix_ms = 0;
    const Row* Find(std::string_view name) const;
    const Row* FindId(std::string_view id) const;
    const Row* Default() const;
  };
  using SnapshotPtr = std::shared_ptr<const Snapshot>;

  // A metadata connection (superuser on ds_meta), handed back when done.
  class Lease {
   public:
    Lease(LocalProvider* owner, std::unique_ptr<PgConnection> conn, uint64_t generation)
        : owner_(owner), conn_(std::move(conn)), generation_(generation) {}
    Lease(Lease&&) = default;
    ~Lease();
    PgConnection* operator->() const { return conn_.get(); }
    PgConnection& operator*() const { return *conn_; }

   private:
    LocalProvider* owner_;
    std::unique_ptr<PgConnection> conn_;
    uint64_t generation_;
  };

  SnapshotPtr Current() const;
  void Install(SnapshotPtr next);
  // The cluster runs and a snapshot exists (the first call starts the
  // cluster, bootstraps the metadata on first use and loads it).
  absl::Status Ready();
  // Reads the metadata and installs it as the snapshot.
  absl::StatusOr<SnapshotPtr> Reload();
  // Creates what is missing (metadata, main); idempotent, run on every
  // first load.
  absl::Status Bootstrap();
  // Records now as last_activity of every branch with sessions, or whose
  // transaction count moved since the last read: dsd's own record of use,
  // from pg_stat_database (no connection to the branch). load_mu_ held.
  absl::Status SampleActivity(PgConnection& c);
  // Gives every branch without a role its own (new main, an old cluster)
  // and retires ds_owner; see the top of this file.
  absl::Status SecureBranches();
  // Creates the branch's role and hands `database` (a fresh copy of the
  // parent, owned by `from_role`) over to it.
  absl::Status GiveToRole(const std::string& database, const std::string& from_role,
                          const std::string& role);
  // Drops a role no branch uses any more; problems are logged, not fatal.
  void DropRole(const std::string& role);
  // Resolve's bounded wait for the first snapshot (see Resolve).
  SnapshotPtr WaitForFirstLoad(absl::Status* why_not);
  absl::Status CheckProject(const Snapshot& s, const std::string& project_id) const;

  absl::StatusOr<Lease> Connection();
  void GiveBack(std::unique_ptr<PgConnection> conn, uint64_t generation);
  // Closes the idle connections and makes leased ones close when given
  // back (after a server restart).
  void DropConnections();

  // A FailedPrecondition naming who is connected to `database`, or OK when
  // nobody is.
  absl::Status BusyError(PgConnection& conn, const std::string& database,
                         const std::string& branch);
  absl::Status TerminateSessions(PgConnection& conn, const std::string& database);
  absl::Status CreateDatabase(const std::string& database, const std::string& template_db,
                              const std::string& parent_branch, bool force);
  void AddNotice(std::string notice);
  void NotifyChanged();

  LocalCluster cluster_;
  const std::string project_name_;
  RolePasswords passwords_;

  mutable std::mutex snapshot_mu_;
  std::condition_variable snapshot_cv_;  // a snapshot was installed or a load ended
  SnapshotPtr snapshot_;
  bool first_loading_ = false;  // Resolve's loader thread runs
  absl::Status first_load_error_;
  std::thread first_loader_;

  std::mutex load_mu_;
  // Commits + rollbacks per branch id at the last metadata read (load_mu_):
  // a count that moved since means the branch was used (SampleActivity).
  std::map<std::string, int64_t> transactions_seen_;
  std::mutex first_load_mu_;
  NameLocks names_;
  std::shared_mutex writes_;

  std::mutex idle_mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  uint64_t generation_ = 0;

  std::mutex notes_mu_;
  std::vector<std::string> notices_;
  std::function<void()> listener_;
};

// The database that holds a branch: the branch name itself when it is a
// usable PostgreSQL name (at most 63 bytes, not reserved), else a shortened
// name made unique with the branch id.
std::string DatabaseNameForBranch(const std::string& branch_name, const std::string& branch_id);

}  // namespace ds::daemon

#endif  // DS_DAEMON_PROVIDERS_LOCAL_LOCAL_PROVIDER_H_
