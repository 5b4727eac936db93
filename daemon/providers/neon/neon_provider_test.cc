#include "daemon/providers/neon/neon_provider.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/strings.h"
#include "daemon/providers/neon/neon_cache_file.h"

namespace ds::daemon {
namespace {

using http::HttpRequest;
using http::HttpResponse;

constexpr char kBase[] = "http://neon.test/api/v2";

std::string ProjectJson(const std::string& id) {
  return StrCat(R"({"id":")", id, R"(","name":")", id, R"(","region_id":"aws-us-east-2"})");
}

std::string BranchJson(const std::string& project, const std::string& id, const std::string& name) {
  return StrCat(R"({"id":")", id, R"(","project_id":")", project, R"(","name":")", name,
                R"(","current_state":"ready","default":)", name == "main" ? "true" : "false",
                R"(,"created_at":"2026-01-01T00:00:00Z"})");
}

std::string EndpointJson(const std::string& project, const std::string& id,
                         const std::string& branch) {
  return StrCat(R"({"id":")", id, R"(","project_id":")", project, R"(","branch_id":")", branch,
                R"(","host":")", id, R"(.us-east-2.aws.neon.tech","type":"read_write",)",
                R"("current_state":"idle"})");
}

// A small Neon: projects with branches, one endpoint each; answers the
// calls NeonProvider makes. Requests that match `Hold` wait in Send until
// Release(), so a test can keep an HTTP call in flight as long as it likes.
class FakeNeon final : public http::HttpTransport {
 public:
  void AddBranch(const std::string& project, const std::string& name) {
    std::lock_guard lock(mu_);
    AddBranchLocked(project, name);
  }
  // Every answer from now on is this status (an error body).
  void FailWith(int status) {
    std::lock_guard lock(mu_);
    fail_with_ = status;
  }
  void Hold(std::function<bool(const HttpRequest&)> which) {
    std::lock_guard lock(mu_);
    hold_ = std::move(which);
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      hold_ = nullptr;
    }
    cv_.notify_all();
  }
  // Waits until `n` requests are held.
  void WaitUntilHeld(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_ >= n; });
  }
  int requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    std::unique_lock lock(mu_);
    ++requests_;
    if (hold_ && hold_(request)) {
      ++held_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hold_ || !hold_(request); });
      --held_;
    }
    if (fail_with_) {
      return HttpResponse{fail_with_, R"({"message":"authentication required"})", {}};
    }
    std::string path = request.url.substr(std::string_view(kBase).size());
    path = path.substr(0, path.find('?'));
    std::vector<std::string_view> parts = SplitSkipEmpty(path, '/');
    if (parts.size() == 1 && parts[0] == "projects") {
      std::vector<std::string> items;
      for (const auto& [id, p] : projects_) items.push_back(ProjectJson(id));
      return Json(StrCat(R"({"projects":[)", JoinStrings(items), "]}"));
    }
    if (parts.size() == 2 && parts[1] == "shared") return Json(R"({"projects":[]})");
    if (parts.size() == 3 && projects_.count(std::string(parts[1]))) {
      const std::string project(parts[1]);
      Project& p = projects_[project];
      if (parts[2] == "branches" && request.method == "POST") {
        const std::string name = NameIn(request.body);
        AddBranchLocked(project, name);
        return Json(StrCat(R"({"branch":)", p.branches.back(), R"(,"endpoints":[)",
                           p.endpoints.back(), R"(],"operations":[]})"),
                    201);
      }
      if (parts[2] == "branches") {
        return Json(StrCat(R"({"branches":[)", JoinStrings(p.branches), "]}"));
      }
      if (parts[2] == "endpoints") {
        return Json(StrCat(R"({"endpoints":[)", JoinStrings(p.endpoints), "]}"));
      }
    }
    return Json(R"({"message":"no such route in the fake"})", 404);
  }

 private:
  struct Project {
    std::vector<std::string> branches;   // JSON
    std::vector<std::string> endpoints;  // JSON
  };
  static HttpResponse Json(std::string body, int status = 200) {
    return HttpResponse{status, std::move(body), {}};
  }
  static std::string JoinStrings(const std::vector<std::string>& items) {
    std::vector<std::string_view> v(items.begin(), items.end());
    return Join(v, ",");
  }
  static std::string NameIn(const std::string& body) {
    const std::string key = R"("name":")";
    size_t start = body.find(key) + key.size();
    return body.substr(start, body.find('"', start) - start);
  }
  void AddBranchLocked(const std::string& project, const std::string& name) {
    Project& p = projects_[project];
    const std::string branch = StrCat("br-", name);
    p.branches.push_back(BranchJson(project, branch, name));
    p.endpoints.push_back(EndpointJson(project, StrCat("ep-", name), branch));
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Project> projects_;
  std::function<bool(const HttpRequest&)> hold_;
  int held_ = 0;
  int requests_ = 0;
  int fail_with_ = 0;
};

