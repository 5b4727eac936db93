#include "daemon/audit/audit.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "common/strings.h"

namespace ds::daemon::audit {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

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
    case Finding::kStale:
      return "STALE";
    case Finding::kOrphaned:
      return "ORPHANED";
    case Finding::kClosedPr:
      return "CLOSED-PR";
    case Finding::kExpiring:
      return "EXPIRING";
    case Finding::kExpired:
      return "EXPIRED";
    case Finding::kArchived:
      return "ARCHIVED";
    case Finding::kOverLimit:
      return "OVER-LIMIT";
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
    report.notes.push_back("CLOSED-PR not checked: GitHub not configured");
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
        if (t.provider == project.provider && t.project_id == b.project_id &&
            t.branch_id == b.id) {
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
  std::stable_sort(report.branches.begin(), report.branches.end(),
                   [](const BranchReport& a, const BranchReport& b) {
                     if (Rank(a) != Rank(b)) return Rank(a) < Rank(b);
                     if (a.active_unix_ms != b.active_unix_ms) {
                       return a.active_unix_ms < b.active_unix_ms;
                     }
                     return a.info.size_bytes > b.info.size_bytes;
                   });
  return report;
}

std::optional<int64_t> ParseRfc3339(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    if (at + n > t.size()) return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') ||
      t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2), hour = digits(11, 2),
       minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  size_t i = 19;
  int64_t millis = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int64_t scale = 100;
    size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      millis += (t[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    auto oh = digits(i + 1, 2), om = digits(i + 4, 2);
    if (!oh || !om || i + 3 >= t.size() || t[i + 3] != ':') return std::nullopt;
    offset_s = (*oh * 3600 + *om * 60) * (t[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  const int64_t seconds = static_cast<int64_t>(timegm(&tm)) - offset_s;
  return seconds * 1000 + millis;
}

std::string FormatRfc3339(int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

absl::StatusOr<int64_t> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        StrCat("\"", text, "\" is not a duration; give a number and a unit: 14d, 36h, 2w, 90m"));
  };
  if (text.size() < 2) return bad();
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9' || n > 1000000) return bad();
    n = n * 10 + (c - '0');
  }
  if (n == 0) return bad();
  switch (text.back()) {
    case 's':
      return n * 1000;
    case 'm':
      return n * 60 * 1000;
    case 'h':
      return n * 3600 * 1000;
    case 'd':
      return n * kDayMs;
    case 'w':
      return n * 7 * kDayMs;
    default:
      return bad();
  }
}

}  // namespace ds::daemon::audit
