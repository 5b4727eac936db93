// When and how long to wait before trying an HTTP request again: the
// statuses that mean "later" (a rate limit, a busy resource, a service
// briefly down), jittered exponential backoff, and the server's own
// Retry-After, all bounded in attempts and in total time.
#ifndef DS_DAEMON_HTTP_RETRY_POLICY_H_
#define DS_DAEMON_HTTP_RETRY_POLICY_H_

#include <chrono>
#include <optional>
#include <set>
#include <string_view>

namespace ds::daemon::http {

struct RetryPolicy {
  int max_attempts = 6;
  std::chrono::milliseconds max_total{45000};   // all attempts of one call, waits included
  std::chrono::milliseconds backoff_base{200};  // the first wait's ceiling; doubles each time
  std::chrono::milliseconds backoff_cap{5000};
  // Answers worth asking again. 423 (Locked) means "busy" only on some APIs,
  // so it is not here by default.
  std::set<int> retry_statuses = {429, 503};

  bool RetriesStatus(int status) const { return retry_statuses.count(status) > 0; }
  // The wait after failed attempt `attempt` (1-based): "equal jitter", half
  // the exponential ceiling plus a random part of the other half, so retries
  // never bunch up at zero and many clients spread out.
  std::chrono::milliseconds Backoff(int attempt) const;
};

// A Retry-After header's wait: delay-seconds ("120", fractions accepted) or
// an HTTP date (IMF-fixdate, RFC 850 or asctime, as RFC 9110 asks), counted
// from `now`; a date in the past is no wait. nullopt when it parses as
// neither.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

// An HTTP date (the three formats above), to the second.
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view value);

}  // namespace ds::daemon::http

#endif  // DS_DAEMON_HTTP_RETRY_POLICY_H_
