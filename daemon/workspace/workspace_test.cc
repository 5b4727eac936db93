#include "daemon/workspace/workspace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status_testing.h"
#include "common/strings.h"
#include "daemon/providers/provider.h"

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNeonUri[] =
    "postgresql://alice:hunter2@ep-cool-darkness-123456-pooler.c-2.us-east-2.aws.neon.tech/"
    "neondb?sslmode=require";

// Everything but Resolve is out of scope here.
class StubProvider : public Provider {
 public:
  absl::StatusOr<std::vector<ProjectInfo>> ListProjects() override { return Unimplemented(); }
  absl::StatusOr<std::vector<BranchInfo>> ListBranches(const std::string&) override {
    return Unimplemented();
  }
  absl::StatusOr<BranchInfo> CreateBranch(const std::string&, const std::string&,
                                          const CreateBranchOptions&) override {
    return Unimplemented();
  }
  absl::Status DeleteBranch(const std::string&, const std::string&, bool) override {
    return Unimplemented();
  }
  absl::Status ResetBranch(const std::string&, const std::string&, bool) override {
    return Unimplemented();
  }
  absl::StatusOr<std::string> ConnectionUri(const std::string&, const std::string&,
                                            const std::string&, const std::string&) override {
    return Unimplemented();
  }

 private:
  static absl::Status Unimplemented() { return absl::UnimplementedError("not in this test"); }
};

// A provider that owns one host and names a fixed branch for it.
class FakeProvider : public StubProvider {
 public:
  FakeProvider(std::string name, std::string host, BranchLocation where)
      : name_(std::move(name)), host_(std::move(host)), where_(std::move(where)) {}
  std::string_view Name() const override { return name_; }
  absl::StatusOr<std::optional<BranchLocation>> Resolve(const common::ConnInfo& conn) override {
    ++*calls_;
    if (conn.host != host_) return std::optional<BranchLocation>();
    return std::optional<BranchLocation>(where_);
  }
  std::shared_ptr<int> calls() const { return calls_; }

 private:
  std::string name_, host_;
  BranchLocation where_;
  std::shared_ptr<int> calls_ = std::make_shared<int>(0);
};

// A FakeProvider that answers from memory: Resolve never waits.
class QuickProvider : public FakeProvider {
 public:
  using FakeProvider::FakeProvider;
  bool ResolveMayWait(const common::ConnInfo&) override { return false; }
};

// A provider whose API is down.
class FailingProvider : public StubProvider {
 public:
  std::string_view Name() const override { return "flaky"; }
  absl::StatusOr<std::optional<BranchLocation>> Resolve(const common::ConnInfo&) override {
    return absl::UnavailableError("API unreachable");
  }
};

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ds-workspace-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    ws_ = root_ / "app";
    fs::create_directories(ws_);
    fs::create_directories(root_ / "config" / "ds");
    paths_.runtime_dir = root_ / "run";
    paths_.state_dir = root_ / "state";
    paths_.config_dir = root_ / "config" / "ds";
    paths_.data_dir = root_ / "data";
    resolver_ = std::make_unique<WorkspaceResolver>(paths_, &registry_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void Write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::trunc | std::ios::binary);
    out << text;
  }

  // Replaces a file the way editors and ds do: write a temp file, rename.
  void WriteByRename(const fs::path& p, const std::string& text) {
    fs::path tmp = p;
    tmp += ".tmp";
    Write(tmp, text);
    ASSERT_EQ(::rename(tmp.c_str(), p.c_str()), 0);
  }

  v1::WorkspaceRef Request() const {
    v1::WorkspaceRef r;
    r.set_workspace_dir(ws_.string());
    return r;
  }

  absl::StatusOr<v1::GetCurrentResponse> Get(const v1::WorkspaceRef& r) {
    return resolver_->GetCurrent(r);
  }
  absl::StatusOr<v1::GetCurrentResponse> Get() { return Get(Request()); }

  fs::path root_, ws_;
  common::Paths paths_;
  ProviderRegistry registry_;
  std::unique_ptr<WorkspaceResolver> resolver_;
};

// ---------------------------------------------------------------------------
// Targets from .env
// ---------------------------------------------------------------------------

