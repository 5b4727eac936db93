// dsd's jobs: work that takes seconds to minutes (migrations now, resets
// and copies later) and belongs to dsd rather than to the client that asked
// for it. A job runs on its own thread, keeps running when its client goes
// away, reports steps, progress and log lines, and is kept as a record in
// <state dir>/jobs/<id>.json, so history survives the daemon. Jobs that
// were running when a daemon died are marked interrupted by the next one.
//
// At most one job acts on a database at a time (jobs name their database
// with a target key); a second one is refused, naming the first, or queues.
//
// No gRPC here: job_service.cc streams the events.
#ifndef DS_DAEMON_JOBS_JOBS_H_
#define DS_DAEMON_JOBS_JOBS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "ds/v1/jobs.pb.h"

namespace ds::daemon {

// What a job's work sees. Thread-safe; an I/O seam, so that job kinds can
// be tested without a JobManager.
class JobContext {
 public:
  virtual ~JobContext() = default;
  virtual const std::string& id() const = 0;
  virtual bool cancelled() const = 0;
  // How to interrupt blocking work when a cancel arrives (a PostgreSQL
  // cancel request); called at once if the job is already cancelled.
  // Pass nullptr before the thing it points at goes away.
  virtual void SetInterrupter(std::function<void()> interrupter) = 0;
  // A step ("lock", "0003_bright_storm", "commit"): starting one finishes
  // the previous one as succeeded.
  virtual void BeginStep(std::string_view name) = 0;
  virtual void EndStep(v1::JobState state, std::string_view detail = "") = 0;
  virtual void Progress(int step, int total, std::string_view name,
                        std::string_view message = "") = 0;
  // level: "info", "warning", "error". Text goes through ScrubSecrets.
  virtual void Log(std::string_view level, std::string_view text) = 0;
};

struct JobOutcome {
  v1::JobState state = v1::JOB_STATE_SUCCEEDED;
  int exit_code = 0;
  std::string error;
  std::string summary;
};

using JobWork = std::function<JobOutcome(JobContext&)>;

struct JobSpec {
  std::string kind;             // "migrate"
  std::string target_key;       // one job at a time per key (host/port/db)
  std::string target_redacted;  // shown; never holds a password
  v1::BranchRef branch;
  std::string workspace_dir;
  std::string started_by;
  std::string description;
  bool wait = false;  // queue behind a job on the same target
};

class JobManager {
 public:
  // `dir` holds the records; the newest `keep` are kept.
  explicit JobManager(std::filesystem::path dir, size_t keep = 200);
  ~JobManager();  // Shutdown()
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Reads earlier records; marks those still running or queued as
  // interrupted (their daemon died) and rewrites them.
  absl::Status Load();

  using Sink = std::function<void(const v1::JobEvent&)>;

  // Creates the job and starts its thread. `sink` (optional) is subscribed
  // before the job can emit anything, so it sees every event; `token`
  // receives its subscription. FailedPrecondition naming the running job
  // when another acts on the same target and !spec.wait.
  absl::StatusOr<std::string> Start(JobSpec spec, JobWork work, Sink sink = nullptr,
                                    uint64_t* token = nullptr);

  // Replays a job's events so far from its record (started, log lines, the
  // latest progress, finished) and then delivers live ones. Sinks are
  // called under the job's lock: they must not block or call back in.
  absl::StatusOr<uint64_t> Subscribe(const std::string& id, Sink sink);
  void Unsubscribe(const std::string& id, uint64_t token);

  absl::StatusOr<v1::Job> Cancel(const std::string& id);
  std::vector<v1::Job> List(size_t limit) const;  // newest first
  absl::StatusOr<v1::Job> Get(const std::string& id) const;

  // Cancels running jobs (they end interrupted, naming `reason`) and waits
  // for their threads. Start refuses afterwards.
  void Shutdown(const std::string& reason = "dsd stopped");

 private:
  class Job;
  std::shared_ptr<Job> Find(const std::string& id) const;
  std::shared_ptr<Job> FindLocked(const std::string& id) const;  // caller holds mu_
  void RunJob(std::shared_ptr<Job> job, JobWork work);
  // Blocks a queued job until its target is free; false when cancelled.
  bool WaitForTarget(Job& job);
  void ReleaseTarget(const std::string& key, const std::string& id);
  void Prune();

  const std::filesystem::path dir_;
  const size_t keep_;
  mutable std::mutex mu_;
  std::condition_variable target_cv_;
  std::map<int64_t, std::shared_ptr<Job>> jobs_;  // by numeric id
  // target key -> ids of jobs holding or queued for it, in order.
  std::map<std::string, std::vector<std::string>> targets_;
  int64_t next_id_ = 1;
  bool shutting_down_ = false;
  std::string shutdown_reason_;
};

// "queued", "running", "succeeded", "failed", "cancelled", "interrupted".
const char* JobStateName(v1::JobState state);
bool IsFinished(v1::JobState state);

}  // namespace ds::daemon

#endif  // DS_DAEMON_JOBS_JOBS_H_
