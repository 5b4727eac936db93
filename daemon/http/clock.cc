#include "daemon/http/clock.h"

#include <thread>

namespace ds::daemon::http {
namespace {

class SystemClocks final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point WallNow() override {
    return std::chrono::system_clock::now();
  }
  void SleepFor(std::chrono::milliseconds duration) override {
    std::this_thread::sleep_for(duration);
  }
};

}  // namespace

Clock& RealClock() {
  static SystemClocks* clocks = new SystemClocks;  // never destroyed: used until exit
  return *clocks;
}

std::chrono::steady_clock::time_point ManualClock::Now() {
  std::lock_guard lock(mu_);
  return now_;
}

std::chrono::system_clock::time_point ManualClock::WallNow() {
  std::lock_guard lock(mu_);
  return wall_;
}

void ManualClock::SleepFor(std::chrono::milliseconds duration) {
  std::lock_guard lock(mu_);
  sleeps_.push_back(duration);
  now_ += duration;
  wall_ += duration;
}

void ManualClock::Advance(std::chrono::milliseconds duration) {
  std::lock_guard lock(mu_);
  now_ += duration;
  wall_ += duration;
}

std::vector<std::chrono::milliseconds> ManualClock::sleeps() const {
  std::lock_guard lock(mu_);
  return sleeps_;
}

}  // namespace ds::daemon::http