TEST_F(WorkspaceTest, TargetSetSourceNotSet) {
  Write(ws_ / ".env", StrCat("# app settings\nPORT=3000\nDB_CONNECTION_STRING=", kNeonUri, "\n"));
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->workspace_dir(), ws_.string());
  EXPECT_EQ(r->env_file(), (ws_ / ".env").string());
  EXPECT_TRUE(r->env_file_exists());

  const v1::DatabaseTarget& t = r->target();
  EXPECT_EQ(t.variable(), "DB_CONNECTION_STRING");
  EXPECT_TRUE(t.is_set());
  EXPECT_EQ(t.error(), "");
  EXPECT_EQ(t.origin().kind(), v1::Origin::KIND_DOTENV);
  EXPECT_EQ(t.origin().location(), StrCat((ws_ / ".env").string(), ":3"));
  EXPECT_EQ(t.connection().host(), "ep-cool-darkness-123456-pooler.c-2.us-east-2.aws.neon.tech");
  EXPECT_EQ(t.connection().database(), "neondb");
  EXPECT_EQ(t.connection().user(), "alice");
  EXPECT_EQ(t.connection().port(), "");
  EXPECT_EQ(t.connection().neon_endpoint_id(), "ep-cool-darkness-123456");
  EXPECT_THAT(t.connection().redacted_uri(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(t.connection().redacted_uri(), HasSubstr("alice:****@"));
  EXPECT_THAT(t.connection().redacted_uri(), HasSubstr("neondb"));

  const v1::DatabaseTarget& s = r->source();
  EXPECT_EQ(s.variable(), "SOURCE_DB_CONNECTION_STRING");
  EXPECT_FALSE(s.is_set());
  EXPECT_FALSE(s.resolved());
  EXPECT_EQ(s.connection().redacted_uri(), "");
}

TEST_F(WorkspaceTest, NoPasswordAnywhereInResponse) {
  Write(ws_ / ".env",
        StrCat("DB_CONNECTION_STRING=", kNeonUri,
               "\nSOURCE_DB_CONNECTION_STRING='host=h user=u password=s3cr3t-src'\n"));
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  std::string dump = r->DebugString();
  EXPECT_THAT(dump, Not(HasSubstr("hunter2")));
  EXPECT_THAT(dump, Not(HasSubstr("s3cr3t-src")));
  EXPECT_TRUE(r->source().is_set());
  EXPECT_EQ(r->source().connection().host(), "h");
}

TEST_F(WorkspaceTest, BothSet) {
  Write(ws_ / ".env",
        "DB_CONNECTION_STRING=postgresql://u@target.example.com:5433/t\n"
        "SOURCE_DB_CONNECTION_STRING=\"postgresql://u@source.example.com/s\"\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->target().connection().host(), "target.example.com");
  EXPECT_EQ(r->target().connection().port(), "5433");
  EXPECT_EQ(r->target().connection().neon_endpoint_id(), "");
  EXPECT_EQ(r->source().connection().host(), "source.example.com");
  EXPECT_EQ(r->source().origin().location(), StrCat((ws_ / ".env").string(), ":2"));
}

TEST_F(WorkspaceTest, NeitherSet) {
  Write(ws_ / ".env", "PORT=3000\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->env_file_exists());
  EXPECT_FALSE(r->target().is_set());
  EXPECT_FALSE(r->source().is_set());
  EXPECT_EQ(r->target().variable(), "DB_CONNECTION_STRING");
  EXPECT_EQ(r->target().error(), "");
}

TEST_F(WorkspaceTest, EmptyValueIsNotSet) {
  Write(ws_ / ".env", "DB_CONNECTION_STRING=\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->target().is_set());
  EXPECT_EQ(r->target().error(), "");
}

TEST_F(WorkspaceTest, LastDuplicateWins) {
  Write(ws_ / ".env",
        "DB_CONNECTION_STRING=postgresql://first.example.com/db\n"
        "DB_CONNECTION_STRING=postgresql://second.example.com/db\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->target().connection().host(), "second.example.com");
  EXPECT_EQ(r->target().origin().location(), StrCat((ws_ / ".env").string(), ":2"));
}

TEST_F(WorkspaceTest, EnvFileMissing) {
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->env_file(), (ws_ / ".env").string());
  EXPECT_FALSE(r->env_file_exists());
  EXPECT_FALSE(r->target().is_set());
  EXPECT_FALSE(r->source().is_set());
  EXPECT_EQ(r->target().variable(), "DB_CONNECTION_STRING");
}

TEST_F(WorkspaceTest, MalformedUriReportedWithoutPassword) {
  Write(ws_ / ".env",
        "A=1\nDB_CONNECTION_STRING=postgresql://alice:hunter2@db.example.com/app?bogus=1\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status()
                      << " (a bad value is reported in the target, not as an RPC error)";
  const v1::DatabaseTarget& t = r->target();
  EXPECT_TRUE(t.is_set());
  EXPECT_FALSE(t.resolved());
  EXPECT_THAT(t.error(), HasSubstr("DB_CONNECTION_STRING"));
  EXPECT_THAT(t.error(), HasSubstr(StrCat((ws_ / ".env").string(), ":2")));
  EXPECT_THAT(t.error(), HasSubstr("bogus"));
  EXPECT_THAT(t.error(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(t.connection().redacted_uri(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(r->DebugString(), Not(HasSubstr("hunter2")));
}

// Each variable's error names the command that rewrites that variable,
// whatever the variables are called.
TEST_F(WorkspaceTest, MalformedValueHintNamesItsOwnSetCommand) {
  Write(ws_ / "ds.toml", "source_var = \"UPSTREAM_DB\"\n");
  Write(ws_ / ".env",
        "DB_CONNECTION_STRING=mysql://u@db.example.com/app\n"
        "UPSTREAM_DB=mysql://u@db.example.com/src\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->target().error(), HasSubstr("`ds db set target-db`"));
  EXPECT_THAT(r->target().error(), Not(HasSubstr("source-db")));
  EXPECT_THAT(r->source().error(), HasSubstr("UPSTREAM_DB"));
  EXPECT_THAT(r->source().error(), HasSubstr("`ds db set source-db`"));
  EXPECT_THAT(r->source().error(), Not(HasSubstr("target-db")));
}

TEST_F(WorkspaceTest, MalformedKeyValueReportedWithoutPassword) {
  Write(ws_ / ".env", "DB_CONNECTION_STRING='host=h user=u password=hunter2 junk'\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::DatabaseTarget& t = r->target();
  EXPECT_THAT(t.error(), HasSubstr("DB_CONNECTION_STRING"));
  EXPECT_THAT(t.error(), HasSubstr(StrCat((ws_ / ".env").string(), ":1")));
  EXPECT_THAT(r->DebugString(), Not(HasSubstr("hunter2")));
}

// A password with a space, in a string libpq rejects: the response must
// still not show any of it.
TEST_F(WorkspaceTest, MalformedUriWithSpaceInPasswordNotShown) {
  Write(
      ws_ / ".env",
      "DB_CONNECTION_STRING='postgresql://alice:opensesame xyzzy42@db.example.com/app?bogus=1'\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->target().error().empty());
  std::string dump = r->DebugString();
  EXPECT_THAT(dump, Not(HasSubstr("opensesame")));
  EXPECT_THAT(dump, Not(HasSubstr("xyzzy42")));
}

TEST_F(WorkspaceTest, MalformedDotenvIsAnError) {
  Write(ws_ / ".env", "DB_CONNECTION_STRING=\"postgresql://alice:hunter2@h/db\nX=1\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Msg(r.status()), HasSubstr((ws_ / ".env").string()));
  EXPECT_THAT(Msg(r.status()), Not(HasSubstr("hunter2")));
}

// ---------------------------------------------------------------------------
// Configuration: ds.toml, user config, overrides
// ---------------------------------------------------------------------------

TEST_F(WorkspaceTest, EnvFileFromDsToml) {
  Write(ws_ / "ds.toml", "env_file = \"config/app.env\"\n");
  Write(ws_ / "config" / "app.env", "DB_CONNECTION_STRING=postgresql://u@other.example.com/db\n");
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@wrong.example.com/db\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->env_file(), (ws_ / "config" / "app.env").string());
  EXPECT_TRUE(r->env_file_exists());
  EXPECT_EQ(r->target().connection().host(), "other.example.com");
  EXPECT_EQ(r->target().origin().location(), StrCat((ws_ / "config" / "app.env").string(), ":1"));
}

TEST_F(WorkspaceTest, AbsoluteEnvFile) {
  fs::path elsewhere = root_ / "shared" / "db.env";
  Write(elsewhere, "DB_CONNECTION_STRING=postgresql://u@shared.example.com/db\n");
  Write(ws_ / "ds.toml", StrCat("env_file = \"", elsewhere.string(), "\"\n"));
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->env_file(), elsewhere.string());
  EXPECT_EQ(r->target().connection().host(), "shared.example.com");
}

TEST_F(WorkspaceTest, EnvFileFromDsTomlMissing) {
  Write(ws_ / "ds.toml", "env_file = \".env.local\"\n");
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@wrong.example.com/db\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->env_file(), (ws_ / ".env.local").string());
  EXPECT_FALSE(r->env_file_exists());
  EXPECT_FALSE(r->target().is_set());
}

TEST_F(WorkspaceTest, TargetVarFromDsToml) {
  Write(ws_ / "ds.toml", "target_var = \"DATABASE_URL\"\n");
  Write(ws_ / ".env",
        "DB_CONNECTION_STRING=postgresql://u@wrong.example.com/db\n"
        "DATABASE_URL=postgresql://u@right.example.com/db\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->target().variable(), "DATABASE_URL");
  EXPECT_EQ(r->target().connection().host(), "right.example.com");
}

TEST_F(WorkspaceTest, TargetVarFromDotenvItself) {
  Write(ws_ / ".env",
        "DS_TARGET_VAR=DATABASE_URL\n"
        "DATABASE_URL=postgresql://u@right.example.com/db\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->target().variable(), "DATABASE_URL");
  EXPECT_EQ(r->target().connection().host(), "right.example.com");
}

TEST_F(WorkspaceTest, TargetVarOverrideViaEnvironment) {
  Write(ws_ / "ds.toml", "target_var = \"FROM_TOML\"\n");
  Write(ws_ / ".env",
        "FROM_TOML=postgresql://u@toml.example.com/db\n"
        "FROM_ENV=postgresql://u@env.example.com/db\n");
  v1::WorkspaceRef req = Request();
  (*req.mutable_overrides()->mutable_environment())["DS_TARGET_VAR"] = "FROM_ENV";
  absl::StatusOr<v1::GetCurrentResponse> r = Get(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->target().variable(), "FROM_ENV");
  EXPECT_EQ(r->target().connection().host(), "env.example.com");
}

TEST_F(WorkspaceTest, EnvironmentMapUsesVariableNamesNotKeys) {
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@default.example.com/db\n");
  v1::WorkspaceRef req = Request();
  (*req.mutable_overrides()->mutable_environment())["target_var"] = "NOPE";
  (*req.mutable_overrides()->mutable_environment())["DS_SOMETHING_UNKNOWN"] = "x";
  absl::StatusOr<v1::GetCurrentResponse> r = Get(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->target().variable(), "DB_CONNECTION_STRING");
}

TEST_F(WorkspaceTest, FlagOverrideWinsOverEnvironment) {
  Write(ws_ / ".env",
        "FROM_ENV=postgresql://u@env.example.com/db\n"
        "FROM_FLAG=postgresql://u@flag.example.com/db\n");
  v1::WorkspaceRef req = Request();
  (*req.mutable_overrides()->mutable_environment())["DS_TARGET_VAR"] = "FROM_ENV";
  (*req.mutable_overrides()->mutable_flags())["target_var"] = "FROM_FLAG";
  absl::StatusOr<v1::GetCurrentResponse> r = Get(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->target().variable(), "FROM_FLAG");
  EXPECT_EQ(r->target().connection().host(), "flag.example.com");
}

TEST_F(WorkspaceTest, SourceVarOverride) {
  Write(ws_ / ".env", "PROD=postgresql://u@prod.example.com/db\n");
  v1::WorkspaceRef req = Request();
  (*req.mutable_overrides()->mutable_flags())["source_var"] = "PROD";
  absl::StatusOr<v1::GetCurrentResponse> r = Get(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source().variable(), "PROD");
  EXPECT_EQ(r->source().connection().host(), "prod.example.com");
}

TEST_F(WorkspaceTest, FlagsMapUsesConfigKeys) {
  v1::WorkspaceRef req = Request();
  (*req.mutable_overrides()->mutable_flags())["DS_TARGET_VAR"] = "X";
  absl::StatusOr<v1::GetCurrentResponse> r = Get(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr("DS_TARGET_VAR"));
}

TEST_F(WorkspaceTest, EnvFileOverrideViaFlag) {
  Write(ws_ / "alt.env", "DB_CONNECTION_STRING=postgresql://u@alt.example.com/db\n");
  v1::WorkspaceRef req = Request();
  (*req.mutable_overrides()->mutable_flags())["env_file"] = "alt.env";
  absl::StatusOr<v1::GetCurrentResponse> r = Get(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->env_file(), (ws_ / "alt.env").string());
  EXPECT_EQ(r->target().connection().host(), "alt.example.com");
}

TEST_F(WorkspaceTest, ProviderOrigins) {
  {
    absl::StatusOr<v1::GetCurrentResponse> r = Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->provider(), "local");
    EXPECT_EQ(r->provider_origin().kind(), v1::Origin::KIND_DEFAULT);
  }
  // Values alternate between the real providers so that each layer shows
  // (a value that is not a provider is refused: CheckConfigValue).
  Write(paths_.user_config(), "\nprovider = \"neon\"\n");
  {
    absl::StatusOr<v1::GetCurrentResponse> r = Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->provider(), "neon");
    EXPECT_EQ(r->provider_origin().kind(), v1::Origin::KIND_USER_CONFIG);
    EXPECT_EQ(r->provider_origin().location(), StrCat(paths_.user_config().string(), ":2"));
  }
  WriteByRename(ws_ / "ds.toml", "provider = \"local\"\n");
  {
    absl::StatusOr<v1::GetCurrentResponse> r = Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->provider(), "local");
    EXPECT_EQ(r->provider_origin().kind(), v1::Origin::KIND_WORKSPACE_TOML);
    EXPECT_EQ(r->provider_origin().location(), StrCat((ws_ / "ds.toml").string(), ":1"));
  }
  WriteByRename(ws_ / ".env", "X=1\nDS_PROVIDER=neon\n");
  {
    absl::StatusOr<v1::GetCurrentResponse> r = Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->provider(), "neon");
    EXPECT_EQ(r->provider_origin().kind(), v1::Origin::KIND_DOTENV);
    EXPECT_EQ(r->provider_origin().location(), StrCat((ws_ / ".env").string(), ":2"));
  }
  v1::WorkspaceRef req = Request();
  (*req.mutable_overrides()->mutable_environment())["DS_PROVIDER"] = "local";
  {
    absl::StatusOr<v1::GetCurrentResponse> r = Get(req);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->provider(), "local");
    EXPECT_EQ(r->provider_origin().kind(), v1::Origin::KIND_ENVIRONMENT);
    EXPECT_EQ(r->provider_origin().location(), "DS_PROVIDER");
  }
  (*req.mutable_overrides()->mutable_flags())["provider"] = "neon";
  {
    absl::StatusOr<v1::GetCurrentResponse> r = Get(req);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->provider(), "neon");
    EXPECT_EQ(r->provider_origin().kind(), v1::Origin::KIND_FLAG);
  }
}

TEST_F(WorkspaceTest, BadDsTomlIsAnError) {
  Write(ws_ / "ds.toml", "stage = \"ci\"\ncolour = \"blue\"\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Msg(r.status()), HasSubstr(StrCat((ws_ / "ds.toml").string(), ":2")));
  EXPECT_THAT(Msg(r.status()), HasSubstr("colour"));
}

TEST_F(WorkspaceTest, BadUserConfigIsAnError) {
  Write(paths_.user_config(), "provider = [1, 2]\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Msg(r.status()), HasSubstr(paths_.user_config().string()));
}

TEST_F(WorkspaceTest, FixingDsTomlRecovers) {
  Write(ws_ / "ds.toml", "colour = \"blue\"\n");
  ASSERT_FALSE(Get().ok());
  WriteByRename(ws_ / "ds.toml", "stage = \"ci\"\n");
  EXPECT_TRUE(Get().ok());
}

// ---------------------------------------------------------------------------
// Edits
// ---------------------------------------------------------------------------

TEST_F(WorkspaceTest, SecondCallSeesRenamedEdit) {
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@one.example.com/db\n");
  absl::StatusOr<v1::GetCurrentResponse> r1 = Get();
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(r1->target().connection().host(), "one.example.com");

  // Same length on purpose.
  WriteByRename(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@two.example.com/db\n");
  absl::StatusOr<v1::GetCurrentResponse> r2 = Get();
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->target().connection().host(), "two.example.com");
}

// A warm GetCurrent stat()s nothing (the resolver's PathWatch vouches for
// the files instead): an edit made just before a call must still show in it,
// however it is made, and so must a workspace replaced under the same path.
TEST_F(WorkspaceTest, EditThenAskAtOnceNeverStale) {
  for (int i = 0; i < 100; ++i) {
    std::string host = "h" + std::to_string(100 + i) + ".example.com";  // same length
    std::string text = "DB_CONNECTION_STRING=postgresql://u@" + host + "/db\n";
    if (i % 2) {
      Write(ws_ / ".env", text);
    } else {
      WriteByRename(ws_ / ".env", text);
    }
    absl::StatusOr<v1::GetCurrentResponse> r = Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->target().connection().host(), host) << "edit " << i;
  }
  // Another folder moved into the workspace's place.
  fs::create_directories(root_ / "next");
  Write(root_ / "next" / ".env", "DB_CONNECTION_STRING=postgresql://u@next.example.com/db\n");
  fs::rename(ws_, root_ / "previous");
  fs::rename(root_ / "next", ws_);
  absl::StatusOr<v1::GetCurrentResponse> moved = Get();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->target().connection().host(), "next.example.com");
  // And the workspace gone.
  fs::remove_all(ws_);
  absl::StatusOr<v1::GetCurrentResponse> gone = Get();
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kNotFound) << gone.status();
}

TEST_F(WorkspaceTest, SecondCallSeesDeletion) {
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@one.example.com/db\n");
  ASSERT_TRUE(Get().ok());
  fs::remove(ws_ / ".env");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->env_file_exists());
  EXPECT_FALSE(r->target().is_set());
}

TEST_F(WorkspaceTest, SecondCallSeesNewDsToml) {
  Write(ws_ / ".env", "A=postgresql://u@a.example.com/db\nB=postgresql://u@b.example.com/db\n");
  v1::WorkspaceRef req = Request();
  (*req.mutable_overrides()->mutable_flags())["target_var"] = "A";
  absl::StatusOr<v1::GetCurrentResponse> r1 = Get(req);
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(r1->target().connection().host(), "a.example.com");
  Write(ws_ / "ds.toml", "source_var = \"B\"\n");
  absl::StatusOr<v1::GetCurrentResponse> r2 = Get(req);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->source().connection().host(), "b.example.com");
}

// ---------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------

TEST_F(WorkspaceTest, UnresolvedWithoutProviders) {
  Write(ws_ / ".env", StrCat("DB_CONNECTION_STRING=", kNeonUri,
                             "\n"
                             "SOURCE_DB_CONNECTION_STRING=postgresql://u@db.example.com/x\n"));
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->target().resolved());
  EXPECT_FALSE(r->target().unresolved_reason().empty());
  EXPECT_THAT(r->target().unresolved_reason(), HasSubstr("ep-cool-darkness-123456"));
  EXPECT_FALSE(r->source().resolved());
  EXPECT_THAT(r->source().unresolved_reason(), HasSubstr("db.example.com"));
  EXPECT_EQ(r->target().branch().branch_id(), "");
}

TEST_F(WorkspaceTest, FakeProviderResolvesItsHost) {
  BranchLocation where{"fake", "proj-1", "My Project", "br-abc-123", "dev-phil-local"};
  auto fake = std::make_unique<FakeProvider>("fake", "db.example.com", where);
  std::shared_ptr<int> calls = fake->calls();
  registry_.Add(std::move(fake));
  Write(ws_ / ".env",
        "DB_CONNECTION_STRING=postgresql://u:pw@db.example.com/app\n"
        "SOURCE_DB_CONNECTION_STRING=postgresql://u@other.example.com/app\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::DatabaseTarget& t = r->target();
  EXPECT_TRUE(t.resolved());
  EXPECT_EQ(t.unresolved_reason(), "");
  EXPECT_EQ(t.branch().provider(), "fake");
  EXPECT_EQ(t.branch().project_id(), "proj-1");
  EXPECT_EQ(t.branch().project_name(), "My Project");
  EXPECT_EQ(t.branch().branch_id(), "br-abc-123");
  EXPECT_EQ(t.branch().branch_name(), "dev-phil-local");
  // The other host is not the fake provider's.
  EXPECT_FALSE(r->source().resolved());
  EXPECT_FALSE(r->source().unresolved_reason().empty());
  EXPECT_EQ(*calls, 2);
}

TEST_F(WorkspaceTest, ProvidersAskedInOrder) {
  registry_.Add(std::make_unique<FakeProvider>("first", "elsewhere.example.com",
                                               BranchLocation{"first", "p1", "", "b1", "n1"}));
  registry_.Add(std::make_unique<FakeProvider>("second", "db.example.com",
                                               BranchLocation{"second", "p2", "", "b2", "n2"}));
  registry_.Add(std::make_unique<FakeProvider>("third", "db.example.com",
                                               BranchLocation{"third", "p3", "", "b3", "n3"}));
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@db.example.com/app\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->target().resolved());
  EXPECT_EQ(r->target().branch().provider(), "second");
  EXPECT_EQ(r->target().branch().branch_id(), "b2");
}

TEST_F(WorkspaceTest, ProviderErrorBecomesUnresolvedReason) {
  registry_.Add(std::make_unique<FailingProvider>());
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u:pw@db.example.com/app\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->target().resolved());
  EXPECT_THAT(r->target().unresolved_reason(), HasSubstr("flaky"));
  EXPECT_THAT(r->target().unresolved_reason(), HasSubstr("API unreachable"));
}

TEST_F(WorkspaceTest, ProviderNotAskedForInvalidString) {
  auto fake = std::make_unique<FakeProvider>("fake", "db.example.com",
                                             BranchLocation{"fake", "p", "", "b", "n"});
  std::shared_ptr<int> calls = fake->calls();
  registry_.Add(std::move(fake));
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@db.example.com/app?bogus=1\n");
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->target().resolved());
  EXPECT_EQ(*calls, 0);
}

