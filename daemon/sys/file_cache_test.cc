#include "daemon/sys/file_cache.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status_testing.h"
#include "daemon/sys/file_writes_testing.h"

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct stat StatOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st;
}

class FileCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ds-file-cache-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A cache whose parser records every call and returns the text, or
  // "<missing>" when the file does not exist; text starting with "bad"
  // is a parse error.
  ParsedFileCache<std::string> MakeCache() {
    return ParsedFileCache<std::string>(
        [this](const fs::path& path,
               const std::optional<std::string>& text) -> absl::StatusOr<std::string> {
          ++calls_;
          {
            std::lock_guard lock(mu_);
            last_path_ = path;
          }
          if (!text) return std::string("<missing>");
          if (text->starts_with("bad")) {
            return absl::InvalidArgumentError("cannot parse " + path.string());
          }
          return *text;
        });
  }

  std::string GetValue(ParsedFileCache<std::string>& cache, const fs::path& p) {
    absl::StatusOr<std::shared_ptr<const std::string>> v = cache.Get(p);
    if (!v.ok()) return "ERROR: " + Msg(v.status());
    return **v;
  }

  fs::path dir_;
  std::atomic<int> calls_{0};
  std::mutex mu_;
  fs::path last_path_;
};

// ---------------------------------------------------------------------------
// IdentifyFile / FileIdentity
// ---------------------------------------------------------------------------

TEST_F(FileCacheTest, IdentifyMissingFile) {
  absl::StatusOr<FileIdentity> id = IdentifyFile(dir_ / "nope");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_FALSE(id->exists);
  EXPECT_TRUE(*id == FileIdentity{});
}

TEST_F(FileCacheTest, IdentifyExistingFile) {
  fs::path p = dir_ / "f";
  WriteInPlace(p, "hello");
  absl::StatusOr<FileIdentity> id = IdentifyFile(p);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_TRUE(id->exists);
  EXPECT_EQ(id->size, 5);
  EXPECT_EQ(id->ino, StatOf(p).st_ino);
  absl::StatusOr<FileIdentity> again = IdentifyFile(p);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*id == *again);
}

TEST_F(FileCacheTest, IdentifyDirectoryIsError) {
  absl::StatusOr<FileIdentity> id = IdentifyFile(dir_);
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(Msg(id.status()), HasSubstr(dir_.string()));
}

TEST(FileIdentityTest, EveryFieldCounts) {
  FileIdentity a;
  a.exists = true;
  a.dev = 1;
  a.ino = 2;
  a.size = 3;
  a.mtime = {4, 5};
  a.ctime = {6, 7};
  FileIdentity b = a;
  EXPECT_TRUE(a == b);
  b = a, b.exists = false;
  EXPECT_FALSE(a == b);
  b = a, b.dev = 9;
  EXPECT_FALSE(a == b);
  b = a, b.ino = 9;
  EXPECT_FALSE(a == b);
  b = a, b.size = 9;
  EXPECT_FALSE(a == b);
  b = a, b.mtime.tv_sec = 9;
  EXPECT_FALSE(a == b);
  b = a, b.mtime.tv_nsec = 9;
  EXPECT_FALSE(a == b);
  b = a, b.ctime.tv_sec = 9;
  EXPECT_FALSE(a == b);
  b = a, b.ctime.tv_nsec = 9;
  EXPECT_FALSE(a == b);
}

TEST(FileIdentityTest, TwoMissingFilesAreEqual) {
  FileIdentity a, b;
  b.ino = 42;  // ignored when the file does not exist
  EXPECT_TRUE(a == b);
}

// ---------------------------------------------------------------------------
// ParsedFileCache
// ---------------------------------------------------------------------------

TEST_F(FileCacheTest, UnchangedFileParsedOnce) {
  fs::path p = dir_ / ".env";
  WriteInPlace(p, "A=1\n");
  auto cache = MakeCache();
  absl::StatusOr<std::shared_ptr<const std::string>> first = cache.Get(p);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(**first, "A=1\n");
  EXPECT_EQ(calls_.load(), 1);
  EXPECT_EQ(last_path_, p);
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<std::shared_ptr<const std::string>> again = cache.Get(p);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->get(), first->get()) << "same cached object";
  }
  EXPECT_EQ(calls_.load(), 1);
}

TEST_F(FileCacheTest, InPlaceEditWithNewSizeReparsed) {
  fs::path p = dir_ / ".env";
  WriteInPlace(p, "A=1\n");
  auto cache = MakeCache();
  EXPECT_EQ(GetValue(cache, p), "A=1\n");
  WriteInPlace(p, "A=12345\n");
  EXPECT_EQ(GetValue(cache, p), "A=12345\n");
  EXPECT_EQ(calls_.load(), 2);
}

TEST_F(FileCacheTest, InPlaceEditSameSizeNewMtimeReparsed) {
  fs::path p = dir_ / ".env";
  WriteInPlace(p, "A=1\n");
  // Give the first version an old timestamp so the edit surely differs.
  timespec old_times[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), old_times, 0), 0);
  auto cache = MakeCache();
  EXPECT_EQ(GetValue(cache, p), "A=1\n");
  WriteInPlace(p, "A=2\n");
  EXPECT_EQ(GetValue(cache, p), "A=2\n");
  EXPECT_EQ(calls_.load(), 2);
}

