#include "daemon/http/retry_policy.h"

#include <gtest/gtest.h>

namespace ds::daemon::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

// 2026-01-01T00:00:00Z, a Thursday.
const system_clock::time_point kNewYear{seconds(1767225600)};

TEST(RetryPolicyTest, BackoffDoublesWithEqualJitterUpToTheCap) {
  RetryPolicy p;
  p.backoff_base = milliseconds(200);
  p.backoff_cap = milliseconds(1000);
  const milliseconds ceilings[] = {milliseconds(200), milliseconds(400), milliseconds(800),
                                   milliseconds(1000), milliseconds(1000)};
  for (int attempt = 1; attempt <= 5; ++attempt) {
    const milliseconds ceiling = ceilings[attempt - 1];
    for (int i = 0; i < 200; ++i) {
      milliseconds d = p.Backoff(attempt);
      EXPECT_GE(d, ceiling / 2) << attempt;
      EXPECT_LE(d, ceiling) << attempt;
    }
  }
  EXPECT_LE(p.Backoff(1000), p.backoff_cap) << "a huge attempt number does not overflow";
}

TEST(RetryPolicyTest, RetriesOnlyTheStatusesItNames) {
  RetryPolicy p;
  EXPECT_TRUE(p.RetriesStatus(429));
  EXPECT_TRUE(p.RetriesStatus(503));
  EXPECT_FALSE(p.RetriesStatus(423));
  EXPECT_FALSE(p.RetriesStatus(500));
  p.retry_statuses.insert(423);
  EXPECT_TRUE(p.RetriesStatus(423));
}

TEST(RetryAfterTest, Seconds) {
  EXPECT_EQ(ParseRetryAfter("2", kNewYear), milliseconds(2000));
  EXPECT_EQ(ParseRetryAfter(" 120 ", kNewYear), milliseconds(120000));
  EXPECT_EQ(ParseRetryAfter("0", kNewYear), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("1.5", kNewYear), milliseconds(1500));
  EXPECT_EQ(ParseRetryAfter("-1", kNewYear), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("2s", kNewYear), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", kNewYear), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", kNewYear), std::nullopt);
}

TEST(RetryAfterTest, HttpDatesInAllThreeFormats) {
  const auto later = kNewYear + seconds(90);
  EXPECT_EQ(ParseHttpDate("Thu, 01 Jan 2026 00:01:30 GMT"), later);
  EXPECT_EQ(ParseHttpDate("Thursday, 01-Jan-26 00:01:30 GMT"), later);
  EXPECT_EQ(ParseHttpDate("Thu Jan  1 00:01:30 2026"), later);
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 2026 00:01:30 GMT", kNewYear), milliseconds(90000));
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"),
            system_clock::time_point(seconds(784111777)));
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"),
            system_clock::time_point(seconds(784111777)));
}

TEST(RetryAfterTest, ADateInThePastIsNoWait) {
  EXPECT_EQ(ParseRetryAfter("Wed, 31 Dec 2025 23:59:00 GMT", kNewYear), milliseconds(0));
}

TEST(RetryAfterTest, MalformedDatesAreRefused) {
  for (const char* bad : {"Thu, 32 Jan 2026 00:00:00 GMT", "Fri, 30 Feb 2026 00:00:00 GMT",
                          "Thu, 01 Foo 2026 00:00:00 GMT", "Thu, 01 Jan 2026 24:00:00 GMT",
                          "Thu, 01 Jan 2026 00:00 GMT", "Thu, 01 Jan 2026 00:00:00 CET",
                          "01 Jan 2026 00:00:00 GMT", "Thu, 01 Jan 226 00:00:00 GMT"}) {
    EXPECT_EQ(ParseHttpDate(bad), std::nullopt) << bad;
    EXPECT_EQ(ParseRetryAfter(bad, kNewYear), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace ds::daemon::http
