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

constexpr int64_t kDay = 24LL * 3600 * 1000;

TEST(Rfc3339, ParsesWhatProvidersSend) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseRfc3339("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00-00:30"), 1800 * 1000);
  EXPECT_FALSE(ParseRfc3339(""));
  EXPECT_FALSE(ParseRfc3339("2026-12-04"));
  EXPECT_FALSE(ParseRfc3339("2026-13-04T00:00:00Z"));
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2026-12-04T21:45:55Z")), "2026-12-04T21:45:55Z");
}

TEST(Duration, UnitsAndErrors) {
  EXPECT_EQ(*ParseDuration("14d"), 14 * kDay);
  EXPECT_EQ(*ParseDuration("2w"), 14 * kDay);
  EXPECT_EQ(*ParseDuration("36h"), 36LL * 3600 * 1000);
  EXPECT_EQ(*ParseDuration("90m"), 90LL * 60 * 1000);
  for (const char* bad : {"", "d", "14", "0d", "-1d", "1y", "1.5d"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace ds::common
