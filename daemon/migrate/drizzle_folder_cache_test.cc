#include "daemon/migrate/drizzle_folder_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "common/strings.h"

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;

class DrizzleFolderCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / StrCat("ds-folder-cache-", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "meta");
    Journal({"0000_a"});
    Write("0000_a.sql", "CREATE TABLE a (id int);");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::trunc) << text;
  }
  void Journal(const std::vector<std::string>& tags) {
    std::string entries;
    for (size_t i = 0; i < tags.size(); ++i) {
      StrAppend(&entries, i ? "," : "", "{\"idx\":", i,
                ",\"version\":\"7\",\"when\":", 1700000000000 + i, ",\"tag\":\"", tags[i],
                "\",\"breakpoints\":true}");
    }
    std::ofstream(dir_ / "meta" / "_journal.json", std::ios::trunc)
        << "{\"version\":\"7\",\"dialect\":\"postgresql\",\"entries\":[" << entries << "]}";
  }

  fs::path dir_;
};

TEST_F(DrizzleFolderCacheTest, ReusesAnUnchangedFolder) {
  DrizzleFolderCache cache(std::chrono::seconds(0));
  auto first = cache.Get(dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = cache.Get(dir_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->get(), second->get());
}

TEST_F(DrizzleFolderCacheTest, RereadsAnEditedFile) {
  DrizzleFolderCache cache(std::chrono::seconds(0));
  auto first = cache.Get(dir_);
  ASSERT_TRUE(first.ok());
  Write("0000_a.sql", "CREATE TABLE a (id bigint);");  // another size
  auto second = cache.Get(dir_);
  ASSERT_TRUE(second.ok());
  EXPECT_NE((*first)->migrations[0].hash, (*second)->migrations[0].hash);
}

TEST_F(DrizzleFolderCacheTest, SeesANewMigration) {
  DrizzleFolderCache cache(std::chrono::seconds(0));
  ASSERT_TRUE(cache.Get(dir_).ok());
  Write("0001_b.sql", "CREATE TABLE b (id int);");
  Journal({"0000_a", "0001_b"});
  auto again = cache.Get(dir_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->migrations.size(), 2u);
}

TEST_F(DrizzleFolderCacheTest, ErrorsAreNotCached) {
  DrizzleFolderCache cache(std::chrono::seconds(0));
  fs::remove(dir_ / "0000_a.sql");
  EXPECT_FALSE(cache.Get(dir_).ok());
  Write("0000_a.sql", "CREATE TABLE a (id int);");
  EXPECT_TRUE(cache.Get(dir_).ok());
}

TEST_F(DrizzleFolderCacheTest, RecentlyChangedFoldersAreReadEveryTime) {
  DrizzleFolderCache cache;  // default window: the files were just written
  auto first = cache.Get(dir_);
  auto second = cache.Get(dir_);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->get(), second->get());
}

}  // namespace
}  // namespace ds::daemon
