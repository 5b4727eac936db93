#include "client/secret_args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace ds::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// argv as the kernel lays it out: the strings back to back in one block.
class Argv {
 public:
  explicit Argv(const std::vector<std::string>& args) {
    for (const std::string& a : args) {
      block_.insert(block_.end(), a.begin(), a.end());
      block_.push_back('\0');
    }
    size_t at = 0;
    for (const std::string& a : args) {
      ptrs_.push_back(block_.data() + at);
      at += a.size() + 1;
    }
    ptrs_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(ptrs_.size()) - 1; }
  char** argv() { return ptrs_.data(); }
  // What /proc/<pid>/cmdline shows: the whole block.
  std::string block() const { return std::string(block_.begin(), block_.end()); }

 private:
  std::vector<char> block_;
  std::vector<char*> ptrs_;
};

TEST(CopyAndScrubArgs, ParsesTheOriginalsAndMasksThemInPlace) {
  Argv a({"ds", "db", "migrate", "--db", "postgresql://app:s3cr3t-pw@db.example.com/app",
          "--dir=drizzle"});
  const size_t size = a.block().size();
  std::vector<std::string> args = CopyAndScrubArgs(a.argc(), a.argv());
  EXPECT_THAT(args, ElementsAre("db", "migrate", "--db",
                                "postgresql://app:s3cr3t-pw@db.example.com/app", "--dir=drizzle"));
  EXPECT_THAT(a.block(), Not(HasSubstr("s3cr3t-pw")));
  EXPECT_THAT(a.block(), HasSubstr("postgresql://app:****@db.example.com/app"));
  EXPECT_THAT(a.block(), HasSubstr("--dir=drizzle"));
  EXPECT_EQ(a.block().size(), size) << "never written past argv's block";
}

TEST(CopyAndScrubArgs, EqualsFormAndKeywordForm) {
  Argv a({"ds", "--db=postgres://u:pw-one@h/d", "--db", "host=h password='two words' dbname=d"});
  std::vector<std::string> args = CopyAndScrubArgs(a.argc(), a.argv());
  EXPECT_EQ(args[0], "--db=postgres://u:pw-one@h/d");
  EXPECT_EQ(args[2], "host=h password='two words' dbname=d");
  EXPECT_THAT(a.block(), Not(HasSubstr("pw-one")));
  EXPECT_THAT(a.block(), Not(HasSubstr("two words")));
}

TEST(CopyAndScrubArgs, ShortPasswordIsMaskedThoughTheMaskIsLonger) {
  // "p" becomes "****": three bytes longer than the argument has room for,
  // so the masked text is cut, never the secret left.
  Argv a({"ds", "postgresql://u:p@h"});
  const size_t size = a.block().size();
  CopyAndScrubArgs(a.argc(), a.argv());
  EXPECT_EQ(a.block().size(), size);
  EXPECT_THAT(a.block(), Not(HasSubstr(":p@")));
  EXPECT_EQ(a.block(), std::string("ds\0postgresql://u:***\0", 22));
}

TEST(CopyAndScrubArgs, LeavesOrdinaryArgumentsAlone) {
  Argv a({"ds", "db", "create-branch", "feature-x", "--parent", "main"});
  std::string before = a.block();
  CopyAndScrubArgs(a.argc(), a.argv());
  EXPECT_EQ(a.block(), before);
}

TEST(ResolveConnectionOption, ValueWinsThenEnvironment) {
  ::setenv("DS_DB", "postgresql://from-env/x", 1);
  EXPECT_EQ(*ResolveConnectionOption(kDbOption, "postgresql://given/x"), "postgresql://given/x");
  EXPECT_EQ(*ResolveConnectionOption(kDbOption, ""), "postgresql://from-env/x");
  ::unsetenv("DS_DB");
  EXPECT_EQ(*ResolveConnectionOption(kDbOption, ""), "");
}

// Runs `f` with stdin reading `input` from a pipe.
template <typename F>
auto WithStdin(const std::string& input, F f) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  EXPECT_EQ(::write(fds[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  ::close(fds[1]);
  int saved = ::dup(STDIN_FILENO);
  ::dup2(fds[0], STDIN_FILENO);
  ::close(fds[0]);
  auto result = f();
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  return result;
}

TEST(ResolveConnectionOption, DashReadsOneLineFromStdin) {
  absl::StatusOr<std::string> r = WithStdin("postgresql://u:pw@piped/x\nsecond line\n",
                                            [] { return ResolveConnectionOption(kDbOption, "-"); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "postgresql://u:pw@piped/x");
}

TEST(ResolveConnectionOption, DashWithEmptyStdinIsAUsageError) {
  absl::StatusOr<std::string> r =
      WithStdin("", [] { return ResolveConnectionOption(kSourceDbOption, "-"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("--source-db -"));
}

TEST(IsConnectionEnvVar, NamesTheThree) {
  EXPECT_TRUE(IsConnectionEnvVar("DS_DB"));
  EXPECT_TRUE(IsConnectionEnvVar("DS_SOURCE_DB"));
  EXPECT_TRUE(IsConnectionEnvVar("DS_TARGET_DB"));
  EXPECT_FALSE(IsConnectionEnvVar("DS_STAGE"));
}

}  // namespace
}  // namespace ds::client
