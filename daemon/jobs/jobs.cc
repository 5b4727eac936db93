#include "daemon/jobs/jobs.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/secrets.h"
#include "common/strings.h"
#include "google/protobuf/util/json_util.h"

namespace ds::daemon {
namespace {

// A job's log is for people; past this many lines the oldest go.
constexpr int kMaxLogLines = 2000;
constexpr int kMaxProgress = 1000;
// Progress rewrites the record at most this often; state changes at once.
constexpr int64_t kPersistIntervalMs = 250;

}  // namespace

const char* JobStateName(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_QUEUED: return "queued";
    case v1::JOB_STATE_RUNNING: return "running";
    case v1::JOB_STATE_SUCCEEDED: return "succeeded";
    case v1::JOB_STATE_FAILED: return "failed";
    case v1::JOB_STATE_CANCELLED: return "cancelled";
    case v1::JOB_STATE_INTERRUPTED: return "interrupted";
    default: return "unknown";
  }
}

bool IsFinished(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED || state == v1::JOB_STATE_INTERRUPTED;
}

class JobManager::Job final : public JobContext {
 public:
  Job(v1::Job record, std::filesystem::path file)
      : record_(std::move(record)), file_(std::move(file)) {}

  const std::string& id() const override { return record_.id(); }
  bool cancelled() const override { return cancel_.load(); }

  void SetInterrupter(std::function<void()> interrupter) override {
    std::lock_guard lock(mu_);
    interrupter_ = std::move(interrupter);
    if (interrupter_ && cancel_.load()) interrupter_();
  }

  // A step that ends is on disk at once (not throttled like progress): if
  // dsd dies next, the interrupted record still shows what completed, such
  // as the migrations a commit made permanent.
  void BeginStep(std::string_view name) override {
    std::lock_guard lock(mu_);
    const bool ended = EndStepLocked(v1::JOB_STATE_SUCCEEDED, "");
    v1::JobStep* step = record_.add_steps();
    step->set_name(common::ScrubSecrets(name));
    step->set_state(v1::JOB_STATE_RUNNING);
    step->set_started_unix_ms(common::UnixMillisNow());
    if (ended) {
      PersistLocked(common::Durability::kProcessCrash);
    } else {
      MaybePersistLocked();
    }
  }

  void EndStep(v1::JobState state, std::string_view detail) override {
    std::lock_guard lock(mu_);
    if (EndStepLocked(state, detail)) PersistLocked(common::Durability::kProcessCrash);
  }

  void Progress(int step, int total, std::string_view name, std::string_view message) override {
    std::lock_guard lock(mu_);
    v1::JobEvent ev;
    v1::JobProgress* p = ev.mutable_progress();
    p->set_step(step);
    p->set_total(total);
    p->set_name(common::ScrubSecrets(name));
    p->set_message(common::ScrubSecrets(message));
    p->set_elapsed_seconds(ElapsedSeconds());
    p->set_unix_ms(common::UnixMillisNow());
    if (record_.progress_size() >= kMaxProgress) {
      record_.mutable_progress()->DeleteSubrange(0, kMaxProgress / 4);
    }
    *record_.add_progress() = *p;
    EmitLocked(std::move(ev));
    MaybePersistLocked();
  }

  void Log(std::string_view level, std::string_view text) override {
    std::string clean = common::ScrubSecrets(text);
    common::LogInfo("job ", record_.id(), ": ", clean);
    std::lock_guard lock(mu_);
    v1::JobLogLine line;
    line.set_unix_ms(common::UnixMillisNow());
    line.set_level(std::string(level));
    line.set_text(clean);
    if (record_.log_size() >= kMaxLogLines) {
      record_.mutable_log()->DeleteSubrange(0, kMaxLogLines / 4);
    }
    *record_.add_log() = line;
    v1::JobEvent ev;
    *ev.mutable_log() = std::move(line);
    EmitLocked(std::move(ev));
    MaybePersistLocked();
  }

  // --- the manager's side -------------------------------------------------

  v1::Job Snapshot() const {
    std::lock_guard lock(mu_);
    return record_;
  }

  v1::JobState state() const {
    std::lock_guard lock(mu_);
    return record_.state();
  }

