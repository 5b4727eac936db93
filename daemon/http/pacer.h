// Request pacing for one API account: at least `min_spacing` between two
// requests, and at most `max_per_window` requests in any `window`, so that
// dsd stays under a service's rate limits (leaving room for the user's other
// tools) instead of running into 429s and backing off.
#ifndef DS_DAEMON_HTTP_PACER_H_
#define DS_DAEMON_HTTP_PACER_H_

#include <chrono>
#include <deque>
#include <mutex>

#include "daemon/http/clock.h"

namespace ds::daemon::http {

struct PacerOptions {
  std::chrono::milliseconds min_spacing{0};  // 0: no spacing
  int max_per_window = 0;                    // 0: no budget
  std::chrono::milliseconds window{60000};
};

class Pacer {
 public:
  // `clock` must outlive the pacer.
  explicit Pacer(PacerOptions options, Clock& clock = RealClock());

  // Waits (on the calling thread, holding no lock while it sleeps) until
  // one more request fits, and counts it; returns the time reserved for it.
  // Thread-safe: each caller reserves its own slot, so concurrent callers
  // are spaced out too.
  std::chrono::steady_clock::time_point Acquire();

 private:
  const PacerOptions options_;
  Clock& clock_;
  std::mutex mu_;
  // Times of the last max_per_window (at least one) reserved sends, oldest
  // first; some may lie in the future, reserved by callers still waiting.
  std::deque<std::chrono::steady_clock::time_point> slots_;
};

}  // namespace ds::daemon::http

#endif  // DS_DAEMON_HTTP_PACER_H_
