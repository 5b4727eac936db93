// Where a reset or an organization copy writes (the target) and reads (the
// source), resolved from a request, and the checks that keep a reset off the
// wrong database: the target is not the source, and not a default or
// protected branch, nor in a project the configuration protects.
//
// Target: --target-db, else the --target STAGE branch's URI, else the
// workspace's DB_CONNECTION_STRING. Source: --source-db, else
// SOURCE_DB_CONNECTION_STRING. The organization: -o, else the
// `organization` setting.
#ifndef DS_DAEMON_TASKS_ORG_ENDPOINTS_H_
#define DS_DAEMON_TASKS_ORG_ENDPOINTS_H_

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/conninfo.h"
#include "daemon/providers/provider.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

// A database a job acts on. `conninfo` holds the password: it goes to libpq
// and nowhere else.
struct ResolvedDatabase {
  std::string conninfo;
  std::string origin;  // "--target-db", "branch dev-x", "DB_CONNECTION_STRING in /w/.env:3"
  common::ConnInfo info;
  std::string redacted;                   // for messages and records
  std::optional<BranchLocation> branch;   // when a provider knows it
  std::optional<BranchInfo> branch_info;  // its flags (protected, default), when listed
  std::string unresolved_reason;
  // What the user types back to confirm: the branch's name, else the
  // database's.
  std::string ConfirmName() const;
  // "branch dev-x of project p (host/db)", redacted.
  std::string Describe() const;
};

struct OrgEndpoints {
  std::filesystem::path workspace_dir;
  common::Config config;
  std::shared_ptr<const WorkspaceResolver::DotenvEntries> env;
  ResolvedDatabase target;
  ResolvedDatabase source;
  std::string organization;
};

// Resolves both databases and the organization; parses both connection
// strings. Errors: kInvalidArgument for bad values (both --target-db and
// --target, an unparsable string), kFailedPrecondition for a workspace that
// names no target or source (the message says which setting or command
// fills it in).
absl::StatusOr<OrgEndpoints> ResolveOrgEndpoints(const v1::OrgDataEndpoints& request,
                                                 WorkspaceResolver& resolver,
                                                 const ProviderRegistry& providers);

// kFailedPrecondition when the target is the source: the same host, port
// and database, the same Neon endpoint, or the same provider branch.
absl::Status CheckTargetIsNotSource(const ResolvedDatabase& target, const ResolvedDatabase& source);

// kPermissionDenied when the target is a default or protected branch, or
// in a project listed in `protected_projects`.
absl::Status CheckTargetWritable(const ResolvedDatabase& target, const common::Config& config);

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_ORG_ENDPOINTS_H_
