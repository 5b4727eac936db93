// Branch findings: which branches are stale, orphaned, expiring, archived
// or over the plan's limit, and which of them a prune may delete. Pure
// logic over what the providers cached, the workspaces dsd knows and their
// git branches, at a given `now`: no clock, no network, no database.
//
// Findings:
//   STALE      no activity (else its creation) for `older_than`
//   ORPHANED   a cloud branch whose git branch is gone from every known
//              repository (local and remote-tracking branches)
//   CLOSED-PR  a CI branch whose pull request is closed
//   EXPIRING   expires within `expiring_within`
//   EXPIRED    expired (the local provider keeps it until a prune)
//   ARCHIVED   Neon archived it
//   OVER-LIMIT the project has more branches than `limit` includes; the
//              excess least recently active deletable branches get it
// The default branch gets none. Prune deletes only branches with findings
// and never one that is the default, protected, a parent, busy (being
// created or reset), or the target or source of a known workspace's .env:
// each such branch lists why it is kept.
#ifndef DS_DAEMON_AUDIT_AUDIT_H_
#define DS_DAEMON_AUDIT_AUDIT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/audit/naming.h"
#include "daemon/providers/provider.h"

namespace ds::daemon::audit {

enum class Finding { kStale, kOrphaned, kClosedPr, kExpiring, kExpired, kArchived, kOverLimit };
const char* FindingName(Finding f);  // "STALE", "ORPHANED", ...

struct ProjectInput {
  std::string provider;  // "local", "neon"
  ProjectInfo project;
  std::vector<BranchInfo> branches;
  int limit = 0;  // branches included; 0 = no limit
};

// A database a known workspace's .env points at.
struct WorkspaceTarget {
  std::string workspace_dir;
  std::string variable;  // DB_CONNECTION_STRING, ...
  std::string provider;
  std::string project_id;
  std::string branch_id;
};

struct AuditInput {
  std::vector<ProjectInput> projects;
  std::vector<WorkspaceTarget> targets;
  // Slugs (GitBranchSlug) of every branch of the known repositories;
  // nullopt when there is none to look in (then ORPHANED is not checked
  // and `git_unchecked_reason` says why).
  std::optional<std::set<std::string>> git_branches;
  std::string git_unchecked_reason;
  // Whether pull request `n` is open; null when GitHub is not configured
  // (then CLOSED-PR is not checked). An error leaves that branch
  // unchecked, with the message as a note.
  std::function<absl::StatusOr<bool>(int n)> pull_request_open;
  // Why pull_request_open is null; empty: "GitHub not configured".
  std::string pr_unchecked_reason;
};

struct AuditOptions {
  std::string branch_pattern = "dev-{developer}-{stage}";
  int64_t now_unix_ms = 0;
  int64_t older_than_ms = 14LL * 24 * 3600 * 1000;
  int64_t expiring_within_ms = 3LL * 24 * 3600 * 1000;
  std::string project;  // id or name; "" = every project
  std::string owner;    // "" = every owner
};

struct BranchReport {
  std::string provider;
  std::string project_name;
  BranchInfo info;
  ParsedName name;
  int children = 0;
  // Last activity, else creation (ms since the epoch; 0 when neither is
  // known) and whether it was activity.
  int64_t active_unix_ms = 0;
  bool activity_known = false;
  std::vector<Finding> findings;
  std::vector<std::string> kept_because;  // why prune would keep it
  std::vector<std::string> targeted_by;   // "<workspace> (DB_CONNECTION_STRING)"
  std::vector<std::string> notes;         // checks that could not be made
  bool prunable() const { return !findings.empty() && kept_because.empty(); }
};

struct Total {
  std::string key;  // the owner ("" = none), or "provider/project name"
  int branches = 0;
  int with_findings = 0;
  int prunable = 0;
  int64_t size_bytes = 0;      // of branches whose size is known
  int64_t prunable_bytes = 0;  // what a prune would free
  int limit = 0;               // projects: branches included (0 = none)
};

struct AuditReport {
  // What can go first: prunable, least recently active, biggest; then
  // kept branches with findings; then the rest.
  std::vector<BranchReport> branches;
  std::vector<Total> by_owner;
  std::vector<Total> by_project;
  std::vector<std::string> notes;  // checks not made, and why
  int findings = 0;                // branches with at least one finding
};

AuditReport Audit(const AuditInput& input, const AuditOptions& options);

}  // namespace ds::daemon::audit

#endif  // DS_DAEMON_AUDIT_AUDIT_H_