  // Marks a job found running in a dead daemon's record.
  void MarkInterrupted() {
    std::lock_guard lock(mu_);
    record_.set_error(StrCat("dsd stopped while this job was ", JobStateName(record_.state()),
                             "; whatever its open transaction held was rolled back by "
                             "PostgreSQL"));
    EndStepLocked(v1::JOB_STATE_INTERRUPTED, "");
    record_.set_state(v1::JOB_STATE_INTERRUPTED);
    record_.set_exit_code(1);
    if (record_.finished_unix_ms() == 0) record_.set_finished_unix_ms(common::UnixMillisNow());
    PersistLocked(common::Durability::kPowerLoss);
  }

  void SetRunning() {
    std::lock_guard lock(mu_);
    record_.set_state(v1::JOB_STATE_RUNNING);
    record_.set_started_unix_ms(common::UnixMillisNow());
    started_ = std::chrono::steady_clock::now();
    PersistLocked(common::Durability::kProcessCrash);
  }

  void Finish(const JobOutcome& outcome) {
    std::lock_guard lock(mu_);
    EndStepLocked(
        outcome.state == v1::JOB_STATE_SUCCEEDED ? v1::JOB_STATE_SUCCEEDED : outcome.state, "");
    record_.set_state(outcome.state);
    record_.set_exit_code(outcome.exit_code);
    record_.set_error(common::ScrubSecrets(outcome.error));
    record_.set_summary(common::ScrubSecrets(outcome.summary));
    record_.set_finished_unix_ms(common::UnixMillisNow());
    EmitLocked(FinishedEventLocked(ElapsedSeconds()));
    sinks_.clear();  // nothing follows `finished`
    PersistLocked(common::Durability::kPowerLoss);
  }

  void RequestCancel() {
    std::lock_guard lock(mu_);
    cancel_ = true;
    if (interrupter_) interrupter_();
  }

  uint64_t Subscribe(Sink sink, bool replay) {
    std::lock_guard lock(mu_);
    if (replay) {
      v1::JobEvent started;
      *started.mutable_started() = record_;
      started.mutable_started()->clear_log();
      started.mutable_started()->clear_progress();
      started.set_unix_ms(record_.created_unix_ms());
      Deliver(sink, std::move(started));
      // Log lines and progress in the order they happened.
      int l = 0, p = 0;
      while (l < record_.log_size() || p < record_.progress_size()) {
        v1::JobEvent ev;
        if (p >= record_.progress_size() ||
            (l < record_.log_size() && record_.log(l).unix_ms() <= record_.progress(p).unix_ms())) {
          *ev.mutable_log() = record_.log(l++);
          ev.set_unix_ms(ev.log().unix_ms());
        } else {
          *ev.mutable_progress() = record_.progress(p++);
          ev.set_unix_ms(ev.progress().unix_ms());
        }
        Deliver(sink, std::move(ev));
      }
      if (IsFinished(record_.state())) {
        double elapsed = 0;
        if (record_.started_unix_ms() && record_.finished_unix_ms()) {
          elapsed =
              static_cast<double>(record_.finished_unix_ms() - record_.started_unix_ms()) / 1000.0;
        }
        Deliver(sink, FinishedEventLocked(elapsed));
        return 0;  // nothing more will come
      }
    }
    uint64_t token = next_token_++;
    sinks_[token] = std::move(sink);
    return token;
  }

  void Unsubscribe(uint64_t token) {
    std::lock_guard lock(mu_);
    sinks_.erase(token);
  }

  // Sends the `started` event to the sinks subscribed at creation.
  void AnnounceStart() {
    std::lock_guard lock(mu_);
    v1::JobEvent ev;
    *ev.mutable_started() = record_;
    EmitLocked(std::move(ev));
  }

  void PersistNow(common::Durability durability) {
    std::lock_guard lock(mu_);
    PersistLocked(durability);
  }

  const std::string target_key() const { return record_target_key_; }
  void set_target_key(std::string key) { record_target_key_ = std::move(key); }

  bool stopped_by_shutdown = false;  // guarded by JobManager::mu_
  std::thread thread;                // guarded by JobManager::mu_

