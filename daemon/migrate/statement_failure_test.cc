#include "daemon/migrate/statement_failure.h"

#include <gtest/gtest.h>

namespace ds::daemon {
namespace {

TEST(PositionInFileTest, CountsLinesAndColumnsFromTheStatementsFirstLine) {
  std::string stmt = "CREATE TABLE t (\n  id serial,\n  bad typo\n);";
  // 'b' of "bad" is character 31 (1-based).
  size_t offset = stmt.find("bad");
  EXPECT_EQ(PositionInFile(stmt, static_cast<int>(offset) + 1, 1), "3:3");
  EXPECT_EQ(PositionInFile(stmt, static_cast<int>(offset) + 1, 10), "12:3");
  EXPECT_EQ(PositionInFile(stmt, 1, 4), "4:1");
}

TEST(PositionInFileTest, PostgresCountsCharactersNotBytes) {
  std::string stmt = "SELECT 'héllo', oops";
  // PostgreSQL reports the position of "oops" in characters: é is one.
  EXPECT_EQ(PositionInFile(stmt, 17, 1), "1:17");
}

TEST(ShortenStatementTest, CollapsesWhitespaceAndCuts) {
  EXPECT_EQ(ShortenStatement("  CREATE\n  TABLE\tt (id int);\n"), "CREATE TABLE t (id int);");
  std::string long_stmt(300, 'x');
  std::string s = ShortenStatement(long_stmt, 20);
  EXPECT_EQ(s, std::string(20, 'x') + "…");
  // Never cuts inside a UTF-8 character.
  std::string accents;
  for (int i = 0; i < 30; ++i) accents += "é";
  std::string cut = ShortenStatement(accents, 11);
  EXPECT_EQ(cut, std::string("ééééé") + "…");
}

}  // namespace
}  // namespace ds::daemon
