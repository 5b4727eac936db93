// GitHub's answers (daemon/external/github_answers): the JSON bodies of the
// Actions and pulls calls, and the rate-limit headers. Properties:
//   - every body parser fails only with kDataLoss, as github_answers.h says;
//   - what parses re-serialises to JSON that parses back to the same value
//     (no field lost, no escape mangled);
//   - pull request numbers are positive, never a number wrapped round;
//   - GitHubRateLimitWait is nullopt unless the status is 403 or 429, and
//     otherwise a wait from 0 to kGitHubMaxRateLimitWait (plus the reset
//     second), whatever the headers say.
// Input: the whole of it is the body every parser reads. For the rate
// limit, FuzzedDataProvider splits it (docs/fuzzing.md): from the end a
// status choice and one presence byte per header; from the front the
// values of retry-after, x-ratelimit-remaining and x-ratelimit-reset, then
// the body.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/strings.h"
#include "daemon/external/github_answers.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ds::JsonQuote;
using ds::StrAppend;
using ds::StrCat;
using ds::fuzz::CheckError;
using ds::fuzz::Fail;
using ds::fuzz::RoundTrip;
using namespace ds::daemon::external;  // NOLINT: the parsers under test

std::string RunJson(const WorkflowRun& r) {
  return StrCat("{\"id\":", r.id, ",\"name\":", JsonQuote(r.name),
                ",\"status\":", JsonQuote(r.status), ",\"conclusion\":", JsonQuote(r.conclusion),
                ",\"html_url\":", JsonQuote(r.html_url), ",\"run_attempt\":", r.run_attempt, "}");
}

std::string RunsJson(const std::vector<WorkflowRun>& runs) {
  std::string out = "{\"workflow_runs\":[";
  for (size_t i = 0; i < runs.size(); ++i) StrAppend(&out, i ? "," : "", RunJson(runs[i]));
  return out + "]}";
}

std::string StepJson(const WorkflowStep& s) {
  return StrCat("{\"name\":", JsonQuote(s.name), ",\"status\":", JsonQuote(s.status),
                ",\"conclusion\":", JsonQuote(s.conclusion), "}");
}

std::string JobsJson(const std::vector<WorkflowJob>& jobs) {
  std::string out = "{\"jobs\":[";
  for (size_t i = 0; i < jobs.size(); ++i) {
    const WorkflowJob& j = jobs[i];
    StrAppend(&out, i ? "," : "", "{\"name\":", JsonQuote(j.name),
              ",\"status\":", JsonQuote(j.status), ",\"conclusion\":", JsonQuote(j.conclusion),
              ",\"steps\":[");
    for (size_t k = 0; k < j.steps.size(); ++k) StrAppend(&out, k ? "," : "", StepJson(j.steps[k]));
    out += "]}";
  }
  return out + "]}";
}

std::string PullsJson(const std::vector<int>& numbers) {
  std::string out = "[";
  for (size_t i = 0; i < numbers.size(); ++i)
    StrAppend(&out, i ? "," : "", "{\"number\":", numbers[i], "}");
  return out + "]";
}

std::string DispatchJson(const DispatchResult& d) {
  return StrCat("{\"workflow_run_id\":", d.run_id, ",\"html_url\":", JsonQuote(d.html_url), "}");
}

void CheckRateLimit(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  ds::daemon::http::HttpResponse r;
  r.status = in.PickValueInArray({403, 429, 200, 500});
  for (const char* name : {"retry-after", "x-ratelimit-remaining", "x-ratelimit-reset"}) {
    if (in.ConsumeBool()) r.headers[name] = in.ConsumeRandomLengthString(32);
  }
  r.body = in.ConsumeRemainingBytesAsString();
  // 2026-01-01T00:00:00Z: a fixed clock keeps the run repeatable.
  const auto now = std::chrono::system_clock::from_time_t(1767225600);
  std::optional<std::chrono::milliseconds> wait = GitHubRateLimitWait(r, now);
  if (r.status != 403 && r.status != 429) {
    if (wait) Fail("a rate-limit wait for a status that is no rate limit", StrCat(r.status));
    return;
  }
  if (wait && (*wait < std::chrono::milliseconds(0) ||
               *wait > kGitHubMaxRateLimitWait + std::chrono::seconds(1))) {
    Fail("a rate-limit wait out of range", StrCat(wait->count(), " ms"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  RoundTrip<WorkflowRun>("ParseWorkflowRun", json, ParseWorkflowRun, RunJson);
  RoundTrip<std::vector<WorkflowRun>>("ParseWorkflowRunsPage", json, ParseWorkflowRunsPage,
                                      RunsJson);
  RoundTrip<std::vector<WorkflowJob>>("ParseWorkflowJobs", json, ParseWorkflowJobs, JobsJson);
  RoundTrip<DispatchResult>("ParseDispatchResult", json, ParseDispatchResult, DispatchJson);
  absl::StatusOr<std::vector<int>> pulls = ParsePullRequestNumbers(json);
  CheckError("ParsePullRequestNumbers", pulls);
  if (pulls.ok()) {
    for (int n : *pulls) {
      if (n <= 0) Fail("ParsePullRequestNumbers returned a number that is not positive", StrCat(n));
    }
    RoundTrip<std::vector<int>>("ParsePullRequestNumbers", json, ParsePullRequestNumbers,
                                PullsJson);
  }
  (void)GitHubErrorMessage(json);
  CheckRateLimit(data, size);
  return 0;
}
