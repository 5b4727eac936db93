#include "daemon/sys/pid_lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "common/status_testing.h"
#include "common/strings.h"
#include "common/version.h"

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// What a holder writes: its pid, then its version, one per line.
std::string Expected() { return StrCat(::getpid(), "\n", common::Version(), "\n"); }

// True when `msg` says "pid <pid>" with nothing more to the number.
bool NamesPid(const std::string& msg, pid_t pid) {
  std::string needle = StrCat("pid ", pid);
  for (size_t at = msg.find(needle); at != std::string::npos; at = msg.find(needle, at + 1)) {
    size_t end = at + needle.size();
    if (end == msg.size() || !std::isdigit(static_cast<unsigned char>(msg[end]))) return true;
  }
  return false;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class PidLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ds-pid-lock-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    pid_file_ = dir_ / "dsd.pid";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
  fs::path pid_file_;
};

TEST_F(PidLockTest, AcquireWritesOurPidAndVersion) {
  absl::StatusOr<PidLock> lock = PidLock::Acquire(pid_file_);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_EQ(ReadAll(pid_file_), Expected());
}

TEST_F(PidLockTest, NewFileIsPrivate) {
  absl::StatusOr<PidLock> lock = PidLock::Acquire(pid_file_);
  ASSERT_TRUE(lock.ok()) << lock.status();
  struct stat st;
  ASSERT_EQ(::stat(pid_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST_F(PidLockTest, StaleContentReplaced) {
  std::ofstream(pid_file_) << "999999999 and some longer junk from an old daemon\n";
  absl::StatusOr<PidLock> lock = PidLock::Acquire(pid_file_);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_EQ(ReadAll(pid_file_), Expected());
}

// flock locks belong to the open file description, so a second Acquire in
// the same process opens a new description and conflicts.
TEST_F(PidLockTest, SecondAcquireInSameProcessFails) {
  absl::StatusOr<PidLock> first = PidLock::Acquire(pid_file_);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<PidLock> second = PidLock::Acquire(pid_file_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  std::string msg = Msg(second.status());
  EXPECT_TRUE(NamesPid(msg, ::getpid())) << msg;
  EXPECT_THAT(msg, Not(HasSubstr("\n"))) << "a one-line message, the pid alone";
  EXPECT_THAT(msg, HasSubstr(dir_.string()));
  // The failed attempt must not have clobbered the holder's pid.
  EXPECT_EQ(ReadAll(pid_file_), Expected());
}

TEST_F(PidLockTest, ReacquireAfterRelease) {
  {
    absl::StatusOr<PidLock> first = PidLock::Acquire(pid_file_);
    ASSERT_TRUE(first.ok()) << first.status();
  }
  absl::StatusOr<PidLock> again = PidLock::Acquire(pid_file_);
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST_F(PidLockTest, MovedLockStillHeld) {
  std::optional<PidLock> holder;
  {
    absl::StatusOr<PidLock> first = PidLock::Acquire(pid_file_);
    ASSERT_TRUE(first.ok()) << first.status();
    holder.emplace(std::move(*first));
  }  // the moved-from object is destroyed here
  EXPECT_FALSE(PidLock::Acquire(pid_file_).ok()) << "moved-from destructor released the lock";
  holder.reset();
  EXPECT_TRUE(PidLock::Acquire(pid_file_).ok());
}

TEST_F(PidLockTest, OtherProcessHoldingLockIsNamed) {
  int to_child[2], to_parent[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(to_parent), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(to_child[1]);
    ::close(to_parent[0]);
    absl::StatusOr<PidLock> lock = PidLock::Acquire(pid_file_);
    char ok = lock.ok() ? 'y' : 'n';
    (void)!::write(to_parent[1], &ok, 1);
    char c;
    (void)!::read(to_child[0], &c, 1);  // hold until the parent is done
    ::_exit(0);
  }
  ::close(to_child[0]);
  ::close(to_parent[1]);
  char ok = 0;
  ASSERT_EQ(::read(to_parent[0], &ok, 1), 1);
  ASSERT_EQ(ok, 'y');

  absl::StatusOr<PidLock> mine = PidLock::Acquire(pid_file_);
  ASSERT_FALSE(mine.ok());
  std::string msg = Msg(mine.status());
  EXPECT_TRUE(NamesPid(msg, child)) << msg;
  EXPECT_FALSE(NamesPid(msg, ::getpid())) << msg;
  EXPECT_THAT(msg, Not(HasSubstr("\n"))) << msg;

  (void)!::write(to_child[1], "x", 1);
  ::close(to_child[1]);
  ::close(to_parent[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);

  // The kernel dropped the child's lock when it exited.
  absl::StatusOr<PidLock> after = PidLock::Acquire(pid_file_);
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST_F(PidLockTest, MissingDirectoryIsError) {
  absl::StatusOr<PidLock> lock = PidLock::Acquire(dir_ / "no" / "such" / "dsd.pid");
  ASSERT_FALSE(lock.ok());
  EXPECT_THAT(Msg(lock.status()), HasSubstr((dir_ / "no").string()));
}

}  // namespace
}  // namespace ds::daemon