 private:
  double ElapsedSeconds() const {
    if (record_.started_unix_ms() == 0) return 0;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  // The `finished` event for the record's outcome.
  v1::JobEvent FinishedEventLocked(double elapsed_seconds) const {
    v1::JobEvent ev;
    v1::JobFinished* f = ev.mutable_finished();
    f->set_state(record_.state());
    f->set_exit_code(record_.exit_code());
    f->set_error(record_.error());
    f->set_summary(record_.summary());
    f->set_elapsed_seconds(elapsed_seconds);
    return ev;
  }

  // Ends the running step, if any; true when one ended.
  bool EndStepLocked(v1::JobState state, std::string_view detail) {
    if (record_.steps_size() == 0) return false;
    v1::JobStep* step = record_.mutable_steps(record_.steps_size() - 1);
    if (step->state() != v1::JOB_STATE_RUNNING) return false;
    step->set_state(state);
    step->set_finished_unix_ms(common::UnixMillisNow());
    if (!detail.empty()) step->set_detail(common::ScrubSecrets(detail));
    return true;
  }

  void Deliver(const Sink& sink, v1::JobEvent ev) const {
    ev.set_job_id(record_.id());
    if (ev.unix_ms() == 0) ev.set_unix_ms(common::UnixMillisNow());
    sink(ev);
  }

  void EmitLocked(v1::JobEvent ev) {
    ev.set_job_id(record_.id());
    ev.set_unix_ms(common::UnixMillisNow());
    for (const auto& [token, sink] : sinks_) sink(ev);
  }

  void MaybePersistLocked() {
    int64_t now = common::UnixMillisNow();
    if (now - last_persist_ms_ < kPersistIntervalMs) return;
    PersistLocked(common::Durability::kProcessCrash);
  }

  void PersistLocked(common::Durability durability) {
    last_persist_ms_ = common::UnixMillisNow();
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(record_, &json, options).ok()) return;
    json.push_back('\n');
    if (absl::Status s = common::ReplaceFileAtomically(file_, json, 0600, durability); !s.ok()) {
      common::LogWarning("cannot save job ", record_.id(), ": ", s.message());
    }
  }

  mutable std::mutex mu_;
  v1::Job record_;
  const std::filesystem::path file_;
  std::string record_target_key_;
  std::map<uint64_t, Sink> sinks_;
  uint64_t next_token_ = 1;
  std::function<void()> interrupter_;
  std::atomic<bool> cancel_{false};
  std::chrono::steady_clock::time_point started_;
  int64_t last_persist_ms_ = 0;
};

JobManager::JobManager(std::filesystem::path dir, size_t keep)
    : dir_(std::move(dir)), keep_(keep) {}

JobManager::~JobManager() { Shutdown(); }

absl::Status JobManager::Load() {
  if (absl::Status s = common::EnsurePrivateDir(dir_); !s.ok()) return s;
  std::error_code ec;
  std::vector<std::shared_ptr<Job>> interrupted;
  {
    std::lock_guard lock(mu_);
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      const std::filesystem::path& p = entry.path();
      std::string stem = p.stem().string();
      if (p.extension() != ".json" || stem.empty() ||
          !std::all_of(stem.begin(), stem.end(), ::isdigit)) {
        continue;
      }
      // An unreadable record keeps its id: a new job never overwrites it.
      int64_t n = std::strtoll(stem.c_str(), nullptr, 10);
      next_id_ = std::max(next_id_, n + 1);
      absl::StatusOr<std::string> text = common::ReadFile(p);
      v1::Job record;
      google::protobuf::util::JsonParseOptions options;
      options.ignore_unknown_fields = true;
      if (!text.ok() ||
          !google::protobuf::util::JsonStringToMessage(*text, &record, options).ok() ||
          record.id() != stem) {
        common::LogWarning("ignoring unreadable job record ", p.string());
        continue;
      }
      auto job = std::make_shared<Job>(std::move(record), p);
      if (!IsFinished(job->state())) interrupted.push_back(job);
      jobs_[n] = std::move(job);
    }
  }
  if (ec) return absl::InternalError(StrCat("cannot read ", dir_.string(), ": ", ec.message()));
  for (const auto& job : interrupted) {
    job->MarkInterrupted();
    common::LogWarning("job ", job->id(), " was interrupted when the previous dsd stopped");
  }
  std::lock_guard lock(mu_);
  Prune();
  return absl::OkStatus();
}