// ---------------------------------------------------------------------------
// GetCurrentWithoutWaiting: answers at once, or defers before any provider
// is asked
// ---------------------------------------------------------------------------

TEST_F(WorkspaceTest, WithoutWaitingAnswersWhenNoProviderMayWait) {
  auto quick = std::make_unique<QuickProvider>("quick", "db.example.com",
                                               BranchLocation{"quick", "p", "", "b", "n"});
  std::shared_ptr<int> calls = quick->calls();
  registry_.Add(std::move(quick));
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@db.example.com/app\n");
  std::optional<absl::StatusOr<v1::GetCurrentResponse>> r =
      resolver_->GetCurrentWithoutWaiting(Request());
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->status();
  EXPECT_TRUE((*r)->target().resolved());
  EXPECT_EQ((*r)->target().branch().branch_id(), "b");
  EXPECT_EQ(*calls, 1);
}

TEST_F(WorkspaceTest, WithoutWaitingDefersWhenAProviderMayWait) {
  auto fake = std::make_unique<FakeProvider>("fake", "db.example.com",
                                             BranchLocation{"fake", "p", "", "b", "n"});
  std::shared_ptr<int> calls = fake->calls();
  registry_.Add(std::move(fake));  // says nothing: may wait for any address
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@db.example.com/app\n");
  EXPECT_FALSE(resolver_->GetCurrentWithoutWaiting(Request()).has_value());
  EXPECT_EQ(*calls, 0) << "deferred before any provider was asked";
  absl::StatusOr<v1::GetCurrentResponse> r = Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->target().resolved());
}

