// Reading GitHub's answers: the JSON bodies of the Actions and pulls calls
// and the rate-limit headers. Kept apart from the HTTP client (github.h) so
// that the fuzz target (tests/fuzz/fuzz_github) compiles them alone.
// Errors are kDataLoss, naming the answer and the field, never quoting the
// body.
#ifndef DS_DAEMON_EXTERNAL_GITHUB_ANSWERS_H_
#define DS_DAEMON_EXTERNAL_GITHUB_ANSWERS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/http/http_transport.h"

namespace ds::daemon::external {

struct DispatchResult {
  // Set when the server answered 200 with the run's details; empty after a
  // 204 (older servers), when the run must be found by its dispatch id.
  int64_t run_id = 0;
  std::string html_url;
};

struct WorkflowStep {
  std::string name;
  std::string status;
  std::string conclusion;
};

struct WorkflowJob {
  std::string name;
  std::string status;      // queued, in_progress, completed, ...
  std::string conclusion;  // success, failure, ... or empty
  std::vector<WorkflowStep> steps;
};

struct WorkflowRun {
  int64_t id = 0;
  std::string name;  // the run name (run-name), which shows the dispatch id
  std::string status;
  std::string conclusion;
  std::string html_url;
  int64_t run_attempt = 1;
};

// The longest wait GitHubRateLimitWait reports. A primary limit resets
// within the hour; a header asking for more is broken, and taking it as
// given could overflow the clock arithmetic.
inline constexpr std::chrono::seconds kGitHubMaxRateLimitWait{24 * 3600};

// The wait GitHub asks for in a rate-limited answer (403 or 429), at most
// kGitHubMaxRateLimitWait: nullopt when the answer is not a rate limit.
std::optional<std::chrono::milliseconds> GitHubRateLimitWait(
    const http::HttpResponse& response, std::chrono::system_clock::time_point now);

// The `message` of an error answer; empty when the body has none.
std::string GitHubErrorMessage(std::string_view body);

// The answer to a dispatch asked for the run's details.
absl::StatusOr<DispatchResult> ParseDispatchResult(std::string_view json);
absl::StatusOr<WorkflowRun> ParseWorkflowRun(std::string_view json);
// GET .../runs: the runs on the page, in order.
absl::StatusOr<std::vector<WorkflowRun>> ParseWorkflowRunsPage(std::string_view json);
absl::StatusOr<std::vector<WorkflowJob>> ParseWorkflowJobs(std::string_view json);
// One page of GET /repos/{owner}/{repo}/pulls: the numbers on it, each a
// positive int (anything else is an error, not a number wrapped round).
absl::StatusOr<std::vector<int>> ParsePullRequestNumbers(std::string_view json);

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_GITHUB_ANSWERS_H_
