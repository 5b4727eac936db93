#include "daemon/external/github.h"

#include <ctime>

#include "common/strings.h"
#include "daemon/http/http_transport.h"

namespace ds::daemon::external {
namespace {

// The REST API version ds speaks; the one that answers a dispatch with the
// run's details when asked (return_run_details).
constexpr std::string_view kApiVersion = "2026-03-10";

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string GitHubApiUrl(const Env& env) {
  auto it = env.find("GITHUB_API_URL");
  std::string url = it == env.end() || it->second.empty() ? "https://api.github.com" : it->second;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

http::ClientOptions GitHubClientOptions() {
  http::ClientOptions o;
  o.retry.max_attempts = 5;
  // A primary limit may reset up to an hour away; ds waits up to 3 minutes
  // and otherwise reports when it resets.
  o.retry.max_total = std::chrono::milliseconds(180000);
  o.retry.backoff_base = std::chrono::milliseconds(1000);
  o.retry.backoff_cap = std::chrono::milliseconds(30000);
  o.retry.retry_statuses = {500, 502, 503, 504};
  o.advisor = [](const http::HttpResponse& r, std::chrono::system_clock::time_point now) {
    std::optional<std::chrono::milliseconds> wait = GitHubRateLimitWait(r, now);
    return http::RetryAdvice{wait.has_value(), wait};
  };
  // GitHub asks for no more than one content-creating request a second and
  // serial requests; polling a run every few seconds stays far below.
  o.pacing.min_spacing = std::chrono::milliseconds(1000);
  return o;
}

http::ClientOptions GitHubClient::ForDispatch(http::ClientOptions o) {
  o.retry.retry_statuses.clear();
  return o;
}

GitHubClient::GitHubClient(GitHubOptions options, std::shared_ptr<http::HttpTransport> transport)
    : options_(std::move(options)),
      client_(options_.client, transport),
      dispatch_client_(ForDispatch(options_.client), transport) {}

absl::StatusOr<http::HttpResponse> GitHubClient::Call(std::string_view what, std::string method,
                                                      std::string path, std::string body,
                                                      http::Client& client) {
  http::HttpRequest req;
  req.method = std::move(method);
  req.url = StrCat(options_.api_url, path);
  req.headers = {{"Authorization", StrCat("Bearer ", options_.token)},
                 {"Accept", "application/vnd.github+json"},
                 {"X-GitHub-Api-Version", std::string(kApiVersion)}};
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.body = std::move(body);
  req.timeout = options_.request_timeout;
  // A dispatch (a POST) is not resent after a broken connection: it could
  // start a second run.
  absl::StatusOr<http::Reply> reply = client.Send(std::move(req));
  if (!reply.ok()) {
    return absl::UnavailableError(StrCat("GitHub ", what, ": ", reply.status().message(),
                                         "; check the network, or GITHUB_API_URL"));
  }
  const http::HttpResponse& r = reply->response;
  if (r.status >= 200 && r.status < 300) return r;
  const std::string message = GitHubErrorMessage(r.body);
  const std::string detail = StrCat("HTTP ", r.status, message.empty() ? "" : ": ", message);
  if (std::optional<std::chrono::milliseconds> wait =
          GitHubRateLimitWait(r, std::chrono::system_clock::now())) {
    return absl::ResourceExhaustedError(StrCat("GitHub ", what, ": rate limited (", detail,
                                               "); it resets in about ",
                                               (wait->count() + 999) / 1000, " s; try again then"));
  }
  if (r.status == 401) {
    return absl::PermissionDeniedError(
        StrCat("GitHub refused the token for ", what, " (", detail,
               "); set GITHUB_TOKEN to a valid token, or run `gh auth login`"));
  }
  if (r.status == 403) {
    return absl::PermissionDeniedError(
        StrCat("GitHub ", what, " not allowed (", detail,
               "); the token needs the actions:write permission on the repository"));
  }
  if (r.status == 404) {
    return absl::NotFoundError(StrCat("GitHub ", what, ": not found (", detail, ")"));
  }
  if (r.status == 422) {
    return absl::InvalidArgumentError(
        StrCat("GitHub ", what, " refused the request (", detail, ")"));
  }
  return absl::UnavailableError(
      StrCat("GitHub ", what, " failed (", detail, ", ", reply->Effort(), ")"));
}

absl::StatusOr<DispatchResult> GitHubClient::Dispatch(
    const std::string& repository, const std::string& workflow, const std::string& ref,
    const std::map<std::string, std::string>& inputs) {
  std::string body = StrCat("{\"ref\":", JsonQuote(ref), ",\"inputs\":{");
  bool first = true;
  for (const auto& [k, v] : inputs) {
    StrAppend(&body, first ? "" : ",", JsonQuote(k), ":", JsonQuote(v));
    first = false;
  }
  body += "},\"return_run_details\":true}";
  absl::StatusOr<http::HttpResponse> r = Call(
      StrCat("dispatch of ", workflow), "POST",
      StrCat("/repos/", repository, "/actions/workflows/", PercentEncode(workflow), "/dispatches"),
      std::move(body), dispatch_client_);
  if (!r.ok()) {
    if (absl::IsNotFound(r.status())) {
      return absl::NotFoundError(StrCat(
          "workflow ", workflow, " not found in ", repository,
          " (or the token cannot see it); check github_repository and refresh_staging_workflow, "
          "and that the workflow is on the default branch"));
    }
    if (absl::IsInvalidArgument(r.status())) {
      return absl::InvalidArgumentError(
          StrCat(r.status().message(),
                 "; the workflow must declare `on: workflow_dispatch` with the "
                 "inputs organization and dispatch_id, and ref ",
                 ref, " must exist"));
    }
    return r.status();
  }
  if (r->status == 204 || r->body.empty()) return DispatchResult{};
  return ParseDispatchResult(r->body);
}

absl::StatusOr<std::optional<WorkflowRun>> GitHubClient::FindRun(
    const std::string& repository, const std::string& workflow, const std::string& dispatch_id,
    std::chrono::system_clock::time_point created_after) {
  // Runs of this workflow started by a dispatch since just before ours; the
  // dispatch id in the name tells ours from a colleague's at the same time.
  absl::StatusOr<http::HttpResponse> r =
      Call("list of runs", "GET",
           StrCat("/repos/", repository, "/actions/workflows/", PercentEncode(workflow),
                  "/runs?event=workflow_dispatch&per_page=50&created=",
                  PercentEncode(StrCat(">=", Rfc3339(created_after - std::chrono::minutes(1))))),
           "", client_);
  if (!r.ok()) return r.status();
  absl::StatusOr<std::vector<WorkflowRun>> runs = ParseWorkflowRunsPage(r->body);
  if (!runs.ok()) return runs.status();
  for (WorkflowRun& run : *runs) {
    if (run.name.find(dispatch_id) != std::string::npos) return std::move(run);
  }
  return std::nullopt;
}

absl::StatusOr<WorkflowRun> GitHubClient::GetRun(const std::string& repository, int64_t run_id) {
  absl::StatusOr<http::HttpResponse> r =
      Call("run", "GET", StrCat("/repos/", repository, "/actions/runs/", run_id), "", client_);
  if (!r.ok()) return r.status();
  return ParseWorkflowRun(r->body);
}

absl::StatusOr<std::vector<WorkflowJob>> GitHubClient::ListJobs(const std::string& repository,
                                                                int64_t run_id) {
  absl::StatusOr<http::HttpResponse> r = Call(
      "run's jobs", "GET",
      StrCat("/repos/", repository, "/actions/runs/", run_id, "/jobs?per_page=100"), "", client_);
  if (!r.ok()) return r.status();
  return ParseWorkflowJobs(r->body);
}

std::unique_ptr<GitHubClient> NewGitHubClient(std::string api_url, std::string token) {
  GitHubOptions o;
  o.api_url = std::move(api_url);
  o.token = std::move(token);
  return std::make_unique<GitHubClient>(std::move(o), http::NewCurlTransport());
}

absl::StatusOr<std::set<int>> GitHubClient::ListOpenPullRequests(const std::string& repository) {
  constexpr int kPerPage = 100;
  // 10,000 open pull requests is far beyond any repository that names its
  // CI branches after them; stop rather than page for minutes.
  constexpr int kMaxPages = 100;
  std::set<int> open;
  for (int page = 1; page <= kMaxPages; ++page) {
    absl::StatusOr<http::HttpResponse> r =
        Call("list of pull requests", "GET",
             StrCat("/repos/", repository, "/pulls?state=open&per_page=", kPerPage, "&page=", page),
             "", client_);
    if (!r.ok()) return r.status();
    absl::StatusOr<std::vector<int>> numbers = ParsePullRequestNumbers(r->body);
    if (!numbers.ok()) return numbers.status();
    open.insert(numbers->begin(), numbers->end());
    if (static_cast<int>(numbers->size()) < kPerPage) return open;
  }
  return absl::ResourceExhaustedError(StrCat(repository, " has more than ", kMaxPages * kPerPage,
                                             " open pull requests; CLOSED-PR is not checked"));
}

}  // namespace ds::daemon::external
