#include "daemon/sys/path_watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/sys/file_cache.h"
#include "daemon/sys/file_writes_testing.h"

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;

void WriteByRename(const fs::path& p, const std::string& text) {
  fs::path tmp = p;
  tmp += ".tmp";
  WriteInPlace(tmp, text);
  ASSERT_EQ(::rename(tmp.c_str(), p.c_str()), 0);
}

class PathWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ds-path-watch-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = fs::canonical(tmpl);
    // The tests below check what the watch vouches for; on a filesystem it
    // does not trust, it vouches for nothing, which the last test covers.
    ASSERT_TRUE(PathWatch::OnLocalFilesystem(dir_))
        << dir_ << " is not on a local filesystem; set TMPDIR to one";
    absl::StatusOr<std::unique_ptr<PathWatch>> watch = PathWatch::Create();
    ASSERT_TRUE(watch.ok()) << watch.status();
    watch_ = *std::move(watch);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  uint64_t Epoch() {
    std::optional<uint64_t> e = watch_->Epoch();
    EXPECT_TRUE(e.has_value()) << "one thread alone always gets an epoch";
    return e.value_or(0);
  }

  fs::path dir_;
  std::unique_ptr<PathWatch> watch_;
};

// Each change is seen by the very next Epoch(), with nothing waited for:
// that is what makes skipping the stat() safe.
TEST_F(PathWatchTest, EveryKindOfChangeMovesTheEpochAtOnce) {
  fs::path file = dir_ / ".env";
  WriteInPlace(file, "A=1\n");
  ASSERT_TRUE(watch_->Watch(file));
  const std::vector<std::pair<std::string, std::function<void()>>> changes = {
      {"write in place, same size", [&] { WriteInPlace(file, "A=2\n"); }},
      {"replace by rename", [&] { WriteByRename(file, "A=3\n"); }},
      {"chmod", [&] { ASSERT_EQ(::chmod(file.c_str(), 0600), 0); }},
      {"append without closing",
       [&] {
         // The descriptor stays open across the check: no IN_CLOSE_WRITE yet.
         int fd = ::open(file.c_str(), O_WRONLY | O_APPEND);
         ASSERT_GE(fd, 0);
         uint64_t before = Epoch();
         ASSERT_EQ(::write(fd, "B=1\n", 4), 4);
         EXPECT_NE(Epoch(), before);
         ::close(fd);
       }},
      {"delete", [&] { fs::remove(file); }},
      {"create", [&] { WriteInPlace(file, "A=4\n"); }},
      {"rename away", [&] { fs::rename(file, dir_ / "old.env"); }},
      {"rename back", [&] { fs::rename(dir_ / "old.env", file); }},
  };
  for (const auto& [what, change] : changes) {
    uint64_t before = Epoch();
    EXPECT_EQ(Epoch(), before) << "nothing changed before: " << what;
    change();
    EXPECT_NE(Epoch(), before) << what;
  }
}

TEST_F(PathWatchTest, OtherEntriesInTheDirectoryDoNotMoveTheEpoch) {
  fs::path file = dir_ / ".env";
  WriteInPlace(file, "A=1\n");
  ASSERT_TRUE(watch_->Watch(file));
  uint64_t before = Epoch();
  WriteInPlace(dir_ / "main.ts", "edit");
  WriteByRename(dir_ / "other.txt", "x");
  fs::remove(dir_ / "other.txt");
  EXPECT_EQ(Epoch(), before);
}

// A directory on the way replaced or renamed: the path now names another
// file, although the file itself was never touched.
TEST_F(PathWatchTest, ChangesOnTheWayMoveTheEpoch) {
  fs::create_directories(dir_ / "a" / "ws");
  fs::path file = dir_ / "a" / "ws" / ".env";
  WriteInPlace(file, "A=1\n");
  ASSERT_TRUE(watch_->Watch(file));

  uint64_t before = Epoch();
  fs::rename(dir_ / "a", dir_ / "a-old");
  EXPECT_NE(Epoch(), before) << "grandparent renamed";

  ASSERT_TRUE(watch_->Watch(file));  // the path is missing now: watched from dir_
  before = Epoch();
  fs::create_directories(dir_ / "a" / "ws");
  EXPECT_NE(Epoch(), before) << "missing directory created";

  ASSERT_TRUE(watch_->Watch(file));
  before = Epoch();
  WriteInPlace(file, "A=2\n");
  EXPECT_NE(Epoch(), before) << "file created in the new directory";

  ASSERT_TRUE(watch_->Watch(file));
  before = Epoch();
  ASSERT_EQ(::chmod((dir_ / "a").c_str(), 0700), 0);
  EXPECT_NE(Epoch(), before) << "permissions of a directory on the way";
}

TEST_F(PathWatchTest, RefusesWhatItCannotVouchFor) {
  fs::create_directories(dir_ / "real");
  WriteInPlace(dir_ / "real" / ".env", "A=1\n");
  fs::create_directory_symlink(dir_ / "real", dir_ / "link");
  fs::create_symlink(dir_ / "real" / ".env", dir_ / "env-link");

  EXPECT_FALSE(watch_->Watch(dir_ / "link" / ".env")) << "symlink on the way";
  EXPECT_FALSE(watch_->Watch(dir_ / "env-link")) << "the file is a symlink";
  EXPECT_FALSE(watch_->Watch("real/.env")) << "relative";
  EXPECT_FALSE(watch_->Watch(dir_ / "link" / ".." / "real" / ".env")) << "not normal";
  EXPECT_FALSE(watch_->Watch(dir_ / "real" / "")) << "trailing separator";
  EXPECT_TRUE(watch_->Watch(dir_ / "real" / ".env"));
  EXPECT_TRUE(watch_->Watch(dir_ / "missing" / "deeper" / "ds.toml"));
}

TEST_F(PathWatchTest, NotLocalFilesystems) {
  EXPECT_FALSE(PathWatch::OnLocalFilesystem("/proc/self"));
  EXPECT_FALSE(PathWatch::OnLocalFilesystem(dir_ / "does-not-exist"));
  EXPECT_FALSE(watch_->Watch("/proc/self/status"));
}

// The cache with a watch: a change right before Get is always seen, and an
// unchanged file is parsed once.
TEST_F(PathWatchTest, CacheSeesAnEditMadeJustBefore) {
  int parses = 0;
  ParsedFileCache<std::string> cache(
      [&](const fs::path&, const std::optional<std::string>& text) -> absl::StatusOr<std::string> {
        ++parses;
        return text.value_or("<missing>");
      },
      watch_.get());
  fs::path file = dir_ / ".env";
  auto get = [&] {
    absl::StatusOr<std::shared_ptr<const std::string>> v = cache.Get(file, nullptr, Epoch());
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? **v : std::string("(error)");
  };
  EXPECT_EQ(get(), "<missing>");
  for (int i = 0; i < 200; ++i) {
    // Same size every time, in place or by rename, read back at once.
    std::string text = "A=" + std::to_string(100 + i) + "\n";
    if (i % 2) {
      WriteInPlace(file, text);
    } else {
      WriteByRename(file, text);
    }
    ASSERT_EQ(get(), text) << "edit " << i;
  }
  int before = parses;
  EXPECT_EQ(get(), "A=299\n");
  EXPECT_EQ(get(), "A=299\n");
  EXPECT_EQ(parses, before);
  fs::remove(file);
  EXPECT_EQ(get(), "<missing>");
}

}  // namespace
}  // namespace ds::daemon
