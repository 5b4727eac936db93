#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/strings.h"
#include "daemon/external/refresh_staging.h"
#include "daemon/http/scripted_transport.h"
#include "daemon/jobs/recording_job_context.h"

namespace ds::daemon::external {
namespace {

using std::chrono::milliseconds;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRunUrl[] = "https://github.com/acme/app/actions/runs/42";

std::string RunJson(std::string status, std::string conclusion = "", std::string name = "") {
  return StrCat(R"({"id":42,"name":")", name, R"(","status":")", status, R"(","conclusion":)",
                conclusion.empty() ? "null" : JsonQuote(conclusion), R"(,"html_url":")", kRunUrl,
                R"(","run_attempt":1})");
}

std::string Jobs(std::string status, std::string step_status) {
  return StrCat(
      R"({"total_count":1,"jobs":[{"name":"copy-org","status":")", status,
      R"(","conclusion":null,"steps":[{"name":"Install ds","status":"completed","conclusion":"success","number":1},{"name":"Copy","status":")",
      step_status, R"(","conclusion":null,"number":2}]}]})");
}

class RefreshStagingTest : public ::testing::Test {
 protected:
  RefreshStagingTest() {
    http::ClientOptions client = GitHubClientOptions();
    client.clock = &clock_;
    client.pacing = {};
    github_ = std::make_unique<GitHubClient>(GitHubOptions{"http://gh.test", "ghp_secret", client},
                                             transport_);
    spec_.repository = "acme/app";
    spec_.workflow = "refresh-staging.yml";
    spec_.ref = "main";
    spec_.organization = "org_7";
    spec_.poll_interval = milliseconds(5000);
    spec_.find_timeout = milliseconds(20000);
    deps_.wait = [this](milliseconds d) { clock_.SleepFor(d); };
    deps_.now = [this] { return clock_.WallNow(); };
    deps_.new_dispatch_id = [] { return std::string("ds-0123456789abcdef"); };
  }
  absl::StatusOr<RefreshStagingResult> Go() {
    return RunRefreshStaging(spec_, *github_, job_, deps_);
  }
  std::vector<std::string> Urls() {
    std::vector<std::string> out;
    for (const auto& r : transport_->requests()) out.push_back(StrCat(r.method, " ", r.url));
    return out;
  }

  http::ManualClock clock_;
  std::shared_ptr<http::ScriptedTransport> transport_ = std::make_shared<http::ScriptedTransport>();
  std::unique_ptr<GitHubClient> github_;
  RefreshStagingSpec spec_;
  RefreshStagingDeps deps_;
  RecordingJobContext job_;
};

TEST_F(RefreshStagingTest, RunDetailsThenStatesToSuccess) {
  transport_->Add(
      200,
      StrCat(
          R"({"workflow_run_id":42,"run_url":"http://gh.test/repos/acme/app/actions/runs/42","html_url":")",
          kRunUrl, "\"}"));
  transport_->Add(200, RunJson("queued"));
  transport_->Add(200, RunJson("in_progress"));
  transport_->Add(200, Jobs("in_progress", "in_progress"));
  transport_->Add(200, RunJson("completed", "success"));
  transport_->Add(200, Jobs("completed", "completed"));
  absl::StatusOr<RefreshStagingResult> r = Go();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->run_id, 42);
  EXPECT_EQ(r->conclusion, "success");
  std::vector<http::HttpRequest> sent = transport_->requests();
  EXPECT_EQ(sent[0].url,
            "http://gh.test/repos/acme/app/actions/workflows/refresh-staging.yml/dispatches");
  EXPECT_EQ(
      sent[0].body,
      R"({"ref":"main","inputs":{"dispatch_id":"ds-0123456789abcdef","organization":"org_7"},"return_run_details":true})");
  std::map<std::string, std::string> headers(sent[0].headers.begin(), sent[0].headers.end());
  EXPECT_EQ(headers["Authorization"], "Bearer ghp_secret");
  EXPECT_EQ(headers["Accept"], "application/vnd.github+json");
  EXPECT_FALSE(headers["X-GitHub-Api-Version"].empty());
  EXPECT_EQ(sent[1].url, "http://gh.test/repos/acme/app/actions/runs/42");
  EXPECT_EQ(sent[3].url, "http://gh.test/repos/acme/app/actions/runs/42/jobs?per_page=100");
  std::vector<std::string> lines = job_.lines();
  // The run's page comes before any state.
  auto url_line = std::find(lines.begin(), lines.end(), StrCat("info: run: ", kRunUrl));
  auto queued = std::find(lines.begin(), lines.end(), "info: run queued");
  ASSERT_NE(url_line, lines.end());
  ASSERT_NE(queued, lines.end());
  EXPECT_LT(url_line, queued);
  EXPECT_THAT(lines, Contains("info: run in_progress"));
  EXPECT_THAT(lines, Contains("progress 1/2 run: in_progress: copy-org: in_progress, step 'Copy'"));
  EXPECT_THAT(lines, Contains("info: run completed: success"));
  EXPECT_THAT(lines, Contains("progress 2/2 run: completed"));
  EXPECT_EQ(clock_.sleeps(), (std::vector<milliseconds>{milliseconds(5000), milliseconds(5000)}));
}

