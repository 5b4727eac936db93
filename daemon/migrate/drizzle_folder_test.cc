#include "daemon/migrate/drizzle_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class DrizzleFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ds-drizzle-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const fs::path& rel, std::string_view text) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << text;
  }
  void Journal(std::string_view entries) {
    Write("meta/_journal.json",
          std::string(R"({"version":"7","dialect":"postgresql","entries":[)") +
              std::string(entries) + "]}");
  }
  fs::path dir_;
};

TEST(Sha256HexTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SplitStatementsTest, LiteralSplitKeepsWhitespaceAndTrailingPiece) {
  EXPECT_THAT(SplitStatements("CREATE TABLE a();--> statement-breakpoint\nCREATE TABLE b();"),
              ElementsAre("CREATE TABLE a();", "\nCREATE TABLE b();"));
  // Like drizzle, the marker splits even inside a string literal, and a
  // trailing marker leaves a whitespace-only piece.
  EXPECT_THAT(SplitStatements("SELECT '--> statement-breakpoint';--> statement-breakpoint\n"),
              ElementsAre("SELECT '", "';", "\n"));
}

TEST(DerivedFolderNameTest, MatchesDrizzleKitUp) {
  EXPECT_EQ(DerivedFolderName(1700000000000, "0003_bright_storm"), "20231114221320_bright_storm");
  EXPECT_EQ(DerivedFolderName(1700000000999, "custom"), "20231114221320_custom");
}

// The bytes-level parser tests/fuzz/fuzz_drizzle_journal drives.
TEST(ParseDrizzleJournalTest, EntriesInOrderAndErrorsNameTheJournal) {
  auto entries = ParseDrizzleJournal(
      R"({"entries":[{"tag":"0000_a","when":1},{"tag":"0001_b","when":2,"idx":1}]})", "j.json");
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].tag, "0001_b");
  EXPECT_EQ((*entries)[1].when, 2);
  for (const char* bad : {"", "{", "[]", R"({"entries":{}})", R"({"entries":[{"tag":1}]})"}) {
    auto r = ParseDrizzleJournal(bad, "j.json");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("j.json")) << bad;
  }
}

TEST_F(DrizzleFolderTest, JournalOrderHashesAndWarnings) {
  // Array order wins even when `when` goes backwards.
  Journal(R"({"idx":0,"version":"7","when":1700000002000,"tag":"0000_b","breakpoints":true},)"
          R"({"idx":1,"version":"7","when":1700000001000,"tag":"0001_a","breakpoints":true})");
  Write("0000_b.sql", "CREATE TABLE b();\r\n");
  Write("0001_a.sql", "-- ds:no-transaction\nCREATE INDEX CONCURRENTLY i ON b(x);");
  Write("9999_stray.sql", "SELECT 1;");
  absl::StatusOr<DrizzleFolder> f = ReadDrizzleFolder(dir_);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->layout, DrizzleFolder::Layout::kJournal);
  ASSERT_EQ(f->migrations.size(), 2u);
  EXPECT_EQ(f->migrations[0].tag, "0000_b");
  EXPECT_EQ(f->migrations[0].when, 1700000002000);
  EXPECT_EQ(f->migrations[0].hash, Sha256Hex("CREATE TABLE b();\r\n")) << "raw bytes, CRLF kept";
  EXPECT_FALSE(f->migrations[0].no_transaction);
  EXPECT_TRUE(f->migrations[1].no_transaction);
  EXPECT_EQ(f->migrations[1].name, "20231114221321_a");
  ASSERT_EQ(f->warnings.size(), 1u);
  EXPECT_THAT(f->warnings[0], HasSubstr("9999_stray.sql is not in meta/_journal.json"));
}