absl::StatusOr<std::string> JobManager::Start(JobSpec spec, JobWork work, Sink sink,
                                              uint64_t* token) {
  std::vector<std::thread> done;
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) {
      return absl::UnavailableError("dsd is shutting down; run the command again");
    }
    if (!spec.target_key.empty()) {
      std::vector<std::string>& holders = targets_[spec.target_key];
      if (!holders.empty() && !spec.wait) {
        std::shared_ptr<Job> running = FindLocked(holders.front());
        v1::Job r = running ? running->Snapshot() : v1::Job();
        return absl::FailedPreconditionError(
            StrCat("job ", holders.front(), " (", r.kind(), ", started by ", r.started_by(), " at ",
                   common::FormatUnixMillis(r.created_unix_ms(), "%H:%M:%S"), ", ",
                   JobStateName(r.state()), ") is already working on ", spec.target_redacted,
                   "; follow it with `ds jobs watch ", holders.front(),
                   "`, or pass --wait to run after it"));
      }
    }
    std::string id = std::to_string(next_id_++);
    v1::Job record;
    record.set_id(id);
    record.set_kind(spec.kind);
    record.set_target(common::ScrubSecrets(spec.target_redacted));
    *record.mutable_branch() = spec.branch;
    record.set_workspace_dir(spec.workspace_dir);
    record.set_started_by(spec.started_by);
    record.set_description(common::ScrubSecrets(spec.description));
    record.set_created_unix_ms(common::UnixMillisNow());
    record.set_state(v1::JOB_STATE_QUEUED);
    job = std::make_shared<Job>(std::move(record), dir_ / (id + ".json"));
    job->set_target_key(spec.target_key);
    bool queued = false;
    if (!spec.target_key.empty()) {
      std::vector<std::string>& holders = targets_[spec.target_key];
      queued = !holders.empty();
      holders.push_back(id);
    }
    if (queued) {
      job->PersistNow(common::Durability::kProcessCrash);
    } else {
      job->SetRunning();  // persists
    }
    jobs_[std::strtoll(id.c_str(), nullptr, 10)] = job;
    if (sink) {
      uint64_t t = job->Subscribe(std::move(sink), /*replay=*/false);
      if (token) *token = t;
    }
    job->AnnounceStart();
    // Threads of finished jobs are joined here, outside the lock.
    for (auto& [n, j] : jobs_) {
      if (j->thread.joinable() && IsFinished(j->state())) done.push_back(std::move(j->thread));
    }
    job->thread = std::thread(
        [this, job, work = std::move(work)]() mutable { RunJob(job, std::move(work)); });
    Prune();
  }
  for (std::thread& t : done) t.join();
  common::LogInfo("job ", job->id(), " started: ", spec.kind, " on ", spec.target_redacted, " for ",
                  spec.started_by);
  return job->id();
}

bool JobManager::WaitForTarget(Job& job) {
  const std::string key = job.target_key();
  if (key.empty()) return !job.cancelled();
  std::unique_lock lock(mu_);
  target_cv_.wait(
      lock, [&] { return job.cancelled() || shutting_down_ || targets_[key].front() == job.id(); });
  return !job.cancelled() && !shutting_down_;
}

void JobManager::ReleaseTarget(const std::string& key, const std::string& id) {
  if (key.empty()) return;
  std::lock_guard lock(mu_);
  auto it = targets_.find(key);
  if (it == targets_.end()) return;
  std::erase(it->second, id);
  if (it->second.empty()) targets_.erase(it);
  target_cv_.notify_all();
}

