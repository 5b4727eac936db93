// The embedded local provider: one project whose branches are databases of
// dsd's private PostgreSQL cluster (local_cluster.h), created with
// CREATE DATABASE ... TEMPLATE <parent> STRATEGY FILE_COPY.
//
// Roles work as on Neon, where every branch carries the same roles: one
// owner role (ds_owner, password in pg.owner) owns every branch database
// and its objects, so a template copy is usable by the same role at once.
// Branch metadata lives in the cluster's ds_meta database.
#ifndef DS_DAEMON_PROVIDERS_LOCAL_LOCAL_PROVIDER_H_
#define DS_DAEMON_PROVIDERS_LOCAL_LOCAL_PROVIDER_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/providers/local/local_cluster.h"
#include "daemon/providers/provider.h"

namespace ds::daemon {

class LocalProvider final : public Provider {
 public:
  // `project_name` is what `ds db list-projects` shows ("local").
  LocalProvider(LocalClusterOptions cluster_options, std::string project_name);
  ~LocalProvider() override;

  std::string_view Name() const override { return "local"; }
  absl::StatusOr<std::vector<ProjectInfo>> ListProjects() override;
  absl::StatusOr<std::vector<BranchInfo>> ListBranches(const std::string& project_id) override;
  absl::StatusOr<BranchInfo> CreateBranch(const std::string& project_id, const std::string& name,
                                          const CreateBranchOptions& options) override;
  absl::Status DeleteBranch(const std::string& project_id, const std::string& name,
                            bool force) override;
  absl::Status ResetBranch(const std::string& project_id, const std::string& name,
                           bool force) override;
  absl::StatusOr<std::string> ConnectionUri(const std::string& project_id,
                                            const std::string& branch,
                                            const std::string& database,
                                            const std::string& role) override;
  absl::StatusOr<std::optional<BranchLocation>> Resolve(const common::ConnInfo& conn) override;
  std::vector<std::string> TakeNotices() override;
  void SetChangeListener(std::function<void()> listener) override;

  // Stops the cluster (for `ds daemon stop`).
  absl::Status StopCluster();

 private:
  struct Row;
  // Starts the cluster and opens the metadata connection; bootstraps the
  // metadata, owner role and `main` on first use. Caller holds mu_.
  absl::Status ReadyLocked();
  absl::Status BootstrapLocked();
  absl::StatusOr<std::vector<Row>> LoadRowsLocked();
  // ReadyLocked, the project check, then LoadRowsLocked.
  absl::StatusOr<std::vector<Row>> ReadyRowsLocked(const std::string& project_id);
  static const Row* FindRow(const std::vector<Row>& rows, const std::string& name);
  absl::Status CheckProjectLocked(const std::string& project_id) const;
  // A FailedPrecondition naming who is connected to `database`, or OK when
  // nobody is.
  absl::Status BusyErrorLocked(const std::string& database, const std::string& branch);
  absl::Status TerminateSessionsLocked(const std::string& database);
  absl::StatusOr<std::string> CreateDatabaseLocked(const std::string& database,
                                                   const std::string& template_db,
                                                   const std::string& parent_branch, bool force);
  void NotifyChanged();

  LocalCluster cluster_;
  const std::string project_name_;
  // One mutex for everything: branch operations are rare and short next
  // to the template copies they wrap, and serialising them removes every
  // race between two creates or a create and a delete.
  std::mutex mu_;
  // The superuser's connection to ds_meta (a pqxx::connection; kept out of
  // this header, which many files include).
  struct MetaConnection;
  std::unique_ptr<MetaConnection> meta_holder_;
  std::string project_id_;
  std::string project_created_at_;
  std::vector<std::string> notices_;
  std::function<void()> listener_;
  // The last branch list read, and when (see ListBranches).
  static constexpr std::chrono::seconds kListFreshFor{2};
  std::vector<BranchInfo> listed_;
  std::chrono::steady_clock::time_point listed_at_;
  // Database name -> (branch id, branch name), for Resolve.
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> by_database_;
};

// The database that holds a branch: the branch name itself when it is a
// usable PostgreSQL name (at most 63 bytes, not reserved), else a shortened
// name made unique with the branch id.
std::string DatabaseNameForBranch(const std::string& branch_name, const std::string& branch_id);

}  // namespace ds::daemon

#endif  // DS_DAEMON_PROVIDERS_LOCAL_LOCAL_PROVIDER_H_
