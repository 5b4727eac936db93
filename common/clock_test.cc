#include "common/clock.h"

#include <gtest/gtest.h>

namespace ds::common {
namespace {

TEST(ClockTest, FormatsUtc) {
  EXPECT_EQ(FormatUnixMillis(0, "%Y-%m-%d %H:%M:%S", TimeZone::kUtc), "1970-01-01 00:00:00");
  // 2024-02-29 12:34:56.789 UTC: milliseconds are dropped, not rounded.
  EXPECT_EQ(FormatUnixMillis(1709210096789, "%Y%m%d%H%M%S", TimeZone::kUtc), "20240229123456");
  EXPECT_EQ(FormatUnixMillis(-1, "%Y-%m-%d %H:%M:%S", TimeZone::kUtc), "1969-12-31 23:59:59");
}

TEST(ClockTest, NowMovesForward) {
  int64_t wall = UnixMillisNow();
  EXPECT_GT(wall, 1700000000000);  // after November 2023: a real clock, not zero
  int64_t a = MonotonicMillisNow();
  int64_t b = MonotonicMillisNow();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace ds::common