TEST_F(RefreshStagingTest, NoWaitReturnsOnceTheRunIsKnown) {
  spec_.wait = false;
  transport_->Add(200, StrCat(R"({"workflow_run_id":42,"html_url":")", kRunUrl, "\"}"));
  absl::StatusOr<RefreshStagingResult> r = Go();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->html_url, kRunUrl);
  EXPECT_EQ(transport_->requests().size(), 1u);
}

TEST_F(RefreshStagingTest, A204IsFollowedByFindingTheRunByItsDispatchId) {
  transport_->Add(204, "");
  // A colleague's run dispatched at the same moment is listed first.
  transport_->Add(200, R"({"total_count":0,"workflow_runs":[]})");
  transport_->Add(
      200,
      StrCat(
          R"({"total_count":2,"workflow_runs":[)",
          R"({"id":41,"name":"Refresh staging with org_9 [ds-ffff]","status":"queued","html_url":"https://github.com/acme/app/actions/runs/41"},)",
          RunJson("queued", "", "Refresh staging with org_7 [ds-0123456789abcdef]"), "]}"));
  spec_.wait = false;
  absl::StatusOr<RefreshStagingResult> r = Go();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->run_id, 42);
  EXPECT_EQ(r->html_url, kRunUrl);
  std::vector<std::string> urls = Urls();
  ASSERT_EQ(urls.size(), 3u);
  EXPECT_THAT(urls[1],
              HasSubstr("/actions/workflows/refresh-staging.yml/runs?event=workflow_dispatch"));
  EXPECT_THAT(urls[1], HasSubstr("created=%3E%3D2025-12-31T23%3A59%3A00Z"));
}

TEST_F(RefreshStagingTest, A204WhoseRunNeverAppearsTimesOut) {
  transport_->Add(204, "");
  for (int i = 0; i < 6; ++i) transport_->Add(200, R"({"workflow_runs":[]})");
  absl::StatusOr<RefreshStagingResult> r = Go();
  ASSERT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("run-name"));
}

TEST_F(RefreshStagingTest, AFailedRunIsAnErrorWithItsConclusionAndUrl) {
  transport_->Add(200, StrCat(R"({"workflow_run_id":42,"html_url":")", kRunUrl, "\"}"));
  transport_->Add(200, RunJson("completed", "failure"));
  transport_->Add(200, Jobs("completed", "completed"));
  absl::StatusOr<RefreshStagingResult> r = Go();
  ASSERT_TRUE(absl::IsAborted(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("ended failure"));
  EXPECT_THAT(r.status().message(), HasSubstr(kRunUrl));
}

