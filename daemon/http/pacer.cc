#include "daemon/http/pacer.h"

#include <algorithm>

namespace ds::daemon::http {

Pacer::Pacer(PacerOptions options, Clock& clock) : options_(options), clock_(clock) {}

std::chrono::steady_clock::time_point Pacer::Acquire() {
  using std::chrono::milliseconds;
  std::chrono::steady_clock::time_point slot;
  {
    std::lock_guard lock(mu_);
    slot = clock_.Now();
    if (!slots_.empty()) slot = std::max(slot, slots_.back() + options_.min_spacing);
    // Sends are reserved in order, so the window holds too many exactly when
    // the one max_per_window back is less than a window before this one.
    if (options_.max_per_window > 0 && static_cast<int>(slots_.size()) >= options_.max_per_window) {
      slot = std::max(slot, slots_[slots_.size() - options_.max_per_window] + options_.window);
    }
    slots_.push_back(slot);
    const size_t keep = std::max(options_.max_per_window, 1);
    while (slots_.size() > keep) slots_.pop_front();
  }
  auto wait = std::chrono::ceil<milliseconds>(slot - clock_.Now());
  if (wait > milliseconds(0)) clock_.SleepFor(wait);
  return slot;
}

}  // namespace ds::daemon::http
