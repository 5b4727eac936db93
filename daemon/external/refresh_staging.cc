#include "daemon/external/refresh_staging.h"

#include <condition_variable>
#include <mutex>
#include <random>

#include "absl/strings/str_format.h"
#include "common/strings.h"

namespace ds::daemon::external {
namespace {

std::string RandomDispatchId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("ds-%016x", rng());
}

// Waits `d` or until the job is cancelled: the job's interrupter wakes it.
class InterruptibleWait {
 public:
  explicit InterruptibleWait(JobContext& job) : job_(job) {
    job_.SetInterrupter([this] {
      std::lock_guard lock(mu_);
      woken_ = true;
      cv_.notify_all();
    });
  }
  ~InterruptibleWait() { job_.SetInterrupter(nullptr); }
  void operator()(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [this] { return woken_ || job_.cancelled(); });
  }

 private:
  JobContext& job_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
};

std::string Describe(const WorkflowJob& j) {
  std::string current;
  for (const WorkflowStep& s : j.steps) {
    if (s.status == "in_progress") current = s.name;
  }
  return current.empty() ? StrCat(j.name, ": ", j.status)
                         : StrCat(j.name, ": ", j.status, ", step '", current, "'");
}

}  // namespace

absl::StatusOr<RefreshStagingSpec> RefreshStagingSpecFrom(const common::Config& config,
                                                          const Env& credentials,
                                                          const std::string& organization,
                                                          const std::string& ref, bool wait) {
  RefreshStagingSpec spec;
  spec.repository = config.Get("github_repository");
  if (spec.repository.empty()) {
    return absl::FailedPreconditionError(
        "github_repository is not set: set it (owner/name, in ds.toml or DS_GITHUB_REPOSITORY) to "
        "the repository whose workflow refreshes staging");
  }
  if (std::vector<std::string_view> parts = Split(spec.repository, '/');
      parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(
        StrCat("github_repository '", spec.repository, "' is not owner/name (e.g. acme/app)"));
  }
  spec.workflow = config.Get("refresh_staging_workflow");
  if (spec.workflow.empty()) {
    return absl::FailedPreconditionError(
        "refresh_staging_workflow is not set: name the workflow file (refresh-staging.yml) or id");
  }
  spec.ref = ref.empty() ? config.Get("refresh_staging_ref") : ref;
  if (spec.ref.empty()) {
    return absl::FailedPreconditionError(
        "no ref to run the workflow on: pass --ref or set refresh_staging_ref");
  }
  spec.organization = organization.empty() ? config.Get("demo_organization") : organization;
  if (spec.organization.empty()) {
    return absl::FailedPreconditionError(
        "no organization to copy: pass -o ORG or set demo_organization");
  }
  auto token = credentials.find("GITHUB_TOKEN");
  if (token == credentials.end() || token->second.empty()) {
    return absl::FailedPreconditionError(
        "no GitHub token: set GITHUB_TOKEN (a token that may run the repository's workflows) or "
        "log in with `gh auth login`, whose token ds uses when GITHUB_TOKEN is unset");
  }
  spec.token = token->second;
  spec.api_url = GitHubApiUrl(credentials);
  spec.wait = wait;
  return spec;
}

std::unique_ptr<GitHubClient> NewGitHubClient(const RefreshStagingSpec& spec) {
  return NewGitHubClient(spec.api_url, spec.token);
}