TEST_F(RefreshStagingTest, ErrorsOfTheDispatch) {
  transport_->Add(404, R"({"message":"Not Found","documentation_url":"x"})");
  absl::StatusOr<RefreshStagingResult> r = Go();
  ASSERT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("refresh_staging_workflow"));

  transport_->Add(422, R"({"message":"Unexpected inputs provided: [\"dispatch_id\"]"})");
  r = Go();
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("Unexpected inputs"));

  transport_->Add(401, R"({"message":"Bad credentials"})");
  r = Go();
  ASSERT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("GITHUB_TOKEN"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("ghp_secret")));

  transport_->Add(403, R"({"message":"Resource not accessible by integration"})");
  r = Go();
  ASSERT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
  EXPECT_EQ(transport_->requests().size(), 4u) << "none of these is retried";
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(RefreshStagingTest, ADispatchIsNotResentAfterA5xx) {
  transport_->Add(502, "");
  absl::StatusOr<RefreshStagingResult> r = Go();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(transport_->requests().size(), 1u);
}

std::string PullPage(int first, int count) {
  std::string out = "[";
  for (int i = 0; i < count; ++i) {
    StrAppend(&out, i ? "," : "", R"({"number":)", first + i, R"(,"state":"open","title":"t"})");
  }
  return out + "]";
}

TEST_F(RefreshStagingTest, OpenPullRequestsAreListedPageByPage) {
  transport_->Add(200, PullPage(1, 100));
  transport_->Add(200, PullPage(101, 3));
  absl::StatusOr<std::set<int>> open = github_->ListOpenPullRequests("acme/app");
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_EQ(open->size(), 103u);
  EXPECT_TRUE(open->count(1) && open->count(103));
  EXPECT_FALSE(open->count(104));
  EXPECT_THAT(Urls(),
              ::testing::ElementsAre(
                  "GET http://gh.test/repos/acme/app/pulls?state=open&per_page=100&page=1",
                  "GET http://gh.test/repos/acme/app/pulls?state=open&per_page=100&page=2"));
}

TEST_F(RefreshStagingTest, PullRequestListingErrorsAreClear) {
  transport_->Add(404, R"({"message":"Not Found"})");
  absl::StatusOr<std::set<int>> open = github_->ListOpenPullRequests("acme/gone");
  ASSERT_FALSE(open.ok());
  EXPECT_THAT(open.status().message(), HasSubstr("pull requests"));
  EXPECT_FALSE(ParsePullRequestNumbers(R"({"message":"x"})").ok());
  EXPECT_FALSE(ParsePullRequestNumbers(R"([{"state":"open"}])").ok());
}

// fuzz_github's finding (tests/fuzz/fuzz_github/pull_number_not_positive):
// a number outside 1..INT_MAX was taken, wrapped round past 2^31.
TEST(GitHubParseTest, PullRequestNumbersOutOfRangeAreErrors) {
  for (const char* n : {"0", "-3", "4294967301", "2147483648"}) {
    absl::StatusOr<std::vector<int>> r = ParsePullRequestNumbers(StrCat(R"([{"number":)", n, "}]"));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(r.status().message(), HasSubstr("is not a pull request number")) << n;
  }
  EXPECT_EQ(*ParsePullRequestNumbers(R"([{"number":2147483647}])"), std::vector<int>{2147483647});
}

