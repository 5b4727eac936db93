// BranchManager against a provider in memory: the protected-branch rule,
// .env writes that cannot happen, and the history behind `set target-db -`.
#include "daemon/workspace/branches.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "common/strings.h"

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHost[] = "branches.test";

// Branches in memory; a branch's database is named after it, and every
// URI carries a password.
class MemoryProvider : public Provider {
 public:
  MemoryProvider() {
    branches_["main"] = Info("main", "");
    branches_["main"].is_default = branches_["main"].is_protected = true;
    branches_["dev-x"] = Info("dev-x", "main");
  }
  static BranchInfo Info(const std::string& name, const std::string& parent) {
    BranchInfo b;
    b.id = "br-" + name;
    b.project_id = "p";
    b.name = name;
    if (!parent.empty()) {
      b.parent_id = "br-" + parent;
      b.parent_name = parent;
    }
    return b;
  }
  std::string_view Name() const override { return "local"; }
  absl::StatusOr<std::vector<ProjectInfo>> ListProjects() override {
    ProjectInfo p;
    p.id = p.name = "p";
    return std::vector<ProjectInfo>{p};
  }
  absl::StatusOr<std::vector<BranchInfo>> ListBranches(const std::string&) override {
    std::lock_guard lock(mu_);
    std::vector<BranchInfo> out;
    for (const auto& [name, b] : branches_) out.push_back(b);
    return out;
  }
  absl::StatusOr<BranchInfo> CreateBranch(const std::string&, const std::string& name,
                                          const CreateBranchOptions& options) override {
    std::lock_guard lock(mu_);
    if (branches_.count(name)) return absl::AlreadyExistsError(StrCat(name, " exists"));
    BranchInfo b = Info(name, "main");
    branches_[name] = b;
    if (on_create) on_create();
    if (options.connection_uri) b.connection_uri = Uri(name);
    return b;
  }
  absl::Status DeleteBranch(const std::string&, const std::string& name, bool) override {
    std::lock_guard lock(mu_);
    branches_.erase(name);
    return absl::OkStatus();
  }
  absl::Status ResetBranch(const std::string&, const std::string&, bool) override {
    return absl::UnimplementedError("not in this test");
  }
  absl::StatusOr<std::string> ConnectionUri(const std::string&, const std::string& branch,
                                            const std::string&, const std::string&) override {
    std::lock_guard lock(mu_);
    if (!branches_.count(branch)) return absl::NotFoundError(StrCat("no branch ", branch));
    return Uri(branch);
  }
  absl::StatusOr<std::optional<BranchLocation>> Resolve(const common::ConnInfo& conn) override {
    std::lock_guard lock(mu_);
    if (conn.host != kHost || !branches_.count(conn.dbname)) {
      return std::optional<BranchLocation>();
    }
    const BranchInfo& b = branches_[conn.dbname];
    return std::optional<BranchLocation>(BranchLocation{"local", "p", "p", b.id, b.name});
  }
  bool Has(const std::string& name) {
    std::lock_guard lock(mu_);
    return branches_.count(name) > 0;
  }
  static std::string Uri(const std::string& branch) {
    return StrCat("postgresql://owner:secret-", branch, "@", kHost, "/", branch);
  }

  std::function<void()> on_create;  // runs inside CreateBranch, after the create

 private:
  std::mutex mu_;
  std::map<std::string, BranchInfo> branches_;
};

class BranchManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ds-branches-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ws_ = root_ / "app";
    fs::create_directories(ws_);
    fs::create_directories(root_ / "state");
    paths_.runtime_dir = root_ / "run";
    paths_.state_dir = root_ / "state";
    paths_.config_dir = root_ / "config";
    paths_.data_dir = root_ / "data";
    Write(ws_ / "ds.toml", "provider = \"local\"\n");
    auto p = std::make_unique<MemoryProvider>();
    provider_ = p.get();
    registry_.Add(std::move(p));
    resolver_ = std::make_unique<WorkspaceResolver>(paths_, &registry_);
    history_ = std::make_unique<EnvHistory>(paths_.state_dir / "env-history");
    manager_ = std::make_unique<BranchManager>(resolver_.get(), &registry_, history_.get());
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(env(), fs::perms::owner_read | fs::perms::owner_write, ec);
    fs::remove_all(root_, ec);
  }
  static void Write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::trunc | std::ios::binary) << text;
  }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path env() const { return ws_ / ".env"; }
  v1::WorkspaceRef Ref() const {
    v1::WorkspaceRef r;
    r.set_workspace_dir(ws_.string());
    return r;
  }
  absl::StatusOr<v1::SetDatabaseResponse> Set(const std::string& branch, bool allow = false,
                                              v1::DatabaseRole role = v1::DATABASE_ROLE_TARGET) {
    v1::SetDatabaseRequest req;
    *req.mutable_workspace() = Ref();
    req.set_role(role);
    req.set_branch(branch);
    req.set_allow_protected(allow);
    return manager_->SetDatabase(req);
  }
  absl::StatusOr<v1::SetDatabaseResponse> Back(bool allow = false) {
    v1::SetDatabaseRequest req;
    *req.mutable_workspace() = Ref();
    req.set_role(v1::DATABASE_ROLE_TARGET);
    req.set_previous(true);
    req.set_allow_protected(allow);
    return manager_->SetDatabase(req);
  }
  absl::StatusOr<v1::CreateBranchResponse> Create(const std::string& name, bool allow = false) {
    v1::CreateBranchRequest req;
    *req.mutable_workspace() = Ref();
    req.set_name(name);
    req.set_switch_env(true);
    req.set_allow_protected(allow);
    return manager_->CreateBranch(req);
  }
  fs::path root_, ws_;
  common::Paths paths_;
  ProviderRegistry registry_;
  MemoryProvider* provider_ = nullptr;
  std::unique_ptr<WorkspaceResolver> resolver_;
  std::unique_ptr<EnvHistory> history_;
  std::unique_ptr<BranchManager> manager_;
};

