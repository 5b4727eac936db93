// GitHub Actions, the calls `ds db refresh-staging` makes: dispatch a
// workflow (asking for the run's details), find a run by the unique id a
// dispatch passed when the server answers 204, read a run and its jobs.
// Rate limits are honoured: Retry-After, else x-ratelimit-reset when the
// primary limit is spent, else a minute for a secondary limit.
#ifndef DS_DAEMON_EXTERNAL_GITHUB_H_
#define DS_DAEMON_EXTERNAL_GITHUB_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/external/aws_config.h"
#include "daemon/external/github_answers.h"
#include "daemon/http/http_client.h"

namespace ds::daemon::external {

// GITHUB_API_URL, else https://api.github.com; no trailing slash.
std::string GitHubApiUrl(const Env& env);

http::ClientOptions GitHubClientOptions();

struct GitHubOptions {
  std::string api_url = "https://api.github.com";
  std::string token;  // secret
  http::ClientOptions client = GitHubClientOptions();
  std::chrono::milliseconds request_timeout{30000};
};

class GitHubClient {
 public:
  GitHubClient(GitHubOptions options, std::shared_ptr<http::HttpTransport> transport);

  // `repository` is owner/name; `workflow` a file name or numeric id.
  absl::StatusOr<DispatchResult> Dispatch(const std::string& repository,
                                          const std::string& workflow, const std::string& ref,
                                          const std::map<std::string, std::string>& inputs);
  // The workflow_dispatch run created at or after `created_after` whose name
  // contains `dispatch_id`; nullopt while it is not listed yet.
  absl::StatusOr<std::optional<WorkflowRun>> FindRun(
      const std::string& repository, const std::string& workflow, const std::string& dispatch_id,
      std::chrono::system_clock::time_point created_after);
  absl::StatusOr<WorkflowRun> GetRun(const std::string& repository, int64_t run_id);
  absl::StatusOr<std::vector<WorkflowJob>> ListJobs(const std::string& repository, int64_t run_id);
  // The numbers of the repository's open pull requests, every page (the
  // audit's CLOSED-PR check: one listing instead of a call per branch).
  absl::StatusOr<std::set<int>> ListOpenPullRequests(const std::string& repository);

  int64_t requests_sent() const {
    return client_.requests_sent() + dispatch_client_.requests_sent();
  }

 private:
  absl::StatusOr<http::HttpResponse> Call(std::string_view what, std::string method,
                                          std::string path, std::string body, http::Client& client);
  static http::ClientOptions ForDispatch(http::ClientOptions o);

  const GitHubOptions options_;
  http::Client client_;
  // Dispatches only: a 5xx may come after GitHub started the run, so it is
  // not resent (rate-limit answers, which start nothing, still are).
  http::Client dispatch_client_;
};

// A client over libcurl for GITHUB_API_URL's value (or the default) and a
// token.
std::unique_ptr<GitHubClient> NewGitHubClient(std::string api_url, std::string token);

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_GITHUB_H_
