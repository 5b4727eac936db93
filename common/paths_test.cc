#include "common/paths.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "common/status_testing.h"
#include "common/strings.h"

namespace ds::common {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

mode_t ModeOf(const fs::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Saves the variables ResolvePaths reads and restores them afterwards; each
// test starts with all of them unset except HOME, which points at a
// temporary directory.
class PathsTest : public ::testing::Test {
 protected:
  static constexpr const char* kVars[] = {"XDG_RUNTIME_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME",
                                          "XDG_DATA_HOME",   "DS_STATE_DIR",   "HOME"};

  void SetUp() override {
    for (const char* v : kVars) {
      const char* old = std::getenv(v);
      saved_.emplace_back(v, old ? std::optional<std::string>(old) : std::nullopt);
      ::unsetenv(v);
    }
    std::string tmpl = (fs::temp_directory_path() / "ds-paths-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
    home_ = tmp_ / "home";
    fs::create_directories(home_);
    ::setenv("HOME", home_.c_str(), 1);
  }

  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
    std::error_code ec;
    // Undo permission changes that could stop remove_all for non-root users.
    for (auto it = fs::recursive_directory_iterator(tmp_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
    }
    fs::remove_all(tmp_, ec);
  }

  fs::path tmp_;
  fs::path home_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// ---------------------------------------------------------------------------
// ResolvePaths
// ---------------------------------------------------------------------------

TEST_F(PathsTest, FallbacksUnderHomeAndTmp) {
  Paths p = ResolvePaths();
  EXPECT_EQ(p.runtime_dir, fs::path(StrCat("/tmp/ds-", ::geteuid())));
  EXPECT_EQ(p.state_dir, home_ / ".local/state/ds");
  EXPECT_EQ(p.config_dir, home_ / ".config/ds");
  EXPECT_EQ(p.data_dir, home_ / ".local/share/ds");
}

TEST_F(PathsTest, XdgVariablesUsed) {
  ::setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
  ::setenv("XDG_STATE_HOME", "/xdg/state", 1);
  ::setenv("XDG_CONFIG_HOME", "/xdg/config", 1);
  ::setenv("XDG_DATA_HOME", "/xdg/data", 1);
  Paths p = ResolvePaths();
  EXPECT_EQ(p.runtime_dir, fs::path("/run/user/4242/ds"));
  EXPECT_EQ(p.state_dir, fs::path("/xdg/state/ds"));
  EXPECT_EQ(p.config_dir, fs::path("/xdg/config/ds"));
  EXPECT_EQ(p.data_dir, fs::path("/xdg/data/ds"));
}

TEST_F(PathsTest, RelativeXdgValuesIgnored) {
  ::setenv("XDG_RUNTIME_DIR", "run/user", 1);
  ::setenv("XDG_STATE_HOME", "state", 1);
  ::setenv("XDG_CONFIG_HOME", "./config", 1);
  ::setenv("XDG_DATA_HOME", "data", 1);
  Paths p = ResolvePaths();
  EXPECT_EQ(p.runtime_dir, fs::path(StrCat("/tmp/ds-", ::geteuid())));
  EXPECT_EQ(p.state_dir, home_ / ".local/state/ds");
  EXPECT_EQ(p.config_dir, home_ / ".config/ds");
  EXPECT_EQ(p.data_dir, home_ / ".local/share/ds");
}

TEST_F(PathsTest, EmptyXdgValuesIgnored) {
  ::setenv("XDG_RUNTIME_DIR", "", 1);
  ::setenv("XDG_CONFIG_HOME", "", 1);
  Paths p = ResolvePaths();
  EXPECT_EQ(p.runtime_dir, fs::path(StrCat("/tmp/ds-", ::geteuid())));
  EXPECT_EQ(p.config_dir, home_ / ".config/ds");
}

TEST_F(PathsTest, DsStateDirWinsOverXdgStateHome) {
  ::setenv("XDG_STATE_HOME", "/xdg/state", 1);
  ::setenv("DS_STATE_DIR", "/srv/ds-state", 1);
  Paths p = ResolvePaths();
  EXPECT_EQ(p.state_dir, fs::path("/srv/ds-state"));
  // Only the state dir moves.
  EXPECT_EQ(p.config_dir, home_ / ".config/ds");
}

TEST_F(PathsTest, OverrideWinsOverDsStateDir) {
  ::setenv("XDG_STATE_HOME", "/xdg/state", 1);
  ::setenv("DS_STATE_DIR", "/srv/ds-state", 1);
  Paths p = ResolvePaths("/opt/override");
  EXPECT_EQ(p.state_dir, fs::path("/opt/override"));
}

TEST_F(PathsTest, EmptyOverrideMeansNone) {
  ::setenv("DS_STATE_DIR", "/srv/ds-state", 1);
  EXPECT_EQ(ResolvePaths("").state_dir, fs::path("/srv/ds-state"));
}

TEST_F(PathsTest, RelativeStateDirsMadeAbsolute) {
  fs::path cwd = fs::current_path();
  ::setenv("DS_STATE_DIR", "rel/state", 1);
  Paths p = ResolvePaths();
  EXPECT_TRUE(p.state_dir.is_absolute()) << p.state_dir;
  EXPECT_EQ(p.state_dir, cwd / "rel/state");
  Paths q = ResolvePaths("other");
  EXPECT_TRUE(q.state_dir.is_absolute()) << q.state_dir;
  EXPECT_EQ(q.state_dir, cwd / "other");
}

TEST_F(PathsTest, DerivedFiles) {
  ::setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
  ::setenv("XDG_CONFIG_HOME", "/cfg", 1);
  Paths p = ResolvePaths("/st");
  EXPECT_EQ(p.socket(), fs::path("/run/user/7/ds/dsd.sock"));
  EXPECT_EQ(p.spawn_lock(), fs::path("/run/user/7/ds/spawn.lock"));
  EXPECT_EQ(p.pid_file(), fs::path("/st/dsd.pid"));
  EXPECT_EQ(p.log_file(), fs::path("/st/dsd.log"));
  EXPECT_EQ(p.user_config(), fs::path("/cfg/ds/config.toml"));
}

// ---------------------------------------------------------------------------
// EnsurePrivateDir / CheckPrivateDir
// ---------------------------------------------------------------------------

TEST_F(PathsTest, EnsureCreatesPrivateDir) {
  fs::path dir = tmp_ / "run";
  absl::Status s = EnsurePrivateDir(dir);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(ModeOf(dir), 0700u);
}

TEST_F(PathsTest, EnsureCreatesPrivateDirUnderPermissiveUmask) {
  mode_t old = ::umask(0);
  fs::path dir = tmp_ / "run";
  absl::Status s = EnsurePrivateDir(dir);
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(ModeOf(dir), 0700u);
}

TEST_F(PathsTest, EnsureCreatesMissingParents) {
  fs::path dir = tmp_ / "a/b/c/ds";
  absl::Status s = EnsurePrivateDir(dir);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(ModeOf(dir), 0700u);
}

TEST_F(PathsTest, EnsureIsIdempotent) {
  fs::path dir = tmp_ / "run";
  ASSERT_TRUE(EnsurePrivateDir(dir).ok());
  std::ofstream(dir / "keep") << "x";
  absl::Status s = EnsurePrivateDir(dir);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(fs::exists(dir / "keep"));
}

TEST_F(PathsTest, EnsureAcceptsExistingDirNotWritableByOthers) {
  for (mode_t mode : {0700, 0750, 0755, 0500}) {
    fs::path dir = tmp_ / StrCat("m", mode);
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(dir.c_str(), mode), 0);
    absl::Status s = EnsurePrivateDir(dir);
    EXPECT_TRUE(s.ok()) << std::oct << mode << ": " << s;
  }
}

TEST_F(PathsTest, EnsureRefusesGroupOrOtherWritableDirs) {
  for (mode_t mode : {0770, 0720, 0702, 0777, 01777}) {
    fs::path dir = tmp_ / StrCat("m", mode);
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(dir.c_str(), mode), 0);
    absl::Status s = EnsurePrivateDir(dir);
    ASSERT_FALSE(s.ok()) << std::oct << mode;
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(Msg(s), HasSubstr("chmod 700")) << Msg(s);
    EXPECT_THAT(Msg(s), HasSubstr(dir.string())) << Msg(s);
    // CheckPrivateDir agrees.
    EXPECT_FALSE(CheckPrivateDir(dir).ok());
  }
}

TEST_F(PathsTest, EnsureRefusesRegularFile) {
  fs::path file = tmp_ / "file";
  std::ofstream(file) << "not a dir";
  absl::Status s = EnsurePrivateDir(file);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr(file.string()));
  EXPECT_THAT(Msg(s), HasSubstr("not a directory"));
  EXPECT_TRUE(fs::is_regular_file(file));
}

TEST_F(PathsTest, EnsureRefusesSymlinkToDir) {
  fs::path real = tmp_ / "real";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  fs::path link = tmp_ / "link";
  fs::create_directory_symlink(real, link);
  EXPECT_FALSE(EnsurePrivateDir(link).ok());
}

TEST_F(PathsTest, EnsureFailsUnderAFile) {
  fs::path file = tmp_ / "file";
  std::ofstream(file) << "x";
  absl::Status s = EnsurePrivateDir(file / "sub");
  EXPECT_FALSE(s.ok());
}

TEST_F(PathsTest, CheckDoesNotCreate) {
  fs::path dir = tmp_ / "missing";
  absl::Status s = CheckPrivateDir(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr(dir.string()));
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(PathsTest, CheckAcceptsPrivateDir) {
  fs::path dir = tmp_ / "ok";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
  EXPECT_TRUE(CheckPrivateDir(dir).ok());
}

TEST_F(PathsTest, RefusesDirOwnedBySomeoneElse) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  fs::path dir = tmp_ / "theirs";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  absl::Status s = EnsurePrivateDir(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(s), HasSubstr("65534"));
  EXPECT_THAT(Msg(s), HasSubstr(dir.string()));
  EXPECT_FALSE(CheckPrivateDir(dir).ok());
}

}  // namespace
}  // namespace ds::common