TEST_F(WorkspaceTest, WithoutWaitingAnswersWhenNothingIsToResolve) {
  registry_.Add(std::make_unique<FakeProvider>("fake", "db.example.com",
                                               BranchLocation{"fake", "p", "", "b", "n"}));
  Write(ws_ / ".env", "DB_CONNECTION_STRING=\nOTHER=1\n");
  std::optional<absl::StatusOr<v1::GetCurrentResponse>> r =
      resolver_->GetCurrentWithoutWaiting(Request());
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->status();
  EXPECT_FALSE((*r)->target().is_set());
}

TEST_F(WorkspaceTest, WithoutWaitingAnswersErrorsAtOnce) {
  v1::WorkspaceRef req;
  req.set_workspace_dir("relative/dir");
  std::optional<absl::StatusOr<v1::GetCurrentResponse>> r =
      resolver_->GetCurrentWithoutWaiting(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(WorkspaceTest, WithoutWaitingDefersWhileTheWorkspacesProviderIsToBeMade) {
  int made = 0;
  // Registered as "neon", a name the configuration may select.
  registry_.AddFactory("neon",
                       {.instance = [](const common::Config&) -> absl::StatusOr<std::string> {
                          return std::string("only");
                        },
                        .make = [&made](const common::Config&) -> std::unique_ptr<Provider> {
                          ++made;
                          return std::make_unique<QuickProvider>(
                              "lazy", "db.example.com", BranchLocation{"lazy", "p", "", "b", "n"});
                        }});
  Write(ws_ / "ds.toml", "provider = \"neon\"\n");
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@db.example.com/app\n");
  EXPECT_FALSE(resolver_->GetCurrentWithoutWaiting(Request()).has_value());
  EXPECT_EQ(made, 0);
  ASSERT_TRUE(Get().ok());  // makes it
  EXPECT_EQ(made, 1);
  std::optional<absl::StatusOr<v1::GetCurrentResponse>> r =
      resolver_->GetCurrentWithoutWaiting(Request());
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->status();
  EXPECT_EQ((*r)->target().branch().provider(), "lazy");
}

// ---------------------------------------------------------------------------
// Workspace directory validation
// ---------------------------------------------------------------------------

TEST_F(WorkspaceTest, ValidateWorkspaceDirAcceptsDir) {
  EXPECT_TRUE(ValidateWorkspaceDir(ws_.string()).ok());
}

TEST_F(WorkspaceTest, ValidateWorkspaceDirEmpty) {
  absl::Status s = ValidateWorkspaceDir("");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(s), HasSubstr("absolute"));
}

TEST_F(WorkspaceTest, ValidateWorkspaceDirRelative) {
  absl::Status s = ValidateWorkspaceDir("app");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(s), HasSubstr("relative"));
  EXPECT_THAT(Msg(s), HasSubstr("'app'"));
}

