#include "daemon/rpc/job_service.h"

#include <deque>
#include <memory>

#include "daemon/rpc/rpc_status.h"

namespace ds::daemon {

// One stream of a job's events (Migrate, Watch). Jobs deliver events from
// their own threads through a Pipe that outlives the reactor: once gRPC is
// done with the stream, the pipe drops what still arrives and the
// subscription is removed, whichever of the two happens last.
class JobServiceImpl::EventStream final : public grpc::ServerWriteReactor<v1::JobEvent> {
 public:
  struct Pipe {
    std::mutex mu;
    EventStream* stream = nullptr;  // null once gRPC is done with it
    JobManager* jobs = nullptr;
    std::string job_id;
    uint64_t token = 0;
  };

  explicit EventStream(JobManager* jobs) : pipe_(std::make_shared<Pipe>()) {
    pipe_->stream = this;
    pipe_->jobs = jobs;
  }

  std::shared_ptr<Pipe> pipe() const { return pipe_; }

  static JobManager::Sink SinkFor(std::shared_ptr<Pipe> pipe) {
    return [pipe](const v1::JobEvent& ev) {
      std::lock_guard lock(pipe->mu);
      if (pipe->stream) pipe->stream->EnqueueLocked(ev);
    };
  }

  // Records the subscription; drops it at once if the stream already ended.
  static void Subscribed(const std::shared_ptr<Pipe>& pipe, const std::string& id, uint64_t token) {
    bool gone;
    {
      std::lock_guard lock(pipe->mu);
      pipe->job_id = id;
      pipe->token = token;
      gone = pipe->stream == nullptr;
    }
    if (gone) pipe->jobs->Unsubscribe(id, token);
  }

  static void Fail(const std::shared_ptr<Pipe>& pipe, const grpc::Status& status) {
    std::lock_guard lock(pipe->mu);
    if (pipe->stream) pipe->stream->FinishLocked(status);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(pipe_->mu);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    queue_.pop_front();
    if (!queue_.empty()) {
      writing_ = true;
      StartWrite(&queue_.front());
    } else if (saw_finished_) {
      FinishLocked(grpc::Status::OK);
    }
  }

  // The client went away (Ctrl-C with --detach, a closed terminal): the
  // job carries on.
  void OnCancel() override {
    std::lock_guard lock(pipe_->mu);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    std::string id;
    uint64_t token;
    {
      std::lock_guard lock(pipe_->mu);
      pipe_->stream = nullptr;
      id = pipe_->job_id;
      token = pipe_->token;
    }
    if (token) pipe_->jobs->Unsubscribe(id, token);
    delete this;
  }

 private:
  void EnqueueLocked(const v1::JobEvent& ev) {
    if (finished_ || saw_finished_) return;
    queue_.push_back(ev);
    if (ev.has_finished()) saw_finished_ = true;
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }

  void FinishLocked(const grpc::Status& s) {
    if (finished_) return;
    finished_ = true;
    Finish(s);
  }

  std::shared_ptr<Pipe> pipe_;
  std::deque<v1::JobEvent> queue_;
  bool writing_ = false;
  bool saw_finished_ = false;
  bool finished_ = false;
};

JobServiceImpl::JobServiceImpl(JobManager* jobs, WorkspaceResolver* resolver,
                               ProviderRegistry* providers, PgConnectionPool* pool)
    : jobs_(jobs), resolver_(resolver), providers_(providers), pool_(pool) {}

grpc::ServerWriteReactor<v1::JobEvent>* JobServiceImpl::Migrate(grpc::CallbackServerContext* ctx,
                                                                const v1::MigrateRequest* req) {
  (void)ctx;
  auto* stream = new EventStream(jobs_);
  std::shared_ptr<EventStream::Pipe> pipe = stream->pipe();
  // Preparing may start the local cluster (a branch's URI): off gRPC's threads.
  work_.Post([this, pipe, request = *req] {
    uint64_t token = 0;
    absl::StatusOr<std::string> id = migrate_.Start(request, EventStream::SinkFor(pipe), &token);
    if (!id.ok()) {
      EventStream::Fail(pipe, ToGrpcStatus(id.status()));
      return;
    }
    EventStream::Subscribed(pipe, *id, token);
  });
  return stream;
}

grpc::ServerUnaryReactor* JobServiceImpl::MigrationStatus(grpc::CallbackServerContext* ctx,
                                                          const v1::MigrateRequest* req,
                                                          v1::MigrationStatusResponse* resp) {
  return Offload(work_, ctx, resp, [this, req] { return migrate_.Status(*req); });
}

grpc::ServerWriteReactor<v1::JobEvent>* JobServiceImpl::Watch(grpc::CallbackServerContext* ctx,
                                                              const v1::WatchJobRequest* req) {
  (void)ctx;
  auto* stream = new EventStream(jobs_);
  std::shared_ptr<EventStream::Pipe> pipe = stream->pipe();
  absl::StatusOr<uint64_t> token = jobs_->Subscribe(req->id(), EventStream::SinkFor(pipe));
  if (!token.ok()) {
    EventStream::Fail(pipe, ToGrpcStatus(token.status()));
  } else {
    EventStream::Subscribed(pipe, req->id(), *token);
  }
  return stream;
}

grpc::ServerUnaryReactor* JobServiceImpl::Cancel(grpc::CallbackServerContext* ctx,
                                                 const v1::CancelJobRequest* req,
                                                 v1::CancelJobResponse* resp) {
  // Cancelling sends a cancel request to PostgreSQL: a network round trip.
  return Offload(work_, ctx, resp, [this, req]() -> absl::StatusOr<v1::CancelJobResponse> {
    absl::StatusOr<v1::Job> job = jobs_->Cancel(req->id());
    if (!job.ok()) return job.status();
    v1::CancelJobResponse r;
    *r.mutable_job() = std::move(*job);
    return r;
  });
}

grpc::ServerUnaryReactor* JobServiceImpl::List(grpc::CallbackServerContext* ctx,
                                               const v1::ListJobsRequest* req,
                                               v1::ListJobsResponse* resp) {
  size_t limit = req->limit() > 0 ? static_cast<size_t>(req->limit()) : 50;
  for (v1::Job& job : jobs_->List(limit)) *resp->add_jobs() = std::move(job);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* JobServiceImpl::Get(grpc::CallbackServerContext* ctx,
                                              const v1::GetJobRequest* req, v1::Job* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<v1::Job> job = jobs_->Get(req->id());
  if (job.ok()) *resp = std::move(*job);
  reactor->Finish(ToGrpcStatus(job.status()));
  return reactor;
}

}  // namespace ds::daemon
