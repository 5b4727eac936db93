#include "daemon/rpc/job_service.h"

#include <memory>
#include <string>

#include "daemon/rpc/rpc_status.h"
#include "daemon/rpc/stream_writer.h"

namespace ds::daemon {

namespace {

using EventWriter = StreamWriter<v1::JobEvent>;

// Jobs deliver events from their own threads; `finished` is always the
// last, so the stream ends with OK once it is written. If the client goes
// away first (Ctrl-C with --detach, a closed terminal) the job carries on.
JobManager::Sink SinkFor(EventWriter::Handle out) {
  return [out](const v1::JobEvent& ev) {
    if (ev.has_finished()) {
      out.WriteLast(ev);
    } else {
      out.Write(ev);
    }
  };
}

// Drops the job subscription when the stream ends (at once if it already
// has). JobManager::Unsubscribe takes the job's lock, under which the job
// calls the sink: the stream writer calls this outside its own lock.
void UnsubscribeOnEnd(const EventWriter::Handle& out, JobManager* jobs, std::string id,
                      uint64_t token) {
  out.OnEnd([jobs, id = std::move(id), token] { jobs->Unsubscribe(id, token); });
}

}  // namespace

JobServiceImpl::JobServiceImpl(JobManager* jobs, WorkspaceResolver* resolver,
                               ProviderRegistry* providers, PgConnectionPool* pool,
                               const ExternalStepRegistry* external)
    : jobs_(jobs), resolver_(resolver), providers_(providers), pool_(pool), external_(external) {}

// Starts a job on the work pool (resolving a target may start the local
// cluster or wait for Neon) and streams it; `start` is a task's Start.
template <typename Request, typename StartFn>
grpc::ServerWriteReactor<v1::JobEvent>* StartJobStream(WorkPool& work, JobManager* jobs,
                                                       const Request& request, StartFn start) {
  auto* stream = new StreamWriter<v1::JobEvent>();
  work.Post([jobs, out = stream->handle(), request, start] {
    uint64_t token = 0;
    absl::StatusOr<std::string> id = start(request, SinkFor(out), &token);
    if (!id.ok()) {
      out.Finish(ToGrpcStatus(id.status()));
      return;
    }
    UnsubscribeOnEnd(out, jobs, *id, token);
  });
  return stream;
}

grpc::ServerWriteReactor<v1::JobEvent>* JobServiceImpl::Migrate(grpc::CallbackServerContext* ctx,
                                                                const v1::MigrateRequest* req) {
  (void)ctx;
  auto* stream = new EventWriter();
  // Preparing may start the local cluster (a branch's URI): off gRPC's threads.
  work_.Post([this, out = stream->handle(), request = *req] {
    uint64_t token = 0;
    absl::StatusOr<std::string> id = migrate_.Start(request, SinkFor(out), &token);
    if (!id.ok()) {
      out.Finish(ToGrpcStatus(id.status()));
      return;
    }
    UnsubscribeOnEnd(out, jobs_, *id, token);
  });
  return stream;
}

grpc::ServerWriteReactor<v1::JobEvent>* JobServiceImpl::RefreshStaging(
    grpc::CallbackServerContext* ctx, const v1::RefreshStagingRequest* req) {
  (void)ctx;
  auto* stream = new EventWriter();
  // Reading the workspace's files: off gRPC's threads.
  work_.Post([this, out = stream->handle(), request = *req] {
    uint64_t token = 0;
    absl::StatusOr<std::string> id = refresh_staging_.Start(request, SinkFor(out), &token);
    if (!id.ok()) {
      out.Finish(ToGrpcStatus(id.status()));
      return;
    }
    UnsubscribeOnEnd(out, jobs_, *id, token);
  });
  return stream;
}

grpc::ServerWriteReactor<v1::JobEvent>* JobServiceImpl::Prune(grpc::CallbackServerContext* ctx,
                                                              const v1::PruneRequest* req) {
  (void)ctx;
  auto* stream = new EventWriter();
  work_.Post([this, out = stream->handle(), request = *req] {
    uint64_t token = 0;
    absl::StatusOr<std::string> id = audit_.StartPrune(jobs_, request, SinkFor(out), &token);
    if (!id.ok()) {
      out.Finish(ToGrpcStatus(id.status()));
      return;
    }
    UnsubscribeOnEnd(out, jobs_, *id, token);
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
  auto* stream = new EventWriter();
  EventWriter::Handle out = stream->handle();
  absl::StatusOr<uint64_t> token = jobs_->Subscribe(req->id(), SinkFor(out));
  if (!token.ok()) {
    out.Finish(ToGrpcStatus(token.status()));
  } else {
    UnsubscribeOnEnd(out, jobs_, req->id(), *token);
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

namespace ds::daemon {

grpc::ServerWriteReactor<v1::JobEvent>* JobServiceImpl::Reset(grpc::CallbackServerContext* ctx,
                                                              const v1::ResetRequest* req) {
  (void)ctx;
  return StartJobStream(work_, jobs_, *req,
                        [this](const v1::ResetRequest& r, JobManager::Sink sink, uint64_t* token) {
                          return reset_.Start(r, std::move(sink), token);
                        });
}

grpc::ServerUnaryReactor* JobServiceImpl::PlanReset(grpc::CallbackServerContext* ctx,
                                                    const v1::ResetRequest* req,
                                                    v1::ResetPlan* resp) {
  return Offload(work_, ctx, resp, [this, req] { return reset_.Plan(*req); });
}

grpc::ServerWriteReactor<v1::JobEvent>* JobServiceImpl::CopyOrg(grpc::CallbackServerContext* ctx,
                                                                const v1::CopyOrgRequest* req) {
  (void)ctx;
  return StartJobStream(
      work_, jobs_, *req,
      [this](const v1::CopyOrgRequest& r, JobManager::Sink sink, uint64_t* token) {
        return copy_org_.Start(r, std::move(sink), token);
      });
}

grpc::ServerUnaryReactor* JobServiceImpl::PlanCopyOrg(grpc::CallbackServerContext* ctx,
                                                      const v1::CopyOrgRequest* req,
                                                      v1::ResetPlan* resp) {
  return Offload(work_, ctx, resp, [this, req] { return copy_org_.Plan(*req); });
}

}  // namespace ds::daemon
