#include "daemon/providers/neon/neon_api.h"

#include <gtest/gtest.h>

#include "common/strings.h"
#include "daemon/http/scripted_transport.h"

namespace ds::daemon::neon {
namespace {

using http::HttpRequest;
using http::ScriptedTransport;

constexpr char kKey[] = "napi_secretkey1234567890";

struct Fixture {
  http::ManualClock clock;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>();
  Api api;

  Fixture()
      : api(
            [this] {
              ApiOptions o;
              o.base_url = "http://neon.test/api/v2/";
              o.api_key = kKey;
              o.client.clock = &clock;
              o.client.pacing.min_spacing = std::chrono::milliseconds(0);  // only backoff sleeps
              return o;
            }(),
            transport) {}

  std::vector<std::chrono::milliseconds> sleeps() const { return clock.sleeps(); }
};

std::string ProjectJson(const std::string& id) {
  return StrCat(R"({"id":")", id, R"(","name":")", id,
                R"(","region_id":"aws-us-east-2","created_at":"2026-01-01T00:00:00Z",)",
                R"("updated_at":"2026-01-01T00:00:00Z","pg_version":17,)",
                R"("proxy_host":"us-east-2.aws.neon.tech","platform_id":"aws","owner_id":"u"})");
}

std::string BranchJson(const std::string& id, const std::string& name) {
  return StrCat(R"({"id":")", id, R"(","project_id":"p1","name":")", name,
                R"(","current_state":"ready","default":false,"protected":false,)",
                R"("created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z",)",
                R"("state_changed_at":"2026-01-01T00:00:00Z","creation_source":"console"})");
}

void ExpectNoKey(const absl::Status& s) {
  EXPECT_EQ(std::string(s.message()).find(kKey), std::string::npos) << s;
}

TEST(NeonApiTest, SendsTheKeyOnlyAsABearerToken) {
  Fixture f;
  f.transport->Add(200, StrCat(R"({"projects":[)", ProjectJson("p1"), "]}"));
  ASSERT_TRUE(f.api.ListProjects().ok());
  ASSERT_EQ(f.transport->requests().size(), 1u);
  const HttpRequest r = f.transport->requests()[0];
  EXPECT_EQ(r.url, "http://neon.test/api/v2/projects?limit=400");
  bool saw_auth = false;
  for (const auto& [name, value] : r.headers) {
    if (name == "Authorization") {
      EXPECT_EQ(value, StrCat("Bearer ", kKey));
      saw_auth = true;
    } else {
      EXPECT_EQ(value.find(kKey), std::string::npos) << name;
    }
  }
  EXPECT_TRUE(saw_auth);
  EXPECT_EQ(r.url.find(kKey), std::string::npos);
}

TEST(NeonApiTest, RetriesRateLimitsAndHonoursRetryAfter) {
  Fixture f;
  f.transport->Add(429, R"({"code":"","message":"rate limit exceeded"})", {{"retry-after", "2"}});
  f.transport->Add(503, R"({"message":"unavailable"})");
  f.transport->Add(423, R"({"message":"project already has running conflicting operations"})");
  f.transport->Add(200, StrCat(R"({"projects":[)", ProjectJson("p1"), "]}"));
  absl::StatusOr<std::vector<Project>> p = f.api.ListProjects();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->size(), 1u);
  ASSERT_EQ(f.sleeps().size(), 3u);
  EXPECT_GE(f.sleeps()[0], std::chrono::milliseconds(2000));  // Retry-After wins
  for (auto d : f.sleeps()) EXPECT_LE(d, std::chrono::milliseconds(5000));
  EXPECT_EQ(f.api.requests_sent(), 4);
}

TEST(NeonApiTest, EveryAttemptHasItsOwnRequestId) {
  // Neon logs X-Request-ID: support can tell a call's attempts apart.
  Fixture f;
  f.transport->Add(503, R"({"message":"unavailable"})");
  f.transport->Add(200, R"({"endpoints":[]})");
  ASSERT_TRUE(f.api.ListEndpoints("p1").ok());
  std::vector<std::string> ids;
  for (const HttpRequest& r : f.transport->requests()) {
    for (const auto& [name, value] : r.headers) {
      if (name == "X-Request-ID") ids.push_back(value);
    }
  }
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_NE(ids[0], ids[1]);
}

