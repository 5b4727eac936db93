#include "daemon/tasks/refresh_staging_task.h"

#include <memory>

#include "common/strings.h"
#include "daemon/external/refresh_staging.h"

namespace ds::daemon {

absl::StatusOr<std::string> RefreshStagingTask::Start(const v1::RefreshStagingRequest& request,
                                                      JobManager::Sink sink, uint64_t* token) {
  std::shared_ptr<const WorkspaceResolver::DotenvEntries> env;
  absl::StatusOr<common::Config> config = resolver_->LoadConfig(request.workspace(), nullptr, &env);
  if (!config.ok()) return config.status();
  const auto& caller = request.workspace().overrides().environment();
  std::map<std::string, std::string> credentials = common::ExternalCredentials(
      {caller.begin(), caller.end()}, env ? *env : WorkspaceResolver::DotenvEntries{});
  absl::StatusOr<external::RefreshStagingSpec> spec = external::RefreshStagingSpecFrom(
      *config, credentials, request.organization(), request.ref(), !request.no_wait());
  if (!spec.ok()) return spec.status();
  if (request.poll_seconds() > 0) {
    spec->poll_interval =
        std::chrono::milliseconds(static_cast<int64_t>(request.poll_seconds() * 1000));
  }

  JobSpec job;
  job.kind = "refresh-staging";
  job.target_key = StrCat("github:", spec->repository, ":", spec->workflow);
  job.target_redacted = StrCat(spec->repository, " ", spec->workflow, " @ ", spec->ref);
  job.workspace_dir = request.workspace().workspace_dir();
  job.started_by = request.started_by();
  job.description = StrCat("refresh staging with ", spec->organization);

  auto shared = std::make_shared<const external::RefreshStagingSpec>(std::move(*spec));
  const ProviderRegistry* providers = providers_;
  auto cfg = std::make_shared<const common::Config>(std::move(*config));
  return jobs_->Start(
      std::move(job),
      [shared, providers, cfg](JobContext& ctx) {
        std::unique_ptr<external::GitHubClient> github = external::NewGitHubClient(*shared);
        absl::StatusOr<external::RefreshStagingResult> r =
            external::RunRefreshStaging(*shared, *github, ctx);
        JobOutcome out;
        if (!r.ok()) {
          out.state =
              absl::IsCancelled(r.status()) ? v1::JOB_STATE_CANCELLED : v1::JOB_STATE_FAILED;
          out.exit_code = absl::IsCancelled(r.status()) ? 130 : 1;
          out.error = std::string(r.status().message());
          return out;
        }
        if (!shared->wait) {
          out.summary = StrCat("dispatched: ", r->html_url);
          return out;
        }
        // Staging's main has new data: load the project's branches again so
        // that dsd's cache (sizes, activity) and its watchers see it. The run
        // itself succeeded, so a failure here is a warning, not the job's.
        ctx.BeginStep("refresh branches");
        absl::StatusOr<Provider*> p = providers->ForConfig(*cfg);
        absl::Status refreshed = p.ok() ? (*p)->RefreshBranches(cfg->Get("project")) : p.status();
        if (refreshed.ok()) {
          ctx.Log("info",
                  StrCat("refreshed the branch list of ", (*p)->Name(),
                         cfg->Get("project").empty() ? "" : " project ", cfg->Get("project")));
        } else {
          ctx.Log("warning", StrCat("could not refresh the branch list: ", refreshed.message()));
        }
        out.summary = StrCat("staging refreshed: ", r->html_url);
        return out;
      },
      std::move(sink), token);
}

}  // namespace ds::daemon
