#include "daemon/external/github_answers.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "common/strings.h"
#include "daemon/external/json_reader.h"

namespace ds::daemon::external {
namespace {

using simdjson::dom::element;

// What GitHub's docs ask for when a secondary limit gives no time.
constexpr std::chrono::seconds kSecondaryLimitWait{60};

std::optional<int64_t> HeaderNumber(const http::HttpResponse& r, const std::string& name) {
  auto it = r.headers.find(name);
  if (it == r.headers.end()) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

absl::StatusOr<WorkflowRun> RunFrom(element obj) {
  constexpr std::string_view kWhat = "GitHub workflow run";
  WorkflowRun run;
  if (absl::Status s = ReadRequired(obj, "id", kWhat, &run.id); !s.ok()) return s;
  for (auto [key, out] :
       {std::pair{"name", &run.name}, std::pair{"status", &run.status},
        std::pair{"conclusion", &run.conclusion}, std::pair{"html_url", &run.html_url}}) {
    if (absl::Status s = ReadOptional(obj, key, kWhat, out); !s.ok()) return s;
  }
  // display_title carries run-name too; older servers fill only one of them.
  if (absl::StatusOr<std::optional<std::string>> t = OptString(obj, "display_title");
      t.ok() && *t && !run.name.empty() && run.name.find(**t) == std::string::npos) {
    run.name = StrCat(run.name, " ", **t);
  } else if (t.ok() && *t && run.name.empty()) {
    run.name = **t;
  }
  absl::StatusOr<std::optional<int64_t>> attempt = OptInt(obj, "run_attempt");
  if (attempt.ok() && *attempt) run.run_attempt = **attempt;
  return run;
}

}  // namespace

std::string GitHubErrorMessage(std::string_view body) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(body, "GitHub");
  if (!doc.ok()) return {};
  absl::StatusOr<std::optional<std::string>> m = OptString(doc->root(), "message");
  return m.ok() && *m ? **m : std::string();
}

std::optional<std::chrono::milliseconds> GitHubRateLimitWait(
    const http::HttpResponse& r, std::chrono::system_clock::time_point now) {
  if (r.status != 403 && r.status != 429) return std::nullopt;
  // Both headers are clamped in seconds, before any conversion: a value
  // near INT64_MAX would overflow the milliseconds (retry-after) or the
  // clock's nanoseconds (x-ratelimit-reset); fuzz_github found the latter.
  constexpr int64_t kMaxSeconds = kGitHubMaxRateLimitWait.count();
  if (std::optional<int64_t> s = HeaderNumber(r, "retry-after")) {
    return std::chrono::seconds(std::clamp<int64_t>(*s, 0, kMaxSeconds));
  }
  if (HeaderNumber(r, "x-ratelimit-remaining") == 0) {
    if (std::optional<int64_t> reset = HeaderNumber(r, "x-ratelimit-reset")) {
      const int64_t now_s =
          std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
      const int64_t reset_s = std::clamp<int64_t>(*reset, now_s, now_s + kMaxSeconds);
      auto wait = std::chrono::system_clock::from_time_t(reset_s) - now;
      return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(wait),
                      std::chrono::milliseconds(0)) +
             std::chrono::milliseconds(1000);  // the reset second itself
    }
    return kSecondaryLimitWait;
  }
  if (r.status == 429 ||
      AsciiToLower(GitHubErrorMessage(r.body)).find("rate limit") != std::string::npos) {
    return kSecondaryLimitWait;
  }
  return std::nullopt;  // a 403 for want of permission
}

absl::StatusOr<DispatchResult> ParseDispatchResult(std::string_view json) {
  constexpr std::string_view kWhat = "GitHub dispatch";
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(json, kWhat);
  if (!doc.ok()) return doc.status();
  DispatchResult out;
  if (absl::Status s = ReadRequired(doc->root(), "workflow_run_id", kWhat, &out.run_id); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::optional<std::string>> url = OptString(doc->root(), "html_url");
  if (url.ok() && *url) out.html_url = **url;
  return out;
}

absl::StatusOr<WorkflowRun> ParseWorkflowRun(std::string_view json) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(json, "GitHub workflow run");
  if (!doc.ok()) return doc.status();
  return RunFrom(doc->root());
}

absl::StatusOr<std::vector<WorkflowRun>> ParseWorkflowRunsPage(std::string_view json) {
  constexpr std::string_view kWhat = "GitHub workflow runs";
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(json, kWhat);
  if (!doc.ok()) return doc.status();
  simdjson::dom::array runs;
  if (doc->root().at_key("workflow_runs").get(runs) != simdjson::SUCCESS) {
    return absl::DataLossError(StrCat(kWhat, ": no workflow_runs array"));
  }
  std::vector<WorkflowRun> out;
  for (element obj : runs) {
    absl::StatusOr<WorkflowRun> run = RunFrom(obj);
    if (!run.ok()) return run.status();
    out.push_back(std::move(*run));
  }
  return out;
}

absl::StatusOr<std::vector<WorkflowJob>> ParseWorkflowJobs(std::string_view json) {
  constexpr std::string_view kWhat = "GitHub workflow jobs";
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(json, kWhat);
  if (!doc.ok()) return doc.status();
  simdjson::dom::array jobs;
  if (doc->root().at_key("jobs").get(jobs) != simdjson::SUCCESS) {
    return absl::DataLossError(StrCat(kWhat, ": no jobs array"));
  }
  std::vector<WorkflowJob> out;
  for (element j : jobs) {
    WorkflowJob job;
    for (auto [key, field] : {std::pair{"name", &job.name}, std::pair{"status", &job.status},
                              std::pair{"conclusion", &job.conclusion}}) {
      if (absl::Status s = ReadOptional(j, key, kWhat, field); !s.ok()) return s;
    }
    simdjson::dom::array steps;
    if (j.at_key("steps").get(steps) == simdjson::SUCCESS) {
      for (element s : steps) {
        WorkflowStep step;
        for (auto [key, field] : {std::pair{"name", &step.name}, std::pair{"status", &step.status},
                                  std::pair{"conclusion", &step.conclusion}}) {
          if (absl::Status r = ReadOptional(s, key, kWhat, field); !r.ok()) return r;
        }
        job.steps.push_back(std::move(step));
      }
    }
    out.push_back(std::move(job));
  }
  return out;
}

absl::StatusOr<std::vector<int>> ParsePullRequestNumbers(std::string_view json) {
  constexpr std::string_view kWhat = "GitHub pull requests";
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(json, kWhat);
  if (!doc.ok()) return doc.status();
  simdjson::dom::array pulls;
  if (doc->root().get(pulls) != simdjson::SUCCESS) {
    return absl::DataLossError(StrCat(kWhat, ": not an array"));
  }
  std::vector<int> out;
  for (element obj : pulls) {
    absl::StatusOr<int64_t> n = ReqInt(obj, "number", kWhat);
    if (!n.ok()) return n.status();
    // Cast as it came, 2^32 + 5 would read as pull request 5 and keep a
    // closed one's branch "open" (fuzz_github's finding).
    if (*n < 1 || *n > std::numeric_limits<int>::max()) {
      return absl::DataLossError(StrCat(kWhat, ": ", *n, " is not a pull request number"));
    }
    out.push_back(static_cast<int>(*n));
  }
  return out;
}

}  // namespace ds::daemon::external
