#include "daemon/tasks/audit_task.h"

#include <algorithm>
#include <memory>
#include <set>

#include "absl/strings/numbers.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/strings.h"
#include "common/usage_error.h"
#include "daemon/audit/git_refs.h"
#include "daemon/audit/naming.h"
#include "daemon/external/github.h"
#include "daemon/workspace/branches.h"

namespace ds::daemon {
namespace {

std::string Megabytes(int64_t bytes) {
  return bytes < 1024 * 1024 ? StrCat(bytes / 1024, " KiB") : StrCat(bytes / (1024 * 1024), " MiB");
}

v1::Branch ToWire(const audit::BranchReport& r) { return BranchToWire(r.provider, r.info); }

void AddTarget(const std::string& dir, const v1::DatabaseTarget& t,
               std::vector<audit::WorkspaceTarget>& out) {
  if (!t.resolved()) return;
  out.push_back(
      {dir, t.variable(), t.branch().provider(), t.branch().project_id(), t.branch().branch_id()});
}

}  // namespace

absl::StatusOr<AuditTask::Gathered> AuditTask::Gather(const v1::AuditRequest& request, bool refresh,
                                                      bool resolve_waiting) {
  Gathered g;
  common::Config config;
  std::shared_ptr<const WorkspaceResolver::DotenvEntries> env;
  absl::StatusOr<common::Config> loaded = resolver_->LoadConfig(request.workspace(), nullptr, &env);
  if (!loaded.ok()) return loaded.status();
  config = std::move(*loaded);
  // The workspace's own provider (a Neon key seen for the first time) is
  // made now, so that its cache is read, or its first fetch asked for.
  Provider* own = nullptr;
  if (absl::StatusOr<Provider*> p = providers_->ForConfig(config); p.ok()) {
    own = *p;
  } else {
    g.partial.add_notices(StrCat("not audited: ", p.status().message()));
  }

  g.options.branch_pattern = config.Get("branch_pattern");
  g.options.now_unix_ms = common::UnixMillisNow();
  g.options.project = request.project();
  g.options.owner = request.owner();
  if (!request.older_than().empty()) {
    absl::StatusOr<int64_t> older = common::ParseDuration(request.older_than());
    if (!older.ok()) {
      return common::UsageError(StrCat("--older-than: ", older.status().message()));
    }
    g.options.older_than_ms = *older;
  }
  int limit = 0;
  const std::string& limit_text = config.Get("branch_limit");
  if (!absl::SimpleAtoi(limit_text, &limit) || limit < 0) {
    return absl::InvalidArgumentError(StrCat("branch_limit is \"", limit_text, "\" (",
                                             config.OriginOf("branch_limit").location,
                                             "); give a number of branches, 0 for no limit"));
  }

  for (Provider* p : providers_->All()) {
    v1::AuditSource* source = g.partial.add_sources();
    source->set_provider(std::string(p->Name()));
    CachedInventory inventory = p->Cached();
    // A provider never used (a local cluster nobody created) has nothing to
    // audit, and refreshing it would start it: only the workspace's own
    // provider and those with data are fetched.
    if (refresh && (p == own || inventory.as_of_unix_ms != 0)) {
      if (absl::Status s = p->RefreshAll(); !s.ok()) source->set_error(std::string(s.message()));
      inventory = p->Cached();
    }
    source->set_as_of_unix_ms(inventory.as_of_unix_ms);
    source->set_projects(static_cast<int>(inventory.projects.size()));
    for (CachedProject& cp : inventory.projects) {
      if (!cp.loaded) source->set_projects_not_loaded(source->projects_not_loaded() + 1);
      g.by_project[cp.project.id] = p;
      g.input.projects.push_back({std::string(p->Name()), std::move(cp.project),
                                  std::move(cp.branches), p->Name() == "neon" ? limit : 0});
    }
    for (std::string& n : p->TakeNotices()) g.partial.add_notices(std::move(n));
  }

  std::set<std::string> git_slugs;
  bool any_repository = false;
  std::set<std::filesystem::path> repositories;
  for (const std::string& dir : resolver_->known().List()) {
    g.partial.add_known_workspaces(dir);
    v1::WorkspaceRef ref;
    ref.set_workspace_dir(dir);
    std::optional<absl::StatusOr<v1::GetCurrentResponse>> current;
    if (resolve_waiting) {
      current = resolver_->GetCurrent(ref);
    } else {
      current = resolver_->GetCurrentWithoutWaiting(ref);
    }
    if (!current) {
      g.partial.add_notes(StrCat(dir,
                                 ": .env not checked (its provider has no answer cached yet; "
                                 "--refresh waits for one)"));
    } else if (!current->ok()) {
      g.partial.add_notes(StrCat(dir, ": .env not checked: ", current->status().message()));
    } else {
      AddTarget(dir, (*current)->target(), g.input.targets);
      AddTarget(dir, (*current)->source(), g.input.targets);
    }
    std::optional<std::filesystem::path> git = audit::FindGitDir(dir);
    if (!git || !repositories.insert(*git).second) continue;
    absl::StatusOr<audit::GitBranches> branches = audit::ReadGitBranches(*git);
    if (!branches.ok()) {
      g.partial.add_notes(StrCat(dir, ": git branches not read: ", branches.status().message()));
      continue;
    }
    any_repository = true;
    for (const std::string& b : branches->local) git_slugs.insert(audit::GitBranchSlug(b));
    for (const std::string& b : branches->remote) {
      // "origin/feature/x": the remote's name is not part of the branch's.
      size_t slash = b.find('/');
      git_slugs.insert(audit::GitBranchSlug(slash == std::string::npos ? b : b.substr(slash + 1)));
    }
  }
  if (any_repository) {
    g.input.git_branches = std::move(git_slugs);
  } else {
    g.input.git_unchecked_reason = "no known workspace is in a git repository";
  }
  const auto& caller = request.workspace().overrides().environment();
  CheckPullRequests(config,
                    common::ExternalCredentials({caller.begin(), caller.end()},
                                                env ? *env : WorkspaceResolver::DotenvEntries{}),
                    refresh, g);
  return g;
}

void AuditTask::CheckPullRequests(const common::Config& config,
                                  const std::map<std::string, std::string>& credentials,
                                  bool refresh, Gathered& g) {
  const std::string repository = config.Get("github_repository");
  if (repository.empty()) {
    g.input.pr_unchecked_reason = "GitHub not configured (github_repository is unset)";
    return;
  }
  if (refresh) {
    auto token = credentials.find("GITHUB_TOKEN");
    if (token == credentials.end() || token->second.empty()) {
      g.input.pr_unchecked_reason =
          StrCat("no GitHub token to list ", repository,
                 "'s pull requests: set GITHUB_TOKEN or log in with `gh auth login`");
      return;
    }
    std::unique_ptr<external::GitHubClient> github =
        external::NewGitHubClient(external::GitHubApiUrl(credentials), token->second);
    absl::StatusOr<std::set<int>> open = github->ListOpenPullRequests(repository);
    if (!open.ok()) {
      g.input.pr_unchecked_reason = std::string(open.status().message());
      return;
    }
    std::lock_guard<std::mutex> lock(pulls_mu_);
    open_pulls_[repository] = std::make_shared<const std::set<int>>(std::move(*open));
  }
  std::shared_ptr<const std::set<int>> numbers;
  {
    std::lock_guard<std::mutex> lock(pulls_mu_);
    if (auto it = open_pulls_.find(repository); it != open_pulls_.end()) numbers = it->second;
  }
  if (!numbers) {
    g.input.pr_unchecked_reason =
        StrCat(repository, "'s pull requests are not fetched yet; --refresh fetches them");
    return;
  }
  g.input.pull_request_open = [numbers](int n) -> absl::StatusOr<bool> {
    return numbers->count(n) > 0;
  };
}

v1::AuditResponse AuditTask::ToProto(const audit::AuditReport& report, v1::AuditResponse out) {
  for (const audit::BranchReport& r : report.branches) {
    v1::AuditBranch* b = out.add_branches();
    *b->mutable_branch() = ToWire(r);
    b->set_kind(audit::BranchKindName(r.name.kind));
    b->set_owner(r.name.owner);
    b->set_pr(r.name.pr);
    b->set_children(r.children);
    b->set_state(r.info.state);
    for (audit::Finding f : r.findings) b->add_findings(audit::FindingName(f));
    for (const std::string& k : r.kept_because) b->add_kept_because(k);
    for (const std::string& t : r.targeted_by) b->add_targeted_by(t);
    for (const std::string& n : r.notes) b->add_notes(n);
    b->set_prunable(r.prunable());
    b->set_project_name(r.project_name);
    b->set_active_unix_ms(r.active_unix_ms);
    b->set_activity_known(r.activity_known);
  }
  auto totals = [](const std::vector<audit::Total>& in,
                   google::protobuf::RepeatedPtrField<v1::AuditTotal>* to) {
    for (const audit::Total& t : in) {
      v1::AuditTotal* o = to->Add();
      o->set_key(t.key);
      o->set_branches(t.branches);
      o->set_with_findings(t.with_findings);
      o->set_prunable(t.prunable);
      o->set_size_bytes(t.size_bytes);
      o->set_prunable_bytes(t.prunable_bytes);
      o->set_limit(t.limit);
    }
  };
  totals(report.by_owner, out.mutable_by_owner());
  totals(report.by_project, out.mutable_by_project());
  for (const std::string& n : report.notes) out.add_notes(n);
  out.set_findings(report.findings);
  return out;
}

absl::StatusOr<v1::AuditResponse> AuditTask::Audit(const v1::AuditRequest& request) {
  absl::StatusOr<Gathered> g =
      Gather(request, request.refresh(), /*resolve_waiting=*/request.refresh());
  if (!g.ok()) return g.status();
  audit::AuditReport report = audit::Audit(g->input, g->options);
  const int total = static_cast<int>(report.branches.size());
  if (request.limit() > 0 && total > request.limit()) report.branches.resize(request.limit());
  v1::AuditResponse out = ToProto(report, std::move(g->partial));
  out.set_now_unix_ms(g->options.now_unix_ms);
  out.set_branches_total(total);
  return out;
}

absl::StatusOr<std::string> AuditTask::StartPrune(JobManager* jobs, const v1::PruneRequest& request,
                                                  JobManager::Sink sink, uint64_t* token) {
  // Bad options fail the call, not the job.
  if (!request.audit().older_than().empty()) {
    if (absl::StatusOr<int64_t> d = common::ParseDuration(request.audit().older_than()); !d.ok()) {
      return common::UsageError(StrCat("--older-than: ", d.status().message()));
    }
  }
  if (absl::Status s = ValidateWorkspaceDir(request.audit().workspace().workspace_dir()); !s.ok()) {
    return s;
  }
  JobSpec spec;
  spec.kind = "prune";
  spec.target_key = "prune";  // one prune at a time
  spec.target_redacted = "branches with audit findings";
  spec.workspace_dir = request.audit().workspace().workspace_dir();
  spec.started_by = request.started_by();
  spec.description = "delete the branches `ds db audit` finds and nothing keeps";
  auto req = std::make_shared<const v1::AuditRequest>(request.audit());
  return jobs->Start(
      std::move(spec),
      [this, req](JobContext& job) -> JobOutcome {
        JobOutcome outcome;
        job.BeginStep("refresh");
        // Fresh data and every .env resolved: a prune never acts on a
        // cache that may be minutes old.
        absl::StatusOr<Gathered> g = Gather(*req, /*refresh=*/true, /*resolve_waiting=*/true);
        if (!g.ok()) {
          outcome.state = v1::JOB_STATE_FAILED;
          outcome.exit_code = 1;
          outcome.error = std::string(g.status().message());
          return outcome;
        }
        for (const v1::AuditSource& s : g->partial.sources()) {
          if (!s.error().empty()) {
            outcome.state = v1::JOB_STATE_FAILED;
            outcome.exit_code = 1;
            outcome.error =
                StrCat("refreshing ", s.provider(), " failed (", s.error(), "); nothing deleted");
            return outcome;
          }
        }
        for (const std::string& n : g->partial.notes()) job.Log("warning", n);
        audit::AuditReport report = audit::Audit(g->input, g->options);
        std::vector<const audit::BranchReport*> doomed;
        for (const audit::BranchReport& r : report.branches) {
          if (r.prunable()) {
            doomed.push_back(&r);
          } else if (!r.findings.empty()) {
            std::vector<std::string_view> why(r.kept_because.begin(), r.kept_because.end());
            job.Log("info", StrCat("kept ", r.provider, "/", r.project_name, "/", r.info.name, ": ",
                                   Join(why, "; ")));
          }
        }
        job.BeginStep("delete");
        int deleted = 0, failed = 0;
        int64_t freed = 0;
        for (size_t i = 0; i < doomed.size(); ++i) {
          if (job.cancelled()) break;
          const audit::BranchReport& r = *doomed[i];
          std::vector<std::string_view> findings;
          for (audit::Finding f : r.findings) findings.push_back(audit::FindingName(f));
          job.Progress(static_cast<int>(i + 1), static_cast<int>(doomed.size()), r.info.name,
                       Join(findings, ", "));
          Provider* p = g->by_project[r.info.project_id];
          absl::Status s = p ? p->DeleteBranch(r.info.project_id, r.info.name, /*force=*/false)
                             : absl::NotFoundError("its provider is gone");
          if (!s.ok()) {
            ++failed;
            job.Log("error", StrCat("not deleted ", r.provider, "/", r.project_name, "/",
                                    r.info.name, ": ", s.message()));
            continue;
          }
          ++deleted;
          freed += std::max<int64_t>(0, r.info.size_bytes);
          job.Log("info",
                  StrCat("deleted ", r.provider, "/", r.project_name, "/", r.info.name, " (",
                         Join(findings, ", "), ")",
                         r.info.size_bytes > 0 ? StrCat(", ", Megabytes(r.info.size_bytes)) : ""));
        }
        outcome.summary =
            StrCat("deleted ", deleted, deleted == 1 ? " branch" : " branches", ", freed ",
                   Megabytes(freed), failed ? StrCat("; ", failed, " could not be deleted") : "");
        if (job.cancelled()) {
          outcome.state = v1::JOB_STATE_CANCELLED;
          outcome.exit_code = 130;
          outcome.error = "cancelled";
        } else if (failed > 0) {
          outcome.state = v1::JOB_STATE_FAILED;
          outcome.exit_code = 1;
          outcome.error = StrCat(failed, " branches could not be deleted (see the log)");
        }
        return outcome;
      },
      std::move(sink), token);
}

}  // namespace ds::daemon