absl::StatusOr<RefreshStagingResult> RunRefreshStaging(const RefreshStagingSpec& spec,
                                                       GitHubClient& github, JobContext& job,
                                                       RefreshStagingDeps deps) {
  std::optional<InterruptibleWait> interruptible;
  if (!deps.wait) {
    interruptible.emplace(job);
    deps.wait = [&](std::chrono::milliseconds d) { (*interruptible)(d); };
  }
  if (!deps.now) deps.now = [] { return std::chrono::system_clock::now(); };
  if (!deps.new_dispatch_id) deps.new_dispatch_id = RandomDispatchId;

  const std::string dispatch_id = deps.new_dispatch_id();
  const auto dispatched_at = deps.now();
  job.BeginStep("dispatch");
  absl::StatusOr<DispatchResult> d =
      github.Dispatch(spec.repository, spec.workflow, spec.ref,
                      {{"organization", spec.organization}, {"dispatch_id", dispatch_id}});
  if (!d.ok()) return d.status();
  RefreshStagingResult result;
  result.run_id = d->run_id;
  result.html_url = d->html_url;

  if (result.run_id == 0) {
    // 204: find the run by the id in its name; it is listed within seconds.
    job.BeginStep("find run");
    job.Log("info", StrCat("GitHub accepted the dispatch without the run's details; looking for "
                           "the run named with ",
                           dispatch_id));
    const auto give_up = deps.now() + spec.find_timeout;
    while (true) {
      if (job.cancelled()) return absl::CancelledError("cancelled while looking for the run");
      absl::StatusOr<std::optional<WorkflowRun>> run =
          github.FindRun(spec.repository, spec.workflow, dispatch_id, dispatched_at);
      if (!run.ok()) return run.status();
      if (*run) {
        result.run_id = (*run)->id;
        result.html_url = (*run)->html_url;
        break;
      }
      if (deps.now() >= give_up) {
        return absl::DeadlineExceededError(
            StrCat("the workflow was dispatched but no run named with ", dispatch_id,
                   " appeared within ", spec.find_timeout.count() / 1000,
                   " s; does the workflow's run-name show "
                   "inputs.dispatch_id? Look at ",
                   spec.repository, "'s Actions page"));
      }
      deps.wait(spec.poll_interval);
    }
  }
  // The run's page first: whatever happens next, the user can look.
  job.Log("info", StrCat("run: ", result.html_url));
  job.Progress(0, 0, "run", StrCat("dispatched: ", result.html_url));
  if (!spec.wait) {
    result.status = "dispatched";
    return result;
  }

  job.BeginStep("follow run");
  std::string last_status;
  std::map<std::string, std::string> last_job_state;
  while (true) {
    if (job.cancelled()) {
      return absl::CancelledError(
          StrCat("stopped following the run (it goes on in GitHub): ", result.html_url));
    }
    absl::StatusOr<WorkflowRun> run = github.GetRun(spec.repository, result.run_id);
    if (!run.ok()) return run.status();
    result.status = run->status;
    result.conclusion = run->conclusion;
    if (!run->html_url.empty()) result.html_url = run->html_url;
    if (run->status != last_status) {
      job.Log("info", StrCat("run ", run->status,
                             run->conclusion.empty() ? "" : StrCat(": ", run->conclusion)));
      last_status = run->status;
    }
    if (run->status != "queued") {
      absl::StatusOr<std::vector<WorkflowJob>> jobs = github.ListJobs(spec.repository, run->id);
      if (!jobs.ok()) return jobs.status();
      int steps_done = 0, steps_total = 0;
      std::string current;
      for (const WorkflowJob& j : *jobs) {
        for (const WorkflowStep& s : j.steps) {
          ++steps_total;
          if (s.status == "completed") ++steps_done;
        }
        std::string state = StrCat(j.status, " ", j.conclusion);
        if (last_job_state[j.name] != state) {
          job.Log("info", StrCat("job ", j.name, ": ", j.status,
                                 j.conclusion.empty() ? "" : StrCat(" (", j.conclusion, ")")));
          last_job_state[j.name] = state;
        }
        if (j.status == "in_progress") current = Describe(j);
      }
      job.Progress(steps_done, steps_total, "run",
                   current.empty() ? run->status : StrCat(run->status, ": ", current));
    } else {
      job.Progress(0, 0, "run", "queued");
    }
    if (run->status == "completed") break;
    deps.wait(spec.poll_interval);
  }
  if (result.conclusion != "success") {
    return absl::AbortedError(
        StrCat("the refresh-staging run ended ",
               result.conclusion.empty() ? "without a conclusion" : result.conclusion, ": ",
               result.html_url));
  }
  return result;
}

}  // namespace ds::daemon::external