// Counts the provider's change notices, for tests to wait on.
class Changes {
 public:
  std::function<void()> Listener() {
    return [this] {
      {
        std::lock_guard lock(mu_);
        ++count_;
      }
      cv_.notify_all();
    };
  }
  int count() {
    std::lock_guard lock(mu_);
    return count_;
  }
  // Waits for the count to pass `seen`. The limit only keeps a broken
  // provider from hanging the suite; no test depends on its length.
  bool WaitPast(int seen) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::minutes(2), [&] { return count_ > seen; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

class NeonProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           StrCat("ds-neon-provider-test-", getpid(), "-",
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A cache file as an earlier dsd would have left it, fresh: `projects`
  // with a branch main each (endpoint ep-main-<project>).
  void WriteFreshCache(const std::vector<std::string>& projects) {
    neon::AccountSnapshot s;
    s.fetched_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (const std::string& id : projects) {
      neon::ProjectState p;
      p.project.id = p.project.name = id;
      neon::Branch main;
      main.id = StrCat("br-main-", id);
      main.project_id = id;
      main.name = "main";
      main.current_state = "ready";
      main.is_default = true;
      p.branches = {main};
      neon::Endpoint e;
      e.id = StrCat("ep-main-", id);
      e.project_id = id;
      e.branch_id = main.id;
      e.host = StrCat(e.id, ".us-east-2.aws.neon.tech");
      e.type = "read_write";
      e.current_state = "idle";
      p.endpoints = {e};
      s.projects.push_back(std::move(p));
    }
    std::ofstream(cache_file()) << neon::SerializeSnapshot(s);
  }

  std::filesystem::path cache_file() const { return dir_ / "account.json"; }

  std::unique_ptr<NeonProvider> Provider(std::chrono::milliseconds resolve_wait) {
    NeonProviderOptions o;
    o.api.base_url = kBase;
    o.api.api_key = "napi_test";
    o.api.client.pacing = {};                    // no spacing: nothing here is about pacing
    o.refresh_interval = std::chrono::hours(1);  // no refresh unless asked
    o.cache_file = cache_file();
    o.resolve_wait = resolve_wait;
    auto p = std::make_unique<NeonProvider>(o, neon_);
    p->SetChangeListener(changes_.Listener());
    return p;
  }

  static common::ConnInfo Endpoint(const std::string& id) {
    common::ConnInfo c;
    c.host = StrCat(id, ".us-east-2.aws.neon.tech");
    c.neon_endpoint_id = id;
    return c;
  }

  std::filesystem::path dir_;
  std::shared_ptr<FakeNeon> neon_ = std::make_shared<FakeNeon>();
  Changes changes_;
};

// A wait long enough never to run out here: the refresh it waits for ends.
constexpr std::chrono::hours kWaitItOut{1};
// A wait that surely runs out: the refresh is held until the test lets go.
constexpr std::chrono::milliseconds kShortWait{20};

TEST_F(NeonProviderTest, AnUnknownEndpointWaitsABoundedTimeThenResolvesAfterTheRefresh) {
  WriteFreshCache({"p1"});
  neon_->AddBranch("p1", "main");
  neon_->AddBranch("p1", "fresh");  // made elsewhere, after the snapshot
  std::unique_ptr<NeonProvider> provider = Provider(kShortWait);
  neon_->Hold([](const HttpRequest&) { return true; });

  absl::StatusOr<std::optional<BranchLocation>> r = provider->Resolve(Endpoint("ep-fresh"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("not resolved yet"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("still fetching"), std::string::npos) << r.status();

  // The refresh it scheduled runs on the refresher thread, held in an HTTP
  // call: reads from the snapshot answer meanwhile.
  neon_->WaitUntilHeld(1);
  r = provider->Resolve(Endpoint("ep-main-p1"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->branch_name, "main");
  absl::StatusOr<std::vector<BranchInfo>> branches = provider->ListBranches("p1");
  ASSERT_TRUE(branches.ok()) << branches.status();
  EXPECT_EQ(branches->size(), 1u);
  // Still not, while the refresh is held.
  r = provider->Resolve(Endpoint("ep-fresh"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();

  const int seen = changes_.count();
  neon_->Release();
  ASSERT_TRUE(changes_.WaitPast(seen));
  r = provider->Resolve(Endpoint("ep-fresh"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->branch_name, "fresh");
  EXPECT_EQ((*r)->project_id, "p1");
}

TEST_F(NeonProviderTest, ResolveMayWaitOnlyForAnEndpointTheSnapshotLacks) {
  std::unique_ptr<NeonProvider> cold = Provider(kShortWait);
  EXPECT_TRUE(cold->ResolveMayWait(Endpoint("ep-main-p1")));
  WriteFreshCache({"p1"});
  std::unique_ptr<NeonProvider> provider = Provider(kShortWait);
  EXPECT_FALSE(provider->ResolveMayWait(Endpoint("ep-main-p1")));
  EXPECT_TRUE(provider->ResolveMayWait(Endpoint("ep-new")));
  common::ConnInfo elsewhere;
  elsewhere.host = "db.example.com";
  EXPECT_FALSE(provider->ResolveMayWait(elsewhere));
  EXPECT_EQ(neon_->requests(), 0) << "asking sends nothing";
}

TEST_F(NeonProviderTest, AColdProviderLoadsOnTheRefresherNotOnTheCallersThread) {
  neon_->AddBranch("p1", "main");
  std::unique_ptr<NeonProvider> provider = Provider(kShortWait);
  neon_->Hold([](const HttpRequest&) { return true; });
  const int seen = changes_.count();
  absl::StatusOr<std::optional<BranchLocation>> r = provider->Resolve(Endpoint("ep-main"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not resolved yet"), std::string::npos) << r.status();
  neon_->WaitUntilHeld(1);
  neon_->Release();
  ASSERT_TRUE(changes_.WaitPast(seen));
  r = provider->Resolve(Endpoint("ep-main"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->branch_name, "main");
}

TEST_F(NeonProviderTest, AFailedRefreshIsTheReason) {
  WriteFreshCache({"p1"});
  neon_->FailWith(401);
  std::unique_ptr<NeonProvider> provider = Provider(kWaitItOut);
  absl::StatusOr<std::optional<BranchLocation>> r = provider->Resolve(Endpoint("ep-new"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("not resolved yet: refreshing the Neon data failed: "
                                      "NEON_API_KEY is invalid"),
            std::string::npos)
      << r.status();
  // What the snapshot knows still resolves.
  r = provider->Resolve(Endpoint("ep-main-p1"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->has_value());
}

TEST_F(NeonProviderTest, AnEndpointNoProjectHasIsNotFoundAndLookedForOnce) {
  WriteFreshCache({"p1"});
  neon_->AddBranch("p1", "main");
  std::unique_ptr<NeonProvider> provider = Provider(kWaitItOut);
  absl::StatusOr<std::optional<BranchLocation>> r = provider->Resolve(Endpoint("ep-none"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("not found in any project this key can see"),
            std::string::npos)
      << r.status();
  const int sent = neon_->requests();
  EXPECT_GT(sent, 0);
  r = provider->Resolve(Endpoint("ep-none"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(neon_->requests(), sent) << "one refresh per unknown endpoint and minute";
  // A connection string that is not Neon's is none of this provider's.
  common::ConnInfo local;
  local.host = "/run/postgresql";
  r = provider->Resolve(local);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST_F(NeonProviderTest, WritesToDifferentProjectsDoNotWaitForEachOther) {
  WriteFreshCache({"p1", "p2"});
  neon_->AddBranch("p1", "main");
  neon_->AddBranch("p2", "main");
  std::unique_ptr<NeonProvider> provider = Provider(kShortWait);
  neon_->Hold([](const HttpRequest& r) {
    return r.method == "POST" && r.url.find("/projects/p1/") != std::string::npos;
  });
  absl::StatusOr<BranchInfo> in_p1;
  std::thread slow([&] { in_p1 = provider->CreateBranch("p1", "a", {}); });
  neon_->WaitUntilHeld(1);
  // p1's create is held in its POST; p2's goes through, refresh included,
  // and reads answer.
  absl::StatusOr<BranchInfo> in_p2 = provider->CreateBranch("p2", "b", {});
  ASSERT_TRUE(in_p2.ok()) << in_p2.status();
  EXPECT_EQ(in_p2->name, "b");
  absl::StatusOr<std::optional<BranchLocation>> r = provider->Resolve(Endpoint("ep-b"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->project_id, "p2");
  neon_->Release();
  slow.join();
  ASSERT_TRUE(in_p1.ok()) << in_p1.status();
  EXPECT_EQ(in_p1->name, "a");
  absl::StatusOr<std::vector<BranchInfo>> p1 = provider->ListBranches("p1");
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(p1->size(), 2u);
}

TEST_F(NeonProviderTest, CachedAnswersFromTheSnapshotWithoutARequest) {
  WriteFreshCache({"p1", "p2"});
  std::unique_ptr<NeonProvider> provider = Provider(kShortWait);
  CachedInventory inventory = provider->Cached();
  EXPECT_GT(inventory.as_of_unix_ms, 0);
  ASSERT_EQ(inventory.projects.size(), 2u);
  ASSERT_EQ(inventory.projects[0].branches.size(), 1u);
  EXPECT_EQ(inventory.projects[0].branches[0].name, "main");
  EXPECT_EQ(inventory.projects[0].branches[0].state, "ready");
  EXPECT_TRUE(inventory.projects[0].branches[0].is_default);
  EXPECT_EQ(neon_->requests(), 0) << "audit reads the cache only";
}

TEST_F(NeonProviderTest, AColdProviderCachesNothingAndAsksForAFetch) {
  neon_->AddBranch("p1", "main");
  std::unique_ptr<NeonProvider> provider = Provider(kShortWait);
  CachedInventory inventory = provider->Cached();
  EXPECT_EQ(inventory.as_of_unix_ms, 0);
  EXPECT_TRUE(inventory.projects.empty());
  // The fetch it asked for runs on the refresher and fills the cache.
  ASSERT_TRUE(changes_.WaitPast(0));
  EXPECT_EQ(provider->Cached().projects.size(), 1u);
}

TEST_F(NeonProviderTest, SetExpiryRefusesWhatNeonRefuses) {
  WriteFreshCache({"p1"});
  std::unique_ptr<NeonProvider> provider = Provider(kShortWait);
  EXPECT_EQ(provider->SetExpiry("p1", "main", "2099-01-01T00:00:00Z").code(),
            absl::StatusCode::kInvalidArgument)
      << "more than 30 days ahead";
  EXPECT_EQ(provider->SetExpiry("p1", "main", "yesterday").code(),
            absl::StatusCode::kInvalidArgument);
  const std::string soon =
      common::FormatRfc3339(common::UnixMillisNow() + int64_t{2} * 24 * 3600 * 1000);
  absl::Status s = provider->SetExpiry("p1", "main", soon);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_NE(s.message().find("default branch"), std::string::npos) << s;
}

}  // namespace
}  // namespace ds::daemon
