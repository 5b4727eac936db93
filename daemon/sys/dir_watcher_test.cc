#include "daemon/sys/dir_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr auto kTimeout = 1s;

// Collects callback invocations and lets the test wait for one.
class Recorder {
 public:
  DirWatcher::Callback callback() {
    return [this](const fs::path& dir, const std::string& name) {
      std::lock_guard lock(mu_);
      events_.emplace_back(dir, name);
      cv_.notify_all();
    };
  }

  // Waits until an event for `name` in `dir` has been seen.
  bool WaitFor(const fs::path& dir, const std::string& name) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kTimeout, [&] {
      for (const auto& [d, n] : events_) {
        if (d == dir && n == name) return true;
      }
      return false;
    });
  }

  size_t CountFor(const std::string& name) const {
    std::lock_guard lock(mu_);
    size_t c = 0;
    for (const auto& e : events_) c += e.second == name;
    return c;
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return events_.size();
  }

  void Clear() {
    std::lock_guard lock(mu_);
    events_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<fs::path, std::string>> events_;
};

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

class DirWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ds-dir-watcher-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    a_ = root_ / "a";
    b_ = root_ / "b";
    fs::create_directories(a_);
    fs::create_directories(b_);
    absl::Status s = watcher_.Start();
    ASSERT_TRUE(s.ok()) << s;
  }
  void TearDown() override {
    watcher_.Stop();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Recorders live as long as the fixture, so a late event that arrives
  // before TearDown stops the watcher never reaches a destroyed one.
  Recorder& NewRecorder() { return recorders_.emplace_back(); }

  uint64_t MustSubscribe(std::set<fs::path> dirs, Recorder& r) {
    absl::StatusOr<uint64_t> t = watcher_.Subscribe(dirs, r.callback());
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : 0;
  }

  std::deque<Recorder> recorders_;  // declared first: destroyed last
  fs::path root_, a_, b_;
  DirWatcher watcher_;
};

TEST_F(DirWatcherTest, WriteAndCloseFires) {
  Recorder& r = NewRecorder();
  MustSubscribe({a_}, r);
  WriteFile(a_ / ".env", "A=1\n");
  EXPECT_TRUE(r.WaitFor(a_, ".env"));
}

TEST_F(DirWatcherTest, RenameIntoPlaceFires) {
  Recorder& r = NewRecorder();
  WriteFile(b_ / "staged", "A=2\n");  // b is not watched
  MustSubscribe({a_}, r);
  ASSERT_EQ(::rename((b_ / "staged").c_str(), (a_ / ".env").c_str()), 0);
  EXPECT_TRUE(r.WaitFor(a_, ".env"));
}

TEST_F(DirWatcherTest, RenameWithinDirFiresForNewName) {
  Recorder& r = NewRecorder();
  WriteFile(a_ / ".env.tmp", "A=3\n");
  MustSubscribe({a_}, r);
  ASSERT_EQ(::rename((a_ / ".env.tmp").c_str(), (a_ / ".env").c_str()), 0);
  EXPECT_TRUE(r.WaitFor(a_, ".env"));
}

TEST_F(DirWatcherTest, DeleteFires) {
  Recorder& r = NewRecorder();
  WriteFile(a_ / ".env", "A=1\n");
  MustSubscribe({a_}, r);
  ASSERT_EQ(::unlink((a_ / ".env").c_str()), 0);
  EXPECT_TRUE(r.WaitFor(a_, ".env"));
}

TEST_F(DirWatcherTest, CallbackGetsTheSubscribedDir) {
  Recorder& r = NewRecorder();
  MustSubscribe({a_, b_}, r);
  WriteFile(b_ / "x", "1");
  EXPECT_TRUE(r.WaitFor(b_, "x"));
  WriteFile(a_ / "y", "1");
  EXPECT_TRUE(r.WaitFor(a_, "y"));
}

TEST_F(DirWatcherTest, OnlySubscribedDirsReported) {
  Recorder& ra = NewRecorder();
  Recorder& rb = NewRecorder();
  MustSubscribe({a_}, ra);
  MustSubscribe({b_}, rb);
  WriteFile(a_ / "only-a", "1");
  WriteFile(b_ / "only-b", "1");
  ASSERT_TRUE(rb.WaitFor(b_, "only-b"));
  ASSERT_TRUE(ra.WaitFor(a_, "only-a"));
  EXPECT_EQ(ra.CountFor("only-b"), 0u);
  EXPECT_EQ(rb.CountFor("only-a"), 0u);
}

TEST_F(DirWatcherTest, TwoSubscribersOnOneDir) {
  Recorder& r1 = NewRecorder();
  Recorder& r2 = NewRecorder();
  MustSubscribe({a_}, r1);
  MustSubscribe({a_}, r2);
  EXPECT_EQ(watcher_.subscription_count(), 2u);
  WriteFile(a_ / ".env", "A=1\n");
  EXPECT_TRUE(r1.WaitFor(a_, ".env"));
  EXPECT_TRUE(r2.WaitFor(a_, ".env"));
}

