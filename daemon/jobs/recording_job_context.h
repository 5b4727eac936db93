// Test support (target dsd_jobs_testing; no production code links it): a
// JobContext that records every step, progress and log line as one line of
// text, in order, and cancels the way JobManager::Cancel does (the flag,
// then the interrupter). Used by the unit tests of the work that reports
// through JobContext (migrate, orgcopy, external) and tests/external_probe.cc.
#ifndef DS_DAEMON_JOBS_RECORDING_JOB_CONTEXT_H_
#define DS_DAEMON_JOBS_RECORDING_JOB_CONTEXT_H_

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "daemon/jobs/jobs.h"

namespace ds::daemon {

// Lines recorded: "step NAME", "end step STATE DETAIL",
// "progress STEP/TOTAL NAME" (": MESSAGE" appended when there is one) and
// "LEVEL: TEXT".
class RecordingJobContext final : public JobContext {
 public:
  const std::string& id() const override { return id_; }
  bool cancelled() const override {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  void SetInterrupter(std::function<void()> interrupter) override {
    std::lock_guard lock(mu_);
    interrupter_ = std::move(interrupter);
    if (interrupter_) ++interrupters_set_;
    if (interrupter_ && cancelled_) CallInterrupterLocked();
  }
  void BeginStep(std::string_view name) override { Record(StrCat("step ", name)); }
  void EndStep(v1::JobState state, std::string_view detail) override {
    Record(StrCat("end step ", JobStateName(state), " ", detail));
  }
  void Progress(int step, int total, std::string_view name, std::string_view message) override {
    Record(StrCat("progress ", step, "/", total, " ", name,
                  message.empty() ? "" : StrCat(": ", message)));
    bool cancel_now = false;
    {
      std::lock_guard lock(mu_);
      cancel_now = cancel_after_ > 0 && ++progress_seen_ >= cancel_after_;
    }
    if (cancel_now) Cancel();
  }
  void Log(std::string_view level, std::string_view text) override {
    Record(StrCat(level, ": ", text));
  }

  // As JobManager::Cancel does: the flag, then the interrupter.
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (interrupter_) CallInterrupterLocked();
  }
  // Cancels once `n` progress events have been reported.
  void CancelAfterProgress(int n) {
    std::lock_guard lock(mu_);
    cancel_after_ = n;
  }
  // Called with each line as it is recorded, on the reporting thread, one
  // call at a time (the probe prints them as they come; tests cancel at a
  // given line). It may call Cancel(); it must not report to this context.
  void OnLine(std::function<void(const std::string&)> f) { on_line_ = std::move(f); }

  std::vector<std::string> lines() const {
    std::lock_guard lock(mu_);
    return lines_;
  }
  // The names of the steps begun, in order.
  std::vector<std::string> steps() const {
    std::vector<std::string> out;
    for (const std::string& line : lines()) {
      if (line.starts_with("step ")) out.push_back(line.substr(5));
    }
    return out;
  }
  int interrupters_set() const {
    std::lock_guard lock(mu_);
    return interrupters_set_;
  }
  int interrupts() const {
    std::lock_guard lock(mu_);
    return interrupts_;
  }
  bool has_interrupter() const {
    std::lock_guard lock(mu_);
    return interrupter_ != nullptr;
  }

 private:
  void Record(std::string line) {
    {
      std::lock_guard lock(mu_);
      lines_.push_back(line);
    }
    // Outside mu_, so that the callback may Cancel().
    std::lock_guard lock(on_line_mu_);
    if (on_line_) on_line_(line);
  }
  void CallInterrupterLocked() {
    ++interrupts_;
    interrupter_();
  }

  const std::string id_ = "42";
  mutable std::mutex mu_;
  bool cancelled_ = false;
  std::function<void()> interrupter_;
  int interrupters_set_ = 0;
  int interrupts_ = 0;
  int cancel_after_ = 0;
  int progress_seen_ = 0;
  std::vector<std::string> lines_;
  std::mutex on_line_mu_;
  std::function<void(const std::string&)> on_line_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_JOBS_RECORDING_JOB_CONTEXT_H_
