// Time as the retry and pacing policy sees it: the real clocks, or a test's
// (ManualClock), so that unit tests of backoff and pacing never really
// sleep and never depend on how fast the machine is.
#ifndef DS_DAEMON_HTTP_CLOCK_H_
#define DS_DAEMON_HTTP_CLOCK_H_

#include <chrono>
#include <mutex>
#include <vector>

namespace ds::daemon::http {

class Clock {
 public:
  virtual ~Clock() = default;
  // For deadlines and spacing.
  virtual std::chrono::steady_clock::time_point Now() = 0;
  // For Retry-After given as an HTTP date.
  virtual std::chrono::system_clock::time_point WallNow() = 0;
  virtual void SleepFor(std::chrono::milliseconds duration) = 0;
};

// The process's clocks; shared, thread-safe.
Clock& RealClock();

// A clock that moves only when slept on (or told to): SleepFor records the
// duration and advances both times by it, at once. Thread-safe.
class ManualClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() override;
  std::chrono::system_clock::time_point WallNow() override;
  void SleepFor(std::chrono::milliseconds duration) override;
  void Advance(std::chrono::milliseconds duration);
  // Every SleepFor so far, in order.
  std::vector<std::chrono::milliseconds> sleeps() const;

 private:
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
  // 2026-01-01T00:00:00Z: a fixed wall time, so HTTP dates in tests are exact.
  std::chrono::system_clock::time_point wall_{std::chrono::seconds(1767225600)};
  std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace ds::daemon::http

#endif  // DS_DAEMON_HTTP_CLOCK_H_
