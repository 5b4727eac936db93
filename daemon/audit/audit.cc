#include "daemon/audit/audit.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "common/clock.h"
#include "common/strings.h"

namespace ds::daemon::audit {
namespace {

using common::ParseRfc3339;

bool IsBusy(const BranchInfo& b) { return b.state == "init" || b.state == "resetting"; }

// Owner of a branch for the totals: the parsed developer, else "-".
std::string OwnerKey(const BranchReport& r) { return r.name.owner.empty() ? "-" : r.name.owner; }

std::string ProjectKey(const BranchReport& r) {
  return StrCat(r.provider, "/", r.project_name.empty() ? r.info.project_id : r.project_name);
}

void Count(Total& t, const BranchReport& r) {
  ++t.branches;
  if (!r.findings.empty()) ++t.with_findings;
  const int64_t size = std::max<int64_t>(0, r.info.size_bytes);
  t.size_bytes += size;
  if (r.prunable()) {
    ++t.prunable;
    t.prunable_bytes += size;
  }
}

int Rank(const BranchReport& r) { return r.prunable() ? 0 : !r.findings.empty() ? 1 : 2; }

}  // namespace

const char* FindingName(Finding f) {
  switch (f) {
    case Finding::kStale: return "STALE";
    case Finding::kOrphaned: return "ORPHANED";
    case Finding::kClosedPr: return "CLOSED-PR";
    case Finding::kExpiring: return "EXPIRING";
    case Finding::kExpired: return "EXPIRED";
    case Finding::kArchived: return "ARCHIVED";
    case Finding::kOverLimit: return "OVER-LIMIT";
  }
  return "?";
}

AuditReport Audit(const AuditInput& input, const AuditOptions& options) {
  AuditReport report;
  const int64_t now = options.now_unix_ms;
  if (!input.git_branches) {
    report.notes.push_back(StrCat("ORPHANED not checked: ", input.git_unchecked_reason));
  }
  if (!input.pull_request_open) {
    report.notes.push_back(StrCat("CLOSED-PR not checked: ", input.pr_unchecked_reason.empty()
                                                                 ? "GitHub not configured"
                                                                 : input.pr_unchecked_reason));
  }
  for (const ProjectInput& project : input.projects) {
    const bool wanted_project = options.project.empty() || options.project == project.project.id ||
                                options.project == project.project.name;
    if (!wanted_project) continue;
    std::map<std::string, int> children;  // parent id -> count
    for (const BranchInfo& b : project.branches) {
      if (!b.parent_id.empty()) ++children[b.parent_id];
    }
    std::vector<BranchReport> rows;
    for (const BranchInfo& b : project.branches) {
      BranchReport r;
      r.provider = project.provider;
      r.project_name = project.project.name;
      r.info = b;
      r.name = ParseBranchName(options.branch_pattern, b.name, b.is_default);
      r.children = children[b.id];
      if (std::optional<int64_t> active = ParseRfc3339(b.last_activity)) {
        r.active_unix_ms = *active;
        r.activity_known = true;
      } else if (std::optional<int64_t> created = ParseRfc3339(b.created_at)) {
        r.active_unix_ms = *created;
      }
      for (const WorkspaceTarget& t : input.targets) {
        if (t.provider == project.provider && t.project_id == b.project_id && t.branch_id == b.id) {
          r.targeted_by.push_back(StrCat(t.workspace_dir, " (", t.variable, ")"));
        }
      }
      const bool default_branch = b.is_default || r.name.kind == BranchKind::kDefault;
      if (!default_branch) {
        if (r.active_unix_ms > 0 && now - r.active_unix_ms >= options.older_than_ms) {
          r.findings.push_back(Finding::kStale);
        }
        if (r.name.kind == BranchKind::kCloud && input.git_branches &&
            !input.git_branches->contains(r.name.stage)) {
          r.findings.push_back(Finding::kOrphaned);
        }
        if (r.name.kind == BranchKind::kCi && input.pull_request_open) {
          absl::StatusOr<bool> open = input.pull_request_open(r.name.pr);
          if (!open.ok()) {
            r.notes.push_back(StrCat("PR #", r.name.pr, " not checked: ", open.status().message()));
          } else if (!*open) {
            r.findings.push_back(Finding::kClosedPr);
          }
        }
        if (std::optional<int64_t> expires = ParseRfc3339(b.expires_at)) {
          if (*expires <= now) {
            r.findings.push_back(Finding::kExpired);
          } else if (*expires - now <= options.expiring_within_ms) {
            r.findings.push_back(Finding::kExpiring);
          }
        }
        if (b.state == "archived") r.findings.push_back(Finding::kArchived);
      }
      if (default_branch) {
        r.kept_because.push_back(b.is_default ? "default branch" : "named main");
      }
      if (b.is_protected) r.kept_because.push_back("protected");
      if (r.children > 0) {
        r.kept_because.push_back(
            StrCat("has ", r.children, r.children == 1 ? " child branch" : " child branches"));
      }
      if (IsBusy(b)) r.kept_because.push_back(StrCat("busy (", b.state, ")"));
      for (const std::string& w : r.targeted_by) r.kept_because.push_back(StrCat(".env of ", w));
      rows.push_back(std::move(r));
    }
    // OVER-LIMIT: the excess, least recently active first, among branches
    // a prune could ever delete (default and protected ones stay anyway).
    if (project.limit > 0 && static_cast<int>(rows.size()) > project.limit) {
      std::vector<BranchReport*> candidates;
      for (BranchReport& r : rows) {
        if (!r.info.is_default && r.name.kind != BranchKind::kDefault && !r.info.is_protected) {
          candidates.push_back(&r);
        }
      }
      std::stable_sort(candidates.begin(), candidates.end(),
                       [](const BranchReport* a, const BranchReport* b) {
                         return a->active_unix_ms < b->active_unix_ms;
                       });
      const size_t excess =
          std::min(candidates.size(), rows.size() - static_cast<size_t>(project.limit));
      for (size_t i = 0; i < excess; ++i) candidates[i]->findings.push_back(Finding::kOverLimit);
    }
    Total project_total;
    project_total.limit = project.limit;
    for (BranchReport& r : rows) {
      if (!options.owner.empty() && r.name.owner != options.owner) continue;
      project_total.key = ProjectKey(r);
      Count(project_total, r);
      report.branches.push_back(std::move(r));
    }
    if (project_total.branches > 0) report.by_project.push_back(project_total);
  }
  std::map<std::string, Total> owners;
  for (const BranchReport& r : report.branches) {
    Total& t = owners[OwnerKey(r)];
    t.key = OwnerKey(r);
    Count(t, r);
    if (!r.findings.empty()) ++report.findings;
  }
  for (auto& [key, total] : owners) report.by_owner.push_back(total);
  // Sorted through indices: a report is big (a dozen strings each) and
  // thousands of them are cheaper to move once than to swap around.
  std::vector<size_t> order(report.branches.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const std::vector<BranchReport>& rows = report.branches;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const BranchReport &a = rows[x], &b = rows[y];
    if (Rank(a) != Rank(b)) return Rank(a) < Rank(b);
    if (a.active_unix_ms != b.active_unix_ms) return a.active_unix_ms < b.active_unix_ms;
    return a.info.size_bytes > b.info.size_bytes;
  });
  std::vector<BranchReport> sorted;
  sorted.reserve(order.size());
  for (size_t i : order) sorted.push_back(std::move(report.branches[i]));
  report.branches = std::move(sorted);
  return report;
}

}  // namespace ds::daemon::audit
