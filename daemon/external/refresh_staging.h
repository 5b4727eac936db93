// `ds db refresh-staging`: dispatch the repository's refresh workflow (which
// copies an organization from production into staging's main branch) and
// follow its run as a job: queued -> in_progress -> completed, with the
// run's jobs and their steps as progress and the run's page first.
#ifndef DS_DAEMON_EXTERNAL_REFRESH_STAGING_H_
#define DS_DAEMON_EXTERNAL_REFRESH_STAGING_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "daemon/external/github.h"
#include "daemon/jobs/jobs.h"

namespace ds::daemon::external {

// The inputs ds sends; the workflow must declare exactly these
// (docs/refresh-staging.yml does, and a test holds it to this list).
// `dispatch_id` is unique per dispatch and shown in the run's name, so that
// the run is found safely when the server answers 204.
inline const std::vector<std::string>& RefreshStagingInputs() {
  static const std::vector<std::string> kInputs = {"dispatch_id", "organization"};
  return kInputs;
}

struct RefreshStagingSpec {
  std::string repository;  // owner/name
  std::string workflow;    // file name or id
  std::string ref;
  std::string organization;
  bool wait = true;  // false: return once the run is known
  std::string api_url;
  std::string token;  // secret
  std::chrono::milliseconds poll_interval{5000};
  // How long to look for the run after a 204 before giving up.
  std::chrono::milliseconds find_timeout{120000};
};

// The spec from the workspace's settings and the command's flags (empty:
// the setting). Errors name the missing setting or variable and its use.
absl::StatusOr<RefreshStagingSpec> RefreshStagingSpecFrom(const common::Config& config,
                                                          const Env& credentials,
                                                          const std::string& organization,
                                                          const std::string& ref, bool wait);

struct RefreshStagingResult {
  int64_t run_id = 0;
  std::string html_url;
  std::string status;      // the last status seen
  std::string conclusion;  // set once completed
};

struct RefreshStagingDeps {
  // Waits between polls; returns early when the job is cancelled.
  // nullptr: a wait the job's interrupter ends.
  std::function<void(std::chrono::milliseconds)> wait;
  std::function<std::chrono::system_clock::time_point()> now;  // nullptr: the system clock
  std::function<std::string()> new_dispatch_id;                // nullptr: random
};

// A client for the spec's API URL and token, over libcurl.
std::unique_ptr<GitHubClient> NewGitHubClient(const RefreshStagingSpec& spec);

// Dispatches and (when spec.wait) follows the run to its end. A run that
// ends in anything but success is an error naming its conclusion and URL.
absl::StatusOr<RefreshStagingResult> RunRefreshStaging(const RefreshStagingSpec& spec,
                                                       GitHubClient& github, JobContext& job,
                                                       RefreshStagingDeps deps = {});

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_REFRESH_STAGING_H_
