#include "client/usage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace ds::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(EditDistance, CountsEdits) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("migrate", "migrate"), 0u);
  EXPECT_EQ(EditDistance("migrat", "migrate"), 1u);   // insert
  EXPECT_EQ(EditDistance("mgirate", "migrate"), 1u);  // swap neighbours
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
}

TEST(ClosestMatch, SuggestsTyposAndUniquePrefixes) {
  std::vector<std::string> cmds = {"setup", "db", "jobs", "config", "daemon", "version"};
  EXPECT_EQ(ClosestMatch("verison", cmds), "version");
  EXPECT_EQ(ClosestMatch("confg", cmds), "config");
  EXPECT_EQ(ClosestMatch("ver", cmds), "version");  // the only one it starts
  EXPECT_EQ(ClosestMatch("d", cmds), "");           // db and daemon: ambiguous, too short
  EXPECT_EQ(ClosestMatch("nosuchcmd", cmds), "");   // nothing close
}

TEST(ClosestMatch, IgnoresOptionDashes) {
  std::vector<std::string> opts = {"--db", "--dir", "--dry-run", "--json", "-C", "--workspace"};
  EXPECT_EQ(ClosestMatch("--dry-rn", opts), "--dry-run");
  EXPECT_EQ(ClosestMatch("--jsno", opts), "--json");
  EXPECT_EQ(ClosestMatch("--work", opts), "--workspace");
  EXPECT_EQ(ClosestMatch("--bogus", opts), "");
}

// A small command tree shaped like ds's, parsed as ds_main parses.
class DescribeTest : public ::testing::Test {
 protected:
  DescribeTest() {
    app_.name("ds");
    app_.require_subcommand(1);
    app_.fallthrough();
    app_.add_option("-C,--workspace", workspace_, "");
    CLI::App* db = app_.add_subcommand("db", "");
    db->require_subcommand(1);
    CLI::App* migrate = db->add_subcommand("migrate", "");
    migrate->add_option("--db", value_, "");
    migrate->add_flag("--dry-run", flag_, "");
    migrate->add_option("--lock-timeout", seconds_, "")->check(NonNegativeSeconds());
    db->add_subcommand("current", "");
    CLI::App* jobs = app_.add_subcommand("jobs", "");
    jobs->require_subcommand(1);
    jobs->add_subcommand("list", "")
        ->add_option("-n,--limit", limit_, "")
        ->check(WholeNumberAtLeast(1));
  }

  // What ds prints for `ds <args>`; "" when it parses.
  std::string Error(std::vector<std::string> args) {
    std::reverse(args.begin(), args.end());
    try {
      app_.parse(std::move(args));
    } catch (const CLI::ParseError& e) {
      return DescribeParseError(app_, e);
    }
    return "";
  }

  CLI::App app_{"test"};
  std::string workspace_, value_;
  bool flag_ = false;
  double seconds_ = 0;
  int limit_ = 0;
};

TEST_F(DescribeTest, UnknownTopLevelOptionIsNamed) {
  std::string e = Error({"--bogus"});
  EXPECT_THAT(e, HasSubstr("unknown option --bogus"));
  EXPECT_THAT(e, Not(HasSubstr("subcommand is required")));
}

TEST_F(DescribeTest, UnknownOptionOfASubcommandGetsTheClosest) {
  EXPECT_EQ(Error({"db", "migrate", "--dry-rn"}),
            "unknown option --dry-rn for `ds db migrate`; did you mean --dry-run?");
  EXPECT_EQ(Error({"db", "migrate", "--db=x", "--workspce", "/w"}),
            "unknown option --workspce for `ds db migrate`; did you mean --workspace?");
  EXPECT_THAT(Error({"db", "migrate", "--bogus=1"}),
              HasSubstr("unknown option --bogus for `ds db migrate`; `ds db migrate --help`"));
}

TEST_F(DescribeTest, UnknownCommandIsNamedWithTheClosest) {
  EXPECT_EQ(Error({"db", "migrat"}),
            "`ds db migrat` is not a command; did you mean `ds db migrate`?");
  EXPECT_EQ(Error({"jbos", "list"}), "`ds jbos` is not a command; did you mean `ds jobs`?");
  std::string e = Error({"nosuchcmd"});
  EXPECT_THAT(e, HasSubstr("`ds nosuchcmd` is not a command"));
  EXPECT_THAT(e, HasSubstr("db, jobs"));
}

TEST_F(DescribeTest, MissingCommandListsTheChoices) {
  EXPECT_EQ(Error({"db"}),
            "`ds db` needs a command: migrate, current; `ds db --help` explains them");
  EXPECT_THAT(Error({}), HasSubstr("`ds` needs a command: db, jobs"));
}

TEST_F(DescribeTest, ExtraArgumentOfALeafIsNamed) {
  EXPECT_THAT(Error({"db", "current", "extra"}),
              HasSubstr("`ds db current` takes no argument 'extra'"));
}

TEST_F(DescribeTest, RangesReadAsPeopleWriteThem) {
  std::string zero = Error({"jobs", "list", "-n", "0"});
  EXPECT_THAT(zero, HasSubstr("--limit"));
  EXPECT_THAT(zero, HasSubstr("must be 1 or more, not 0"));
  EXPECT_THAT(zero, Not(HasSubstr("0.000000")));
  std::string huge = Error({"jobs", "list", "-n", "99999999999999"});
  EXPECT_THAT(huge, HasSubstr("99999999999999 is too large"));
  EXPECT_THAT(huge, HasSubstr("give a whole number from 1 to 2147483647"));
  EXPECT_THAT(Error({"jobs", "list", "-n", "x"}),
              HasSubstr("takes a whole number, 1 or more, not 'x'"));
  std::string negative = Error({"db", "migrate", "--lock-timeout", "-1"});
  EXPECT_THAT(negative, HasSubstr("--lock-timeout: must be 0 seconds or more, not -1"));
  EXPECT_THAT(negative, Not(HasSubstr("179769")));  // DBL_MAX's 309 digits
  EXPECT_THAT(Error({"db", "migrate", "--lock-timeout", "inf"}), HasSubstr("not 'inf'"));
  EXPECT_EQ(Error({"db", "migrate", "--lock-timeout", "2.5"}), "");
  EXPECT_EQ(seconds_, 2.5);
}

}  // namespace
}  // namespace ds::client