void JobManager::RunJob(std::shared_ptr<Job> job, JobWork work) {
  JobOutcome outcome;
  if (WaitForTarget(*job)) {
    if (job->state() == v1::JOB_STATE_QUEUED) job->SetRunning();
    try {
      outcome = work(*job);
    } catch (const std::exception& e) {
      outcome = {v1::JOB_STATE_FAILED, 1, StrCat("internal error: ", e.what()), ""};
    }
  } else {
    outcome = {v1::JOB_STATE_CANCELLED, 130, "cancelled while waiting for the database", ""};
  }
  ReleaseTarget(job->target_key(), job->id());
  {
    std::lock_guard lock(mu_);
    if (job->stopped_by_shutdown && outcome.state != v1::JOB_STATE_SUCCEEDED) {
      outcome.state = v1::JOB_STATE_INTERRUPTED;
      outcome.exit_code = 1;
      outcome.error = StrCat(shutdown_reason_, " while this job ran; ",
                             outcome.error.empty() ? "it was stopped" : outcome.error);
    }
  }
  job->Finish(outcome);
  common::LogInfo("job ", job->id(), " ", JobStateName(outcome.state),
                  outcome.error.empty() ? "" : ": ", common::ScrubSecrets(outcome.error));
}

absl::StatusOr<uint64_t> JobManager::Subscribe(const std::string& id, Sink sink) {
  std::shared_ptr<Job> job = Find(id);
  if (!job) {
    return absl::NotFoundError(StrCat("there is no job ", id, "; `ds jobs list` shows them"));
  }
  return job->Subscribe(std::move(sink), /*replay=*/true);
}

void JobManager::Unsubscribe(const std::string& id, uint64_t token) {
  if (token == 0) return;
  if (std::shared_ptr<Job> job = Find(id)) job->Unsubscribe(token);
}

absl::StatusOr<v1::Job> JobManager::Cancel(const std::string& id) {
  std::shared_ptr<Job> job = Find(id);
  if (!job) {
    return absl::NotFoundError(StrCat("there is no job ", id, "; `ds jobs list` shows them"));
  }
  v1::JobState state = job->state();
  if (IsFinished(state)) {
    return absl::FailedPreconditionError(
        StrCat("job ", id, " has already finished (", JobStateName(state), ")"));
  }
  job->RequestCancel();
  {
    std::lock_guard lock(mu_);
    target_cv_.notify_all();  // a queued job stops waiting
  }
  common::LogInfo("job ", id, ": cancel requested");
  return job->Snapshot();
}

std::vector<v1::Job> JobManager::List(size_t limit) const {
  std::vector<std::shared_ptr<Job>> jobs;
  {
    std::lock_guard lock(mu_);
    for (auto it = jobs_.rbegin(); it != jobs_.rend() && jobs.size() < limit; ++it) {
      jobs.push_back(it->second);
    }
  }
  std::vector<v1::Job> out;
  for (const auto& j : jobs) out.push_back(j->Snapshot());
  return out;
}

absl::StatusOr<v1::Job> JobManager::Get(const std::string& id) const {
  std::shared_ptr<Job> job = Find(id);
  if (!job) {
    return absl::NotFoundError(StrCat("there is no job ", id, "; `ds jobs list` shows them"));
  }
  return job->Snapshot();
}

void JobManager::Shutdown(const std::string& reason) {
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<Job>> running;
  {
    std::lock_guard lock(mu_);
    if (!shutting_down_) {
      shutting_down_ = true;
      shutdown_reason_ = reason;
    }
    for (auto& [n, job] : jobs_) {
      if (!IsFinished(job->state())) {
        job->stopped_by_shutdown = true;
        running.push_back(job);
      }
      if (job->thread.joinable()) threads.push_back(std::move(job->thread));
    }
    target_cv_.notify_all();
  }
  for (const auto& job : running) job->RequestCancel();
  for (std::thread& t : threads) t.join();
}

std::shared_ptr<JobManager::Job> JobManager::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  return FindLocked(id);
}

std::shared_ptr<JobManager::Job> JobManager::FindLocked(const std::string& id) const {
  char* end = nullptr;
  int64_t n = std::strtoll(id.c_str(), &end, 10);
  if (id.empty() || *end != '\0') return nullptr;
  auto it = jobs_.find(n);
  return it == jobs_.end() ? nullptr : it->second;
}

void JobManager::Prune() {
  // Caller holds mu_. Oldest finished records go first.
  while (jobs_.size() > keep_) {
    auto it = jobs_.begin();
    if (!IsFinished(it->second->state()) || it->second->thread.joinable()) break;
    std::error_code ec;
    std::filesystem::remove(dir_ / (it->second->id() + ".json"), ec);
    jobs_.erase(it);
  }
}

}  // namespace ds::daemon