TEST_F(DrizzleFolderTest, JournalErrorsNameTheFile) {
  Journal(R"({"idx":0,"when":1,"tag":"0000_x"})");
  absl::StatusOr<DrizzleFolder> f = ReadDrizzleFolder(dir_);
  EXPECT_THAT(std::string(f.status().message()),
              HasSubstr("lists \"0000_x\" but " + (dir_ / "0000_x.sql").string()));

  Write("meta/_journal.json", "{not json");
  f = ReadDrizzleFolder(dir_);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("is not valid JSON"));

  Write("meta/_journal.json", R"({"entries":[{"idx":0,"tag":"0000_x"}]})");
  f = ReadDrizzleFolder(dir_);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("lacks a string \"tag\" or a numeric"));

  Write("meta/_journal.json", R"({"version":"7"})");
  f = ReadDrizzleFolder(dir_);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("no \"entries\" array"));
}

// A journal that lists one migration twice (a bad merge) would apply it
// twice: refused, naming both entries.
TEST_F(DrizzleFolderTest, DuplicateTagIdxOrFileIsRefusedNamingBothEntries) {
  Write("0000_a.sql", "SELECT 1;");
  Write("0001_b.sql", "SELECT 2;");
  Journal(R"({"idx":0,"when":1,"tag":"0000_a"},{"idx":1,"when":2,"tag":"0001_b"},)"
          R"({"idx":2,"when":3,"tag":"0000_a"})");
  absl::StatusOr<DrizzleFolder> f = ReadDrizzleFolder(dir_);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(f.status().message()),
              HasSubstr("lists tag \"0000_a\" twice: entries 0 and 2"));
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("nothing was run"));

  Journal(R"({"idx":0,"when":1,"tag":"0000_a"},{"idx":0,"when":2,"tag":"0001_b"})");
  f = ReadDrizzleFolder(dir_);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("lists idx 0 twice: entries 0 and 1"));

  Journal(R"({"idx":0,"when":1,"tag":"0000_a"},{"idx":1,"when":2,"tag":"./0000_a"})");
  f = ReadDrizzleFolder(dir_);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(
      std::string(f.status().message()),
      HasSubstr("lists the file " + (dir_ / "0000_a.sql").string() + " twice: entries 0 and 1"));

  // Distinct entries still read.
  Journal(R"({"idx":0,"when":1,"tag":"0000_a"},{"idx":1,"when":2,"tag":"0001_b"})");
  f = ReadDrizzleFolder(dir_);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->migrations.size(), 2u);
}

TEST_F(DrizzleFolderTest, EmptyMigrationIsAnError) {
  Journal(R"({"idx":0,"when":1,"tag":"0000_x"})");
  Write("0000_x.sql", "  \n\n");
  absl::StatusOr<DrizzleFolder> f = ReadDrizzleFolder(dir_);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("0000_x.sql is empty"));
}

TEST_F(DrizzleFolderTest, FolderLayoutSortedWithTimes) {
  Write("20240102030405_second/migration.sql", "SELECT 2;");
  Write("20240101000000_first/migration.sql", "SELECT 1;");
  Write("20240101000000_first/snapshot.json", "{}");
  absl::StatusOr<DrizzleFolder> f = ReadDrizzleFolder(dir_);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->layout, DrizzleFolder::Layout::kFolders);
  ASSERT_EQ(f->migrations.size(), 2u);
  EXPECT_EQ(f->migrations[0].name, "20240101000000_first");
  EXPECT_EQ(f->migrations[0].when, 1704067200000);
  EXPECT_EQ(f->migrations[1].when, 1704164645000);
}

TEST_F(DrizzleFolderTest, BothOrNeitherLayoutRefused) {
  absl::StatusOr<DrizzleFolder> f = ReadDrizzleFolder(dir_);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("holds no drizzle migrations"));
  Journal("");
  Write("20240101000000_first/migration.sql", "SELECT 1;");
  f = ReadDrizzleFolder(dir_);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("holds both"));
  f = ReadDrizzleFolder(dir_ / "missing");
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("does not exist"));
}

TEST_F(DrizzleFolderTest, BadFolderTimestampIsAnError) {
  Write("2024_oops/migration.sql", "SELECT 1;");
  absl::StatusOr<DrizzleFolder> f = ReadDrizzleFolder(dir_);
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("YYYYMMDDHHMMSS"));
}

}  // namespace
}  // namespace ds::daemon
