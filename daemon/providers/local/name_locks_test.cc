#include "daemon/providers/local/name_locks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>

namespace ds::daemon {
namespace {

// Runs Lock(exclusive, shared) on a thread and tells whether it got the
// names; the thread keeps them until Finish().
class Contender {
 public:
  Contender(NameLocks* locks, std::vector<std::string> exclusive, std::vector<std::string> shared) {
    thread_ = std::thread([=, this] {
      NameLocks::Held held = locks->Lock(exclusive, shared);
      acquired_ = true;
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return finish_; });
    });
  }
  ~Contender() { Finish(); }
  bool acquired() const { return acquired_; }
  void Finish() {
    {
      std::lock_guard lock(mu_);
      finish_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> acquired_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool finish_ = false;
  std::thread thread_;
};

// Waits until `n` Lock() calls wait (they do not spin, so this is the only
// way to know a contender reached the lock rather than not having started).
void WaitForWaiters(const NameLocks& locks, int n) {
  while (locks.waiting() != n) std::this_thread::yield();
}

TEST(NameLocksTest, ExclusiveNameWaitsForTheHolder) {
  NameLocks locks;
  std::optional<NameLocks::Held> held(locks.Lock({"feature"}, {}));
  Contender delete_same(&locks, {"feature"}, {});
  WaitForWaiters(locks, 1);
  EXPECT_FALSE(delete_same.acquired());
  held.reset();
  delete_same.Finish();
  EXPECT_TRUE(delete_same.acquired());
  EXPECT_EQ(locks.waiting(), 0);
}

TEST(NameLocksTest, CopiesOfOneParentShareItAndDifferentNamesDoNotWait) {
  NameLocks locks;
  NameLocks::Held a = locks.Lock({"copy-a"}, {"main"});
  NameLocks::Held b = locks.Lock({"copy-b"}, {"main"});  // the test would hang if it waited
  NameLocks::Held c = locks.Lock({"copy-c"}, {"other"});
  EXPECT_EQ(locks.waiting(), 0);
}

TEST(NameLocksTest, DeletingAParentWaitsForEveryCopyOfIt) {
  NameLocks locks;
  std::optional<NameLocks::Held> copy1(locks.Lock({"x"}, {"parent"}));
  std::optional<NameLocks::Held> copy2(locks.Lock({"y"}, {"parent"}));
  Contender delete_parent(&locks, {"parent"}, {});
  WaitForWaiters(locks, 1);
  copy1.reset();
  EXPECT_FALSE(delete_parent.acquired()) << "copy2 still holds the parent";
  copy2.reset();
  delete_parent.Finish();
  EXPECT_TRUE(delete_parent.acquired());
}

TEST(NameLocksTest, AWaiterHoldsNothingSoOthersAreNotBlockedByIt) {
  NameLocks locks;
  std::optional<NameLocks::Held> x(locks.Lock({"x"}, {}));
  // Wants x and y: waits for x without holding y.
  Contender both(&locks, {"x", "y"}, {});
  WaitForWaiters(locks, 1);
  std::optional<NameLocks::Held> y(locks.Lock({"y"}, {}));  // does not wait
  EXPECT_FALSE(both.acquired());
  x.reset();  // x is free now, y is not
  EXPECT_FALSE(both.acquired());
  y.reset();
  both.Finish();
  EXPECT_TRUE(both.acquired());
}

TEST(NameLocksTest, ANameInBothListsIsExclusive) {
  NameLocks locks;
  std::optional<NameLocks::Held> self_parent(locks.Lock({"n", "n"}, {"n"}));
  Contender reader(&locks, {}, {"n"});
  WaitForWaiters(locks, 1);
  EXPECT_FALSE(reader.acquired());
  self_parent.reset();
  reader.Finish();
  EXPECT_TRUE(reader.acquired());
}

}  // namespace
}  // namespace ds::daemon
