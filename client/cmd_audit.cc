// `ds db audit` (findings, and --prune) and `ds db set-expiry`.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <iostream>

#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/daemon_client.h"
#include "client/exit_codes.h"
#include "client/github_token.h"
#include "client/job_stream.h"
#include "client/output.h"
#include "client/session.h"
#include "common/clock.h"
#include "common/strings.h"

namespace ds::client {
namespace {

// Rows of the table without --all: thousands of branches are for --json.
constexpr int kTableRows = 50;

// "3d", "5h", "12m", "40s": how long ago, in the largest whole unit.
std::string Ago(int64_t now_ms, int64_t then_ms) {
  if (then_ms <= 0) return "-";
  int64_t s = std::max<int64_t>(0, (now_ms - then_ms) / 1000);
  if (s >= 86400) return StrCat(s / 86400, "d");
  if (s >= 3600) return StrCat(s / 3600, "h");
  if (s >= 60) return StrCat(s / 60, "m");
  return StrCat(s, "s");
}

std::string Size(int64_t bytes) {
  if (bytes < 0) return "-";
  if (bytes < 1024 * 1024) return StrCat(bytes / 1024, " kB");
  if (bytes < 1024LL * 1024 * 1024) return absl::StrFormat("%.1f MB", bytes / 1048576.0);
  return absl::StrFormat("%.1f GB", bytes / 1073741824.0);
}

std::string JoinAll(const google::protobuf::RepeatedPtrField<std::string>& parts,
                    std::string_view sep) {
  std::vector<std::string_view> v(parts.begin(), parts.end());
  return Join(v, sep);
}

v1::AuditRequest Request(const Session& s, const CommandOptions& o) {
  v1::AuditRequest req;
  *req.mutable_workspace() = s.workspace;
  req.set_project(o.project);
  req.set_owner(o.owner);
  req.set_older_than(o.older_than);
  req.set_refresh(o.refresh);
  // A refresh (and a prune, which refreshes) also asks GitHub which pull
  // requests are open, for CLOSED-PR; a plain audit answers from dsd's cache.
  if (o.refresh || o.prune) ForwardGitHubToken(req.mutable_workspace());
  // The table shows what can go first; the totals count every branch.
  if (!o.json && !o.all) req.set_limit(kTableRows);
  return req;
}

void PrintSources(const v1::AuditResponse& r) {
  std::vector<std::string> parts;
  for (const v1::AuditSource& s : r.sources()) {
    std::string part =
        s.as_of_unix_ms() == 0
            ? StrCat(s.provider(), ": nothing cached yet (run with --refresh)")
            : StrCat(s.provider(), " as of ", Ago(r.now_unix_ms(), s.as_of_unix_ms()), " ago");
    if (s.projects_not_loaded() > 0) {
      StrAppend(&part, " (", s.projects_not_loaded(), " projects not fetched yet)");
    }
    if (!s.error().empty()) StrAppend(&part, " (refresh failed: ", s.error(), ")");
    parts.push_back(std::move(part));
  }
  std::vector<std::string_view> v(parts.begin(), parts.end());
  std::cout << "Data: " << Join(v, "; ") << "\n";
}

void PrintReport(const v1::AuditResponse& r, bool prune_plan) {
  PrintSources(r);
  std::vector<std::vector<std::string>> rows = {
      {"BRANCH", "PROJECT", "OWNER", "KIND", "IDLE", "SIZE", "FINDINGS", "PRUNE"}};
  for (const v1::AuditBranch& b : r.branches()) {
    std::string prune = b.prunable()        ? "yes"
                        : b.findings_size() ? StrCat("kept: ", JoinAll(b.kept_because(), "; "))
                                            : "-";
    rows.push_back({b.branch().name(), StrCat(b.branch().provider(), "/", b.project_name()),
                    b.owner().empty() ? "-" : b.owner(), b.kind(),
                    StrCat(Ago(r.now_unix_ms(), b.active_unix_ms()), b.activity_known() ? "" : "*"),
                    Size(b.branch().size_bytes()),
                    b.findings_size() ? JoinAll(b.findings(), ",") : "-", prune});
  }
  PrintTable(rows);
  if (r.branches_total() > r.branches_size()) {
    std::cout << "... and " << r.branches_total() - r.branches_size()
              << " more branches (--all lists them)\n";
  }
  std::cout << "(IDLE* = never active: age since creation)\n\nBy owner:\n";
  std::vector<std::vector<std::string>> owners = {
      {"OWNER", "BRANCHES", "FINDINGS", "PRUNABLE", "SIZE", "FREES"}};
  for (const v1::AuditTotal& t : r.by_owner()) {
    owners.push_back({t.key(), StrCat(t.branches()), StrCat(t.with_findings()),
                      StrCat(t.prunable()), Size(t.size_bytes()), Size(t.prunable_bytes())});
  }
  PrintTable(owners);
  std::cout << "\nBy project:\n";
  std::vector<std::vector<std::string>> projects = {
      {"PROJECT", "BRANCHES", "LIMIT", "FINDINGS", "PRUNABLE", "SIZE", "FREES"}};
  for (const v1::AuditTotal& t : r.by_project()) {
    projects.push_back({t.key(), StrCat(t.branches()), t.limit() ? StrCat(t.limit()) : "-",
                        StrCat(t.with_findings()), StrCat(t.prunable()), Size(t.size_bytes()),
                        Size(t.prunable_bytes())});
  }
  PrintTable(projects);
  for (const std::string& n : r.notes()) std::cout << "note: " << n << "\n";
  int prunable = 0;
  int64_t frees = 0;
  for (const v1::AuditTotal& t : r.by_project()) {
    prunable += t.prunable();
    frees += t.prunable_bytes();
  }
  std::cout << "\n"
            << r.findings() << (r.findings() == 1 ? " branch" : " branches") << " with findings; "
            << prunable << " can be pruned, freeing " << Size(frees) << ".\n";
  if (prune_plan) {
    std::cout << (prunable ? "Dry run: nothing was deleted. `ds db audit --prune --yes` deletes "
                             "the branches marked yes (each is checked again first).\n"
                           : "Nothing to prune.\n");
  }
}

}  // namespace

int RunAudit(const Invocation& inv) {
  const CommandOptions& o = inv.options;
  if (o.yes && !o.prune) return PrintError("--yes goes with --prune", kExitUsage);
  if (o.check && o.prune)
    return PrintError("--check and --prune are two uses; pick one", kExitUsage);
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  v1::AuditRequest req = Request(*s, o);

  if (o.prune && o.yes) {
    v1::PruneRequest prune;
    *prune.mutable_audit() = req;
    prune.set_started_by(StartedBy());
    PrepareForInterrupts();
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = s->client.jobs().Prune(&ctx, prune);
    return FollowJob(s->client.jobs(), ctx, *reader,
                     {.json = o.json, .cancel_on_interrupt = true, .detach = false});
  }

  v1::AuditResponse resp;
  grpc::ClientContext ctx;
  SlowDeadline(ctx);
  grpc::Status st = s->client.branches().Audit(&ctx, req, &resp);
  if (!st.ok()) return ReportRpcError(st);
  for (const std::string& n : resp.notices()) std::cerr << "ds: note: " << n << "\n";
  if (o.json) {
    std::cout << ToJson(resp);
  } else {
    PrintReport(resp, o.prune);
  }
  return o.check && resp.findings() > 0 ? kExitFailed : kExitOk;
}

int RunSetExpiry(const Invocation& inv) {
  const CommandOptions& o = inv.options;
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());
  v1::SetExpiryRequest req;
  *req.mutable_workspace() = s->workspace;
  req.set_project(o.project);
  req.set_name(o.name);
  req.set_expires_in(o.expires_in);
  v1::SetExpiryResponse resp;
  grpc::ClientContext ctx;
  SlowDeadline(ctx);
  grpc::Status st = s->client.branches().SetExpiry(&ctx, req, &resp);
  if (!st.ok()) return ReportRpcError(st);
  for (const std::string& n : resp.notices()) std::cerr << "ds: note: " << n << "\n";
  if (o.json) {
    std::cout << ToJson(resp);
  } else if (resp.branch().expires_at().empty()) {
    std::cout << "Branch " << o.name << " no longer expires.\n";
  } else {
    std::cout << "Branch " << o.name << " expires at " << resp.branch().expires_at() << ".\n";
  }
  return kExitOk;
}

}  // namespace ds::client