TEST(NeonApiTest, GivesUpAfterBoundedAttemptsWithAClearError) {
  Fixture f;
  for (int i = 0; i < 10; ++i) f.transport->Add(503, R"({"message":"down","request_id":"r-9"})");
  absl::StatusOr<std::vector<Project>> p = f.api.ListProjects();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(p.status().message().find("503"), std::string::npos) << p.status();
  EXPECT_NE(p.status().message().find("6 attempts"), std::string::npos) << p.status();
  EXPECT_NE(p.status().message().find("r-9"), std::string::npos) << p.status();
  EXPECT_EQ(f.transport->requests().size(), 6u);
  ExpectNoKey(p.status());
}

TEST(NeonApiTest, TransportErrorsAreRetriedExceptForRestore) {
  Fixture f;
  f.transport->AddError(absl::UnavailableError("cannot reach http://neon.test: refused"));
  f.transport->Add(200, R"({"endpoints":[]})");
  EXPECT_TRUE(f.api.ListEndpoints("p1").ok());

  Fixture g;
  g.transport->AddError(absl::UnavailableError("cannot reach http://neon.test: reset"));
  absl::StatusOr<BranchMutation> m = g.api.RestoreBranch("p1", "br-a", "br-parent");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(g.transport->requests().size(), 1u);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kUnavailable);
}

TEST(NeonApiTest, AnInvalidKeyIsNamed) {
  Fixture f;
  f.transport->Add(401, R"({"code":"","message":"authentication required","request_id":"req-1"})");
  absl::StatusOr<std::vector<Project>> p = f.api.ListProjects();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(p.status().message().find("NEON_API_KEY is invalid or expired"), std::string::npos);
  EXPECT_NE(p.status().message().find("req-1"), std::string::npos);
  EXPECT_EQ(f.transport->requests().size(), 1u);  // never retried
  ExpectNoKey(p.status());
}

TEST(NeonApiTest, OrgIdRequiredSaysWhatToDo) {
  Fixture f;
  f.transport->Add(
      400,
      R"({"code":"","message":"org_id is required, you can find it on your organization settings page"})");
  absl::StatusOr<std::vector<Project>> p = f.api.ListProjects();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("several organizations"), std::string::npos);
}

TEST(NeonApiTest, FollowsProjectCursorsUntilAnEmptyPage) {
  Fixture f;
  f.transport->Add(200, StrCat(R"({"projects":[)", ProjectJson("p1"), ",", ProjectJson("p2"),
                               R"(],"pagination":{"cursor":"p2"}})"));
  f.transport->Add(
      200, StrCat(R"({"projects":[)", ProjectJson("p3"), R"(],"pagination":{"cursor":"p3"}})"));
  f.transport->Add(200, R"({"projects":[]})");
  absl::StatusOr<std::vector<Project>> p = f.api.ListProjects("org-x");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[2].id, "p3");
  ASSERT_EQ(f.transport->requests().size(), 3u);
  EXPECT_NE(f.transport->requests()[0].url.find("org_id=org-x"), std::string::npos);
  EXPECT_NE(f.transport->requests()[1].url.find("cursor=p2"), std::string::npos);
}

TEST(NeonApiTest, BranchPagesFollowNextAndStopOnARepeatedCursor) {
  Fixture f;
  f.transport->Add(
      200,
      StrCat(
          R"({"branches":[)", BranchJson("br-1", "main"),
          R"(],"annotations":{},"pagination":{"next":"abc","sort_by":"updated_at","sort_order":"DESC"}})"));
  f.transport->Add(
      200,
      StrCat(
          R"({"branches":[)", BranchJson("br-2", "dev"),
          R"(],"annotations":{},"pagination":{"next":"abc","sort_by":"updated_at","sort_order":"DESC"}})"));
  absl::StatusOr<std::vector<Branch>> b = f.api.ListBranches("p1");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->size(), 2u);
  EXPECT_EQ(f.transport->requests().size(), 2u);
}

