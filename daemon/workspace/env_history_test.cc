#include "daemon/workspace/env_history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;

class EnvHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ds-env-history-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<std::string> Values(EnvHistory& h, const std::string& var) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<EnvHistoryEntry>> entries = h.List("/w/.env", var);
    EXPECT_TRUE(entries.ok()) << entries.status();
    if (entries.ok()) {
      for (const EnvHistoryEntry& e : *entries) out.push_back(e.value);
    }
    return out;
  }
  fs::path dir_;
};

TEST_F(EnvHistoryTest, RecordsTheReplacedValueAndTheNewOneNewestFirst) {
  EnvHistory h(dir_ / "env-history");
  ASSERT_TRUE(
      h.Record("/w/.env", "DB", "postgresql://u:pw0@h/a", "postgresql://u:pw1@h/b", 1).ok());
  ASSERT_TRUE(
      h.Record("/w/.env", "DB", "postgresql://u:pw1@h/b", "postgresql://u:pw2@h/c", 2).ok());
  EXPECT_THAT(Values(h, "DB"),
              ::testing::ElementsAre("postgresql://u:pw2@h/c", "postgresql://u:pw1@h/b",
                                     "postgresql://u:pw0@h/a"));
  // Other files and variables are apart.
  EXPECT_TRUE(Values(h, "SOURCE").empty());
  EXPECT_TRUE(h.List("/other/.env")->empty());
}

// The values hold passwords: the file is 0600 (in dsd's 0700 state dir).
TEST_F(EnvHistoryTest, FileIsOwnerOnly) {
  EnvHistory h(dir_ / "env-history");
  ASSERT_TRUE(h.Record("/w/.env", "DB", "", "postgresql://u:pw@h/a", 1).ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "env-history").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

// `cd -`: the previous value, and again toggles back.
TEST_F(EnvHistoryTest, PreviousTogglesLikeCdDash) {
  EnvHistory h(dir_ / "env-history");
  EXPECT_EQ(*h.Previous("/w/.env", "DB", "a"), std::nullopt);
  ASSERT_TRUE(h.Record("/w/.env", "DB", "a", "b", 1).ok());
  EXPECT_EQ(*h.Previous("/w/.env", "DB", "b"), "a");
  ASSERT_TRUE(h.Record("/w/.env", "DB", "b", "a", 2).ok());
  EXPECT_EQ(*h.Previous("/w/.env", "DB", "a"), "b");
  // Edited by hand meanwhile: the hand-made value is kept as well.
  ASSERT_TRUE(h.Record("/w/.env", "DB", "by-hand", "c", 3).ok());
  EXPECT_EQ(*h.Previous("/w/.env", "DB", "c"), "by-hand");
}

TEST_F(EnvHistoryTest, KeepsTheNewestPerFileAndVariable) {
  EnvHistory h(dir_ / "env-history", 3);
  ASSERT_TRUE(h.Record("/x/.env", "DB", "", "x", 0).ok());
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(h.Record("/w/.env", "DB", std::to_string(i - 1), std::to_string(i), i).ok());
  }
  EXPECT_THAT(Values(h, "DB"), ::testing::ElementsAre("5", "4", "3"));
  EXPECT_EQ(h.List("/x/.env")->size(), 1u);
}

// Values with tabs, line breaks and backslashes survive the file.
TEST_F(EnvHistoryTest, AnyValueRoundTrips) {
  const std::string odd = "host=h password='a\tb\nc\\\\d' dbname=x";
  {
    EnvHistory h(dir_ / "env-history");
    ASSERT_TRUE(h.Record("/w/.env", "DB", "", odd, 1).ok());
  }
  EnvHistory again(dir_ / "env-history");
  EXPECT_THAT(Values(again, "DB"), ::testing::ElementsAre(odd));
}

TEST_F(EnvHistoryTest, DamagedFileIsAnErrorThatQuotesNoValue) {
  std::ofstream(dir_ / "env-history") << "garbage with password=hunter2\n";
  EnvHistory h(dir_ / "env-history");
  absl::StatusOr<std::vector<EnvHistoryEntry>> l = h.List("/w/.env");
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(std::string(l.status().message()), ::testing::HasSubstr("env-history:1"));
  EXPECT_THAT(std::string(l.status().message()), ::testing::Not(::testing::HasSubstr("hunter2")));
}

}  // namespace
}  // namespace ds::daemon
