// `ds db audit` and its prune: gathers what the providers cached, the
// workspaces dsd knows (their .env targets and git branches) and the
// workspace's configuration, runs the findings (daemon/audit/audit.h) and
// answers in the wire's terms; the prune is a job that deletes the
// prunable branches, each checked again against fresh data first.
#ifndef DS_DAEMON_TASKS_AUDIT_TASK_H_
#define DS_DAEMON_TASKS_AUDIT_TASK_H_

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/audit/audit.h"
#include "daemon/jobs/jobs.h"
#include "daemon/providers/provider.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/branch.pb.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

class AuditTask {
 public:
  AuditTask(WorkspaceResolver* resolver, ProviderRegistry* providers)
      : resolver_(resolver), providers_(providers) {}
  AuditTask(const AuditTask&) = delete;
  AuditTask& operator=(const AuditTask&) = delete;

  // From the cache at once unless request.refresh; never connects to a
  // branch's database.
  absl::StatusOr<v1::AuditResponse> Audit(const v1::AuditRequest& request);

  // Starts the prune job ("prune"): refreshes, audits again (resolving
  // every known workspace's .env, waiting if a provider must), and deletes
  // each prunable branch, logging every branch it keeps and why.
  absl::StatusOr<std::string> StartPrune(JobManager* jobs, const v1::PruneRequest& request,
                                         JobManager::Sink sink, uint64_t* token);

 private:
  struct Gathered {
    audit::AuditInput input;
    audit::AuditOptions options;
    std::map<std::string, Provider*> by_project;  // project id -> its provider
    v1::AuditResponse partial;                    // sources, known workspaces, notices, notes
  };
  // `resolve_waiting`: resolve .env targets even when a provider must wait
  // (the prune); else only from what is cached (the audit).
  absl::StatusOr<Gathered> Gather(const v1::AuditRequest& request, bool refresh,
                                  bool resolve_waiting);
  // CLOSED-PR: the open pull requests of `github_repository`, fetched when
  // `refresh` (GitHub is asked once per audit, not once per branch), else
  // from the last fetch, so that a plain audit makes no network call.
  void CheckPullRequests(const common::Config& config,
                         const std::map<std::string, std::string>& credentials, bool refresh,
                         Gathered& g);
  static v1::AuditResponse ToProto(const audit::AuditReport& report, v1::AuditResponse partial);

  WorkspaceResolver* const resolver_;
  ProviderRegistry* const providers_;

  std::mutex pulls_mu_;  // guards open_pulls_ only, never held over a call
  // The last fetch's open pull requests, by owner/name.
  std::map<std::string, std::shared_ptr<const std::set<int>>> open_pulls_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_AUDIT_TASK_H_
