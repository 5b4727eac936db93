// For tests of external steps (unit tests and tests/external_probe.cc): a
// JobContext that records progress and log lines as text, and can be
// cancelled after a number of progress events. Header-only; no library
// compiles it.
#ifndef DS_DAEMON_EXTERNAL_RECORDING_JOB_H_
#define DS_DAEMON_EXTERNAL_RECORDING_JOB_H_

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/strings.h"
#include "daemon/jobs/jobs.h"

namespace ds::daemon::external {

class RecordingJob final : public JobContext {
 public:
  const std::string& id() const override { return id_; }
  bool cancelled() const override { return cancelled_.load(); }
  void SetInterrupter(std::function<void()>) override {}
  void BeginStep(std::string_view name) override { Record(StrCat("step ", name)); }
  void EndStep(v1::JobState, std::string_view detail) override {
    Record(StrCat("end step ", detail));
  }
  void Progress(int step, int total, std::string_view name, std::string_view message) override {
    Record(StrCat("progress ", step, "/", total, " ", name, ": ", message));
    if (cancel_after_ > 0 && ++progress_seen_ >= cancel_after_) cancelled_ = true;
  }
  void Log(std::string_view level, std::string_view text) override {
    Record(StrCat(level, ": ", text));
  }

  void CancelAfterProgress(int n) { cancel_after_ = n; }
  // Called with every recorded line (the probe prints them as they come).
  void OnLine(std::function<void(const std::string&)> f) { on_line_ = std::move(f); }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  void Record(std::string line) {
    std::lock_guard lock(mu_);
    if (on_line_) on_line_(line);
    lines_.push_back(std::move(line));
  }

  std::string id_ = "1";
  std::atomic<bool> cancelled_{false};
  int cancel_after_ = 0;
  int progress_seen_ = 0;
  mutable std::mutex mu_;
  std::function<void(const std::string&)> on_line_;
  std::vector<std::string> lines_;
};

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_RECORDING_JOB_H_