TEST(NeonApiTest, CreateAdoptsAnExistingBranchOn409) {
  Fixture f;
  f.transport->Add(
      409, R"({"code":"","message":"branch with the provided name \"dev\" already exists"})");
  f.transport->Add(
      200,
      StrCat(R"({"branches":[)", BranchJson("br-2", "dev"),
             R"(],"annotations":{},"pagination":{"sort_by":"updated_at","sort_order":"DESC"}})"));
  f.transport->Add(
      200,
      R"({"endpoints":[{"id":"ep-a-b-123456","project_id":"p1","branch_id":"br-2","host":"ep-a-b-123456.us-east-2.aws.neon.tech","type":"read_write","current_state":"idle","region_id":"aws-us-east-2","autoscaling_limit_min_cu":0.25,"autoscaling_limit_max_cu":1,"settings":{},"pooler_enabled":false,"pooler_mode":"transaction","disabled":false,"passwordless_access":true,"creation_source":"console","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","proxy_host":"us-east-2.aws.neon.tech","suspend_timeout_seconds":0,"provisioner":"k8s-neonvm"}]})");
  bool adopted = false;
  absl::StatusOr<BranchMutation> m = f.api.CreateBranch("p1", "dev", "br-1", &adopted);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(adopted);
  EXPECT_EQ(m->branch.id, "br-2");
  ASSERT_EQ(m->endpoints.size(), 1u);
  EXPECT_EQ(m->endpoints[0].id, "ep-a-b-123456");
  EXPECT_EQ(f.transport->requests()[0].method, "POST");
  EXPECT_NE(f.transport->requests()[0].body.find(R"("name":"dev")"), std::string::npos);
  EXPECT_NE(f.transport->requests()[0].body.find(R"("type":"read_write")"), std::string::npos);
}

TEST(NeonApiTest, MalformedJsonIsAnErrorThatNeverQuotesTheBody) {
  Fixture f;
  f.transport->Add(200, R"({"uri":"postgresql://neondb_owner:npg_secretpw@ep-x.neon.tech/neondb)");
  absl::StatusOr<std::string> uri = f.api.GetConnectionUri("p1", "br-1", "neondb", "neondb_owner");
  ASSERT_FALSE(uri.ok());
  EXPECT_EQ(uri.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(std::string(uri.status().message()).find("npg_secretpw"), std::string::npos);
}

TEST(NeonApiTest, APartialProjectListIsAnError) {
  Fixture f;
  f.transport->Add(200,
                   StrCat(R"({"projects":[)", ProjectJson("p1"),
                          R"(],"unavailable_project_ids":["p2"],"pagination":{"cursor":"p1"}})"));
  absl::StatusOr<std::vector<Project>> p = f.api.ListProjects();
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("p2"), std::string::npos);
}

TEST(NeonApiTest, DeletingAGoneBranchIsFine) {
  Fixture f;
  f.transport->Add(204, "");
  absl::StatusOr<BranchMutation> m = f.api.DeleteBranch("p1", "br-2");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->operations.empty());
}

TEST(NeonApiTest, PacesRequestsAsNeonAsks) {
  // Neon's defaults: 25 ms apart, and at most 600 in a minute.
  http::ManualClock clock;
  auto transport = std::make_shared<ScriptedTransport>();
  ApiOptions o;
  o.base_url = "http://neon.test/api/v2";
  o.api_key = kKey;
  o.client.clock = &clock;
  Api api(o, transport);
  const auto start = clock.Now();
  for (int i = 0; i < 601; ++i) transport->Add(200, R"({"endpoints":[]})");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(api.ListEndpoints("p1").ok());
  EXPECT_EQ(clock.sleeps(),
            (std::vector<std::chrono::milliseconds>(2, std::chrono::milliseconds(25))));
  for (int i = 3; i < 601; ++i) ASSERT_TRUE(api.ListEndpoints("p1").ok());
  // 600 requests 25 ms apart take 15 s; the 601st waits for the first to
  // be a minute old.
  EXPECT_EQ(clock.Now() - start, std::chrono::minutes(1));
  EXPECT_EQ(api.requests_sent(), 601);
}

}  // namespace
}  // namespace ds::daemon::neon
