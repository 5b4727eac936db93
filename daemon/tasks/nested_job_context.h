// Runs one job kind inside a step of another: the reset's step "migrate"
// runs the migration runner, which reports its own steps (read folder,
// lock, each migration) and progress. Those become progress and log lines of
// the outer step, so the reset's record keeps its seven steps and a watcher
// still sees "migration 3 of 12: 0003_x".
#ifndef DS_DAEMON_TASKS_NESTED_JOB_CONTEXT_H_
#define DS_DAEMON_TASKS_NESTED_JOB_CONTEXT_H_

#include <string>

#include "common/strings.h"
#include "daemon/jobs/jobs.h"

namespace ds::daemon {

class NestedJobContext : public JobContext {
 public:
  // Reports as step `step` of `total`, called `name`, of `outer`.
  NestedJobContext(JobContext& outer, int step, int total, std::string name)
      : outer_(outer), step_(step), total_(total), name_(std::move(name)) {}

  const std::string& id() const override { return outer_.id(); }
  bool cancelled() const override { return outer_.cancelled(); }
  void SetInterrupter(std::function<void()> interrupter) override {
    outer_.SetInterrupter(std::move(interrupter));
  }
  void BeginStep(std::string_view name) override { outer_.Progress(step_, total_, name_, name); }
  void EndStep(v1::JobState state, std::string_view detail) override {
    if (state == v1::JOB_STATE_FAILED && !detail.empty()) {
      outer_.Log("error", StrCat(name_, ": ", detail));
    }
  }
  void Progress(int step, int total, std::string_view name, std::string_view message) override {
    std::string what = total > 0 ? StrCat(step, " of ", total, ": ", name) : std::string(name);
    if (!message.empty()) StrAppend(&what, " (", message, ")");
    outer_.Progress(step_, total_, name_, what);
  }
  void Log(std::string_view level, std::string_view text) override {
    outer_.Log(level, StrCat(name_, ": ", text));
  }

 private:
  JobContext& outer_;
  const int step_;
  const int total_;
  const std::string name_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_TASKS_NESTED_JOB_CONTEXT_H_