TEST(GitHubRateLimitTest, RetryAfterThenResetThenSecondary) {
  const auto now = std::chrono::system_clock::from_time_t(1767225600);
  http::HttpResponse r{403, R"({"message":"API rate limit exceeded"})", {}};
  r.headers = {{"retry-after", "30"}};
  EXPECT_EQ(GitHubRateLimitWait(r, now), milliseconds(30000));
  r.headers = {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1767225720"}};
  EXPECT_EQ(GitHubRateLimitWait(r, now), milliseconds(121000));
  r.headers = {};
  r.body = R"({"message":"You have exceeded a secondary rate limit."})";
  EXPECT_EQ(GitHubRateLimitWait(r, now), milliseconds(60000));
  r.body = R"({"message":"Resource not accessible by integration"})";
  EXPECT_EQ(GitHubRateLimitWait(r, now), std::nullopt) << "a permission 403 is no rate limit";
  r.status = 429;
  EXPECT_EQ(GitHubRateLimitWait(r, now), milliseconds(60000));
}

// fuzz_github's finding (tests/fuzz/fuzz_github/ubsan_ratelimit_reset_overflow):
// a reset or retry-after near INT64_MAX overflowed the clock arithmetic.
TEST(GitHubRateLimitTest, AFarAwayWaitIsCappedNotOverflowed) {
  const auto now = std::chrono::system_clock::from_time_t(1767225600);
  http::HttpResponse r{403, "", {}};
  r.headers = {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1783060000000000578"}};
  EXPECT_EQ(GitHubRateLimitWait(r, now), kGitHubMaxRateLimitWait + milliseconds(1000));
  r.headers = {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "-9223372036854775808"}};
  EXPECT_EQ(GitHubRateLimitWait(r, now), milliseconds(1000)) << "a reset in the past";
  r.headers = {{"retry-after", "9223372036854775807"}};
  EXPECT_EQ(GitHubRateLimitWait(r, now), kGitHubMaxRateLimitWait);
  r.headers = {{"retry-after", "-5"}};
  EXPECT_EQ(GitHubRateLimitWait(r, now), milliseconds(0));
}

TEST_F(RefreshStagingTest, RateLimitedPollsWaitForTheReset) {
  transport_->Add(200, StrCat(R"({"workflow_run_id":42,"html_url":")", kRunUrl, "\"}"));
  // Primary limit spent: reset 20 s after the manual clock's wall time.
  transport_->Add(403, R"({"message":"API rate limit exceeded"})",
                  {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1767225620"}});
  transport_->Add(429, R"({"message":"secondary"})", {{"retry-after", "7"}});
  transport_->Add(200, RunJson("completed", "success"));
  transport_->Add(200, Jobs("completed", "completed"));
  absl::StatusOr<RefreshStagingResult> r = Go();
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<milliseconds> sleeps = clock_.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_EQ(sleeps[0], milliseconds(21000));
  EXPECT_EQ(sleeps[1], milliseconds(7000));
}

TEST_F(RefreshStagingTest, ARateLimitResettingTooLateIsReported) {
  transport_->Add(403, R"({"message":"API rate limit exceeded"})",
                  {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1767229200"}});
  absl::StatusOr<RefreshStagingResult> r = Go();
  ASSERT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("rate limited"));
}

// docs/refresh-staging.yml declares exactly the inputs ds sends.
TEST(RefreshStagingWorkflowTest, TheExampleDeclaresTheInputsDsSends) {
  std::ifstream in(std::string(DS_DOCS_DIR) + "/refresh-staging.yml");
  ASSERT_TRUE(in) << "docs/refresh-staging.yml is missing";
  // Keys one level under `on: workflow_dispatch: inputs:` (indentation tells).
  std::set<std::string> declared;
  std::string line;
  bool in_dispatch = false, in_inputs = false;
  size_t inputs_indent = 0;
  auto indent_of = [](const std::string& l) { return l.find_first_not_of(' '); };
  while (std::getline(in, line)) {
    if (line.empty() || line.find_first_not_of(' ') == std::string::npos ||
        line[line.find_first_not_of(' ')] == '#') {
      continue;
    }
    size_t ind = indent_of(line);
    std::string_view text = TrimAsciiWhitespace(line);
    if (text == "workflow_dispatch:") {
      in_dispatch = true;
      continue;
    }
    if (in_dispatch && !in_inputs && text == "inputs:") {
      in_inputs = true;
      inputs_indent = ind;
      continue;
    }
    if (in_inputs) {
      if (ind <= inputs_indent) break;
      if (ind == inputs_indent + 2 && text.ends_with(":")) {
        declared.insert(std::string(text.substr(0, text.size() - 1)));
      }
    }
  }
  const std::vector<std::string>& sent = RefreshStagingInputs();
  EXPECT_EQ(declared, std::set<std::string>(sent.begin(), sent.end()));
}

}  // namespace
}  // namespace ds::daemon::external