TEST_F(DirWatcherTest, UnsubscribeStopsCallbacks) {
  Recorder& gone = NewRecorder();
  Recorder& sentinel = NewRecorder();
  uint64_t token = MustSubscribe({a_}, gone);
  MustSubscribe({b_}, sentinel);
  watcher_.Unsubscribe(token);
  EXPECT_EQ(watcher_.subscription_count(), 1u);
  WriteFile(a_ / ".env", "A=1\n");
  // Events of one inotify descriptor arrive in order: once the later event
  // in b is seen, the one in a has been handled (or dropped).
  WriteFile(b_ / "later", "1");
  ASSERT_TRUE(sentinel.WaitFor(b_, "later"));
  EXPECT_EQ(gone.size(), 0u);
}

TEST_F(DirWatcherTest, UnsubscribeOneOfTwoKeepsTheOther) {
  Recorder& gone = NewRecorder();
  Recorder& kept = NewRecorder();
  uint64_t token = MustSubscribe({a_}, gone);
  MustSubscribe({a_}, kept);
  watcher_.Unsubscribe(token);
  WriteFile(a_ / ".env", "A=1\n");
  ASSERT_TRUE(kept.WaitFor(a_, ".env"));
  EXPECT_EQ(gone.size(), 0u);
}

TEST_F(DirWatcherTest, ResubscribeAfterLastUnsubscribe) {
  Recorder& first = NewRecorder();
  Recorder& second = NewRecorder();
  uint64_t token = MustSubscribe({a_}, first);
  watcher_.Unsubscribe(token);
  EXPECT_EQ(watcher_.subscription_count(), 0u);
  MustSubscribe({a_}, second);
  WriteFile(a_ / ".env", "A=1\n");
  EXPECT_TRUE(second.WaitFor(a_, ".env"));
  EXPECT_EQ(first.size(), 0u);
}

TEST_F(DirWatcherTest, UnsubscribeUnknownTokenIsHarmless) {
  Recorder& r = NewRecorder();
  uint64_t token = MustSubscribe({a_}, r);
  watcher_.Unsubscribe(token + 1000);
  watcher_.Unsubscribe(token);
  watcher_.Unsubscribe(token);  // twice
  EXPECT_EQ(watcher_.subscription_count(), 0u);
}

TEST_F(DirWatcherTest, TokensAreDistinct) {
  Recorder& r = NewRecorder();
  uint64_t t1 = MustSubscribe({a_}, r);
  uint64_t t2 = MustSubscribe({a_}, r);
  uint64_t t3 = MustSubscribe({b_}, r);
  EXPECT_NE(t1, t2);
  EXPECT_NE(t2, t3);
  EXPECT_NE(t1, t3);
}

TEST_F(DirWatcherTest, MissingDirFails) {
  Recorder& r = NewRecorder();
  fs::path missing = root_ / "missing";
  absl::StatusOr<uint64_t> t = watcher_.Subscribe({missing}, r.callback());
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()), HasSubstr(missing.string()));
  EXPECT_EQ(watcher_.subscription_count(), 0u);
}

TEST_F(DirWatcherTest, RegularFileFails) {
  Recorder& r = NewRecorder();
  WriteFile(a_ / "file", "x");
  absl::StatusOr<uint64_t> t = watcher_.Subscribe({a_ / "file"}, r.callback());
  EXPECT_FALSE(t.ok());
}

TEST_F(DirWatcherTest, PartlyMissingSubscriptionFailsAsAWhole) {
  Recorder& r = NewRecorder();
  Recorder& other = NewRecorder();
  absl::StatusOr<uint64_t> t = watcher_.Subscribe({a_, root_ / "missing"}, r.callback());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(watcher_.subscription_count(), 0u);
  // The failed subscription leaves nothing behind: a later one on the same
  // dir works, and the failed callback never runs.
  MustSubscribe({a_}, other);
  WriteFile(a_ / ".env", "A=1\n");
  ASSERT_TRUE(other.WaitFor(a_, ".env"));
  EXPECT_EQ(r.size(), 0u);
}

TEST_F(DirWatcherTest, UnsubscribeWaitsForRunningCallback) {
  std::atomic<int> running{0};
  std::atomic<bool> entered{false};
  std::mutex m;
  std::condition_variable cv;
  absl::StatusOr<uint64_t> t =
      watcher_.Subscribe({a_}, [&](const fs::path&, const std::string&) {
        running = 1;
        {
          std::lock_guard lock(m);
          entered = true;
        }
        cv.notify_all();
        std::this_thread::sleep_for(50ms);
        running = 0;
      });
  ASSERT_TRUE(t.ok());
  WriteFile(a_ / "x", "1");
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, kTimeout, [&] { return entered.load(); }));
  }
  watcher_.Unsubscribe(*t);
  EXPECT_EQ(running.load(), 0) << "Unsubscribe returned while the callback was running";
}

TEST_F(DirWatcherTest, StopIsIdempotent) {
  Recorder& r = NewRecorder();
  MustSubscribe({a_}, r);
  watcher_.Stop();
  watcher_.Stop();
}

TEST(DirWatcherLifetimeTest, DestroyWithoutStart) { DirWatcher w; }

TEST(DirWatcherLifetimeTest, DestroyWhileSubscribed) {
  std::string tmpl = (fs::temp_directory_path() / "ds-dir-watcher-life-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  {
    Recorder r;  // outlives the watcher
    DirWatcher w;
    ASSERT_TRUE(w.Start().ok());
    ASSERT_TRUE(w.Subscribe({fs::path(tmpl)}, r.callback()).ok());
  }
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace ds::daemon
