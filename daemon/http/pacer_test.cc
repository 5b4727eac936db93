#include "daemon/http/pacer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace ds::daemon::http {
namespace {

using std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

// Whether no `window` holds more than `max` of `sends` (sorted).
bool WithinBudget(const std::vector<TimePoint>& sends, int max, milliseconds window) {
  for (size_t i = max; i < sends.size(); ++i) {
    if (sends[i] - sends[i - max] < window) return false;
  }
  return true;
}

TEST(PacerTest, SpacesRequestsOut) {
  ManualClock clock;
  Pacer pacer({.min_spacing = milliseconds(25)}, clock);
  const TimePoint first = pacer.Acquire();
  EXPECT_EQ(first, clock.Now()) << "the first request waits for nothing";
  pacer.Acquire();
  pacer.Acquire();
  EXPECT_EQ(clock.sleeps(), (std::vector<milliseconds>{milliseconds(25), milliseconds(25)}));
  // Time that passed on its own counts toward the spacing.
  clock.Advance(milliseconds(10));
  pacer.Acquire();
  EXPECT_EQ(clock.sleeps().back(), milliseconds(15));
  clock.Advance(milliseconds(100));
  pacer.Acquire();
  EXPECT_EQ(clock.sleeps().size(), 3u) << "a request long after the last one goes at once";
}

TEST(PacerTest, StaysWithinTheBudgetOfEveryWindow) {
  ManualClock clock;
  const milliseconds window(300);
  Pacer pacer({.max_per_window = 3, .window = window}, clock);
  std::vector<TimePoint> sends;
  for (int i = 0; i < 7; ++i) sends.push_back(pacer.Acquire());
  // Three at once, then each group of three waits for the first of the
  // previous group to leave the window.
  EXPECT_EQ(clock.sleeps(), (std::vector<milliseconds>{window, window}));
  EXPECT_TRUE(WithinBudget(sends, 3, window));
  EXPECT_EQ(sends[6] - sends[0], 2 * window);
}

TEST(PacerTest, ConcurrentCallersReserveDistinctSpacedSlots) {
  ManualClock clock;
  Pacer pacer({.min_spacing = milliseconds(25), .max_per_window = 5, .window = milliseconds(1000)},
              clock);
  std::mutex mu;
  std::vector<TimePoint> sends;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        TimePoint slot = pacer.Acquire();
        std::lock_guard lock(mu);
        sends.push_back(slot);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::sort(sends.begin(), sends.end());
  ASSERT_EQ(sends.size(), 20u);
  for (size_t i = 1; i < sends.size(); ++i) {
    EXPECT_GE(sends[i] - sends[i - 1], milliseconds(25)) << i;
  }
  EXPECT_TRUE(WithinBudget(sends, 5, milliseconds(1000)));
}

TEST(PacerTest, NoLimitsNeverWaits) {
  ManualClock clock;
  Pacer pacer({}, clock);
  for (int i = 0; i < 100; ++i) pacer.Acquire();
  EXPECT_TRUE(clock.sleeps().empty());
}

}  // namespace
}  // namespace ds::daemon::http