TEST_F(FileCacheTest, AtomicRenameWithSameSizeAndMtimeReparsed) {
  fs::path p = dir_ / ".env";
  fs::path tmp = dir_ / ".env.tmp";
  WriteInPlace(p, "A=1\n");
  timespec times[2] = {{1000000000, 123}, {1000000000, 123}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
  auto cache = MakeCache();
  EXPECT_EQ(GetValue(cache, p), "A=1\n");

  // Same size, same mtime; only the inode (and maybe ctime) differs.
  WriteInPlace(tmp, "A=2\n");
  ASSERT_EQ(::utimensat(AT_FDCWD, tmp.c_str(), times, 0), 0);
  ino_t old_ino = StatOf(p).st_ino;
  ASSERT_EQ(::rename(tmp.c_str(), p.c_str()), 0);
  struct stat now = StatOf(p);
  ASSERT_NE(now.st_ino, old_ino);
  ASSERT_EQ(now.st_size, 4);
  ASSERT_EQ(now.st_mtim.tv_sec, 1000000000);
  ASSERT_EQ(now.st_mtim.tv_nsec, 123);

  EXPECT_EQ(GetValue(cache, p), "A=2\n");
  EXPECT_EQ(calls_.load(), 2);
}

// Rewriting a file in place right after it was read, with the same size,
// leaves the mtime and ctime unchanged on file systems whose timestamps are
// coarser than the time between the two writes. The cache must still not
// serve the old contents.
TEST_F(FileCacheTest, QuickSameSizeInPlaceRewritesAreSeen) {
  fs::path p = dir_ / ".env";
  auto cache = MakeCache();
  int stale = 0;
  for (int i = 0; i < 200; ++i) {
    std::string a = "A=" + std::to_string(i % 10) + "\n";
    std::string b = "A=" + std::to_string((i + 1) % 10) + "\n";
    WriteInPlace(p, a);
    if (GetValue(cache, p) != a) ++stale;
    WriteInPlace(p, b);
    if (GetValue(cache, p) != b) ++stale;
  }
  EXPECT_EQ(stale, 0) << stale << " of 400 reads returned stale contents";
}

TEST_F(FileCacheTest, MissingFileGivesNullopt) {
  fs::path p = dir_ / "absent.toml";
  auto cache = MakeCache();
  EXPECT_EQ(GetValue(cache, p), "<missing>");
  EXPECT_EQ(GetValue(cache, p), "<missing>");
  EXPECT_EQ(calls_.load(), 1) << "a missing file is cached too";
}

TEST_F(FileCacheTest, EmptyFileIsNotMissing) {
  fs::path p = dir_ / "empty";
  WriteInPlace(p, "");
  auto cache = MakeCache();
  EXPECT_EQ(GetValue(cache, p), "");
}

TEST_F(FileCacheTest, FileAppearsAndDisappears) {
  fs::path p = dir_ / ".env";
  auto cache = MakeCache();
  EXPECT_EQ(GetValue(cache, p), "<missing>");
  WriteInPlace(p, "A=1\n");
  EXPECT_EQ(GetValue(cache, p), "A=1\n");
  ASSERT_EQ(::unlink(p.c_str()), 0);
  EXPECT_EQ(GetValue(cache, p), "<missing>");
  EXPECT_EQ(calls_.load(), 3);
}

TEST_F(FileCacheTest, ParseErrorsAreCached) {
  fs::path p = dir_ / "ds.toml";
  WriteInPlace(p, "bad stuff\n");
  auto cache = MakeCache();
  absl::StatusOr<std::shared_ptr<const std::string>> a = cache.Get(p);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(a.status()), HasSubstr(p.string()));
  absl::StatusOr<std::shared_ptr<const std::string>> b = cache.Get(p);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(a.status(), b.status());
  EXPECT_EQ(calls_.load(), 1) << "a broken file is not re-read until it changes";

  WriteInPlace(p, "good\n");
  EXPECT_EQ(GetValue(cache, p), "good\n");
  EXPECT_EQ(calls_.load(), 2);
}

TEST_F(FileCacheTest, PathsCachedSeparately) {
  fs::path a = dir_ / "a";
  fs::path b = dir_ / "b";
  WriteInPlace(a, "AAA");
  WriteInPlace(b, "BBB");
  auto cache = MakeCache();
  EXPECT_EQ(GetValue(cache, a), "AAA");
  EXPECT_EQ(GetValue(cache, b), "BBB");
  EXPECT_EQ(GetValue(cache, a), "AAA");
  EXPECT_EQ(GetValue(cache, b), "BBB");
  EXPECT_EQ(calls_.load(), 2);
}

TEST_F(FileCacheTest, DirectoryIsErrorWithoutParsing) {
  auto cache = MakeCache();
  absl::StatusOr<std::shared_ptr<const std::string>> v = cache.Get(dir_);
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(FileCacheTest, OldValueStaysValidAfterReparse) {
  fs::path p = dir_ / ".env";
  WriteInPlace(p, "first");
  auto cache = MakeCache();
  absl::StatusOr<std::shared_ptr<const std::string>> a = cache.Get(p);
  ASSERT_TRUE(a.ok());
  WriteInPlace(p, "second!");
  absl::StatusOr<std::shared_ptr<const std::string>> b = cache.Get(p);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(**a, "first");
  EXPECT_EQ(**b, "second!");
}

TEST_F(FileCacheTest, ConcurrentGetsAgree) {
  fs::path p = dir_ / ".env";
  WriteInPlace(p, "A=1\n");
  auto cache = MakeCache();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        absl::StatusOr<std::shared_ptr<const std::string>> v = cache.Get(p);
        if (!v.ok() || **v != "A=1\n") ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(calls_.load(), 4) << "at most one parse per racing first caller";
}

}  // namespace
}  // namespace ds::daemon