TEST_F(WorkspaceTest, ValidateWorkspaceDirMissing) {
  std::string missing = (root_ / "missing").string();
  absl::Status s = ValidateWorkspaceDir(missing);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(s), HasSubstr(missing));
}

TEST_F(WorkspaceTest, ValidateWorkspaceDirFile) {
  Write(ws_ / ".env", "A=1\n");
  std::string file = (ws_ / ".env").string();
  absl::Status s = ValidateWorkspaceDir(file);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(s), HasSubstr(file));
  EXPECT_THAT(Msg(s), HasSubstr("not a directory"));
}

TEST_F(WorkspaceTest, GetCurrentValidatesWorkspaceDir) {
  v1::WorkspaceRef req;
  EXPECT_EQ(Get(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.set_workspace_dir("relative/dir");
  EXPECT_EQ(Get(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.set_workspace_dir((root_ / "missing").string());
  EXPECT_EQ(Get(req).status().code(), absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// WatchedDirs / LoadConfig
// ---------------------------------------------------------------------------

TEST_F(WorkspaceTest, WatchedDirsIncludeEnvFileDir) {
  fs::create_directories(ws_ / "config");
  Write(ws_ / "ds.toml", "env_file = \"config/app.env\"\n");
  absl::StatusOr<std::set<fs::path>> dirs = resolver_->WatchedDirs(Request());
  ASSERT_TRUE(dirs.ok()) << dirs.status();
  EXPECT_EQ(dirs->count(ws_), 1u);
  EXPECT_EQ(dirs->count(ws_ / "config"), 1u);
}

TEST_F(WorkspaceTest, WatchedDirsOfBrokenWorkspaceStillWatchWorkspace) {
  Write(ws_ / "ds.toml", "colour = 1\n");
  absl::StatusOr<std::set<fs::path>> dirs = resolver_->WatchedDirs(Request());
  ASSERT_TRUE(dirs.ok()) << dirs.status();
  EXPECT_EQ(dirs->count(ws_), 1u);
}

TEST_F(WorkspaceTest, LoadConfigReportsOrigins) {
  Write(ws_ / ".env", "DS_STAGE=ci\n");
  fs::path env_file;
  absl::StatusOr<common::Config> c = resolver_->LoadConfig(Request(), &env_file);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(env_file, ws_ / ".env");
  EXPECT_EQ(c->Get("stage"), "ci");
  EXPECT_EQ(c->OriginOf("stage").kind, common::OriginKind::kDotenv);
  EXPECT_EQ(c->OriginOf("stage").location, StrCat((ws_ / ".env").string(), ":1"));
}

TEST(ToProtoOriginKindTest, MapsEveryKind) {
  EXPECT_EQ(ToProtoOriginKind(common::OriginKind::kDefault), v1::Origin::KIND_DEFAULT);
  EXPECT_EQ(ToProtoOriginKind(common::OriginKind::kUserConfig), v1::Origin::KIND_USER_CONFIG);
  EXPECT_EQ(ToProtoOriginKind(common::OriginKind::kWorkspaceToml), v1::Origin::KIND_WORKSPACE_TOML);
  EXPECT_EQ(ToProtoOriginKind(common::OriginKind::kDotenv), v1::Origin::KIND_DOTENV);
  EXPECT_EQ(ToProtoOriginKind(common::OriginKind::kEnvironment), v1::Origin::KIND_ENVIRONMENT);
  EXPECT_EQ(ToProtoOriginKind(common::OriginKind::kFlag), v1::Origin::KIND_FLAG);
}

// GetCurrent reuses its last reading of a workspace while the files are
// unchanged: every change, and each request's own overrides, must still show.
TEST_F(WorkspaceTest, ReusedReadingFollowsEveryChange) {
  Write(ws_ / ".env",
        "DB_CONNECTION_STRING=postgresql://u@one.example.com/db\n"
        "OTHER_DB=postgresql://u@other.example.com/db\n");
  auto host = [&](const v1::WorkspaceRef& r) {
    absl::StatusOr<v1::GetCurrentResponse> resp = Get(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->target().connection().host() : std::string("(error)");
  };
  EXPECT_EQ(host(Request()), "one.example.com");
  EXPECT_EQ(host(Request()), "one.example.com");

  // Overrides of one request do not leak into the next, nor the reverse.
  v1::WorkspaceRef with_env = Request();
  (*with_env.mutable_overrides()->mutable_environment())["DS_TARGET_VAR"] = "OTHER_DB";
  EXPECT_EQ(host(with_env), "other.example.com");
  EXPECT_EQ(host(Request()), "one.example.com");
  EXPECT_EQ(host(with_env), "other.example.com");

  // The workspace's ds.toml, then the user's config.
  WriteByRename(ws_ / "ds.toml", "target_var = \"OTHER_DB\"\n");
  EXPECT_EQ(host(Request()), "other.example.com");
  WriteByRename(ws_ / "ds.toml", "\n");
  EXPECT_EQ(host(Request()), "one.example.com");
  WriteByRename(paths_.user_config(), "target_var = \"OTHER_DB\"\n");
  EXPECT_EQ(host(Request()), "other.example.com");
  fs::remove(paths_.user_config());
  EXPECT_EQ(host(Request()), "one.example.com");

  // The .env: rewritten in place, removed, back again.
  Write(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@three.example.com/db\n");
  EXPECT_EQ(host(Request()), "three.example.com");
  fs::remove(ws_ / ".env");
  absl::StatusOr<v1::GetCurrentResponse> gone = Get();
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_FALSE(gone->env_file_exists());
  EXPECT_FALSE(gone->target().is_set());
  WriteByRename(ws_ / ".env", "DB_CONNECTION_STRING=postgresql://u@four.example.com/db\n");
  absl::StatusOr<v1::GetCurrentResponse> back = Get();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->env_file_exists());
  EXPECT_EQ(back->target().connection().host(), "four.example.com");
}

}  // namespace
}  // namespace ds::daemon