// An editor calling SetDatabase is held to the rule as ds is: the default
// (or a protected) branch needs allow_protected for the target.
TEST_F(BranchManagerTest, TargetOnProtectedBranchNeedsAllowProtected) {
  Write(env(), "A=1\n");
  absl::StatusOr<v1::SetDatabaseResponse> r = Set("main");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("branch \"main\" is the default and a protected branch; pointing "
                        "DB_CONNECTION_STRING at it needs confirmation: run again with --yes "
                        "(API: set allow_protected)"));
  EXPECT_EQ(Read(env()), "A=1\n");

  ASSERT_TRUE(Set("main", /*allow=*/true).ok());
  EXPECT_THAT(Read(env()), HasSubstr("/main"));
  // A source is only read from: no confirmation.
  EXPECT_TRUE(Set("main", false, v1::DATABASE_ROLE_SOURCE).ok());
  // Any other branch: none either.
  EXPECT_TRUE(Set("dev-x").ok());
}

TEST_F(BranchManagerTest, CreateBranchSwitchingToProtectedNeedsAllowProtected) {
  Write(env(), "A=1\n");
  absl::StatusOr<v1::CreateBranchResponse> r = Create("main");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("allow_protected"));
  EXPECT_EQ(Read(env()), "A=1\n");
  r = Create("main", /*allow=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->existed());
  EXPECT_THAT(Read(env()), HasSubstr("/main"));
}

// A .env ds may not write is found before a branch is made for it.
TEST_F(BranchManagerTest, ReadOnlyEnvRefusedBeforeTheBranchIsMade) {
  Write(env(), "A=1\n");
  ASSERT_EQ(::chmod(env().c_str(), 0444), 0);
  absl::StatusOr<v1::CreateBranchResponse> r = Create("dev-y");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("is read-only"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("no branch was created"));
  EXPECT_FALSE(provider_->Has("dev-y"));
}

// When .env cannot be written after all (it changed while the branch was
// made), the error says the branch exists and how to point at it or
// remove it.
TEST_F(BranchManagerTest, EnvUnwritableAfterCreateSaysTheBranchExistsAndWhatToDo) {
  Write(env(), "A=1\n");
  provider_->on_create = [this] { ASSERT_EQ(::chmod(env().c_str(), 0444), 0); };
  absl::StatusOr<v1::CreateBranchResponse> r = Create("dev-y");
  ASSERT_FALSE(r.ok());
  const std::string m(r.status().message());
  EXPECT_THAT(m, HasSubstr("created branch dev-y, but could not point DB_CONNECTION_STRING at "
                           "it: "));
  EXPECT_THAT(m, HasSubstr("is read-only"));
  EXPECT_THAT(m, HasSubstr("`ds db set target-db --branch dev-y` points .env at it"));
  EXPECT_THAT(m, HasSubstr("`ds db delete-branch dev-y --yes` removes it"));
  EXPECT_TRUE(provider_->Has("dev-y"));
  EXPECT_EQ(Read(env()), "A=1\n");
}

// `ds db set target-db -` goes back to the value before, as `cd -`; again
// toggles back; the protected rule holds for the value it goes back to.
TEST_F(BranchManagerTest, PreviousTogglesAndListsRedacted) {
  Write(env(), StrCat("DB_CONNECTION_STRING=", MemoryProvider::Uri("main"), "\n"));
  absl::StatusOr<v1::SetDatabaseResponse> r = Back();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("no earlier value"));

  ASSERT_TRUE(Set("dev-x").ok());
  r = Back();
  ASSERT_FALSE(r.ok()) << "went back to main without allow_protected";
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("branch \"main\""));
  EXPECT_THAT(Read(env()), HasSubstr("/dev-x"));
  r = Back(/*allow=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->branch().name(), "main");
  EXPECT_THAT(Read(env()), HasSubstr("/main"));
  r = Back(true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->branch().name(), "dev-x");
  EXPECT_THAT(Read(env()), HasSubstr("/dev-x"));
  EXPECT_THAT(r->redacted_uri(), Not(HasSubstr("secret")));

  v1::ListDatabaseHistoryRequest lreq;
  *lreq.mutable_workspace() = Ref();
  absl::StatusOr<v1::ListDatabaseHistoryResponse> h = manager_->ListDatabaseHistory(lreq);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_GE(h->entries_size(), 2);
  EXPECT_TRUE(h->entries(0).current());
  EXPECT_EQ(h->entries(0).branch().branch_name(), "dev-x");
  EXPECT_EQ(h->entries(1).branch().branch_name(), "main");
  EXPECT_FALSE(h->entries(1).current());
  EXPECT_THAT(h->DebugString(), Not(HasSubstr("secret")));
}

}  // namespace
}  // namespace ds::daemon
