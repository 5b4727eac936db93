#include "daemon/rpc/workspace_service.h"

#include "common/conninfo.h"

#include <deque>
#include <mutex>

#include "common/log.h"
#include "daemon/rpc/requested_workspace.h"
#include "daemon/rpc/rpc_status.h"
#include "google/protobuf/util/message_differencer.h"

namespace ds::daemon {

// One WatchCurrent stream. The first answer is written at once; then every
// change in a watched directory recomputes the answer on the watcher thread
// and queues it when it differs from the last one sent. One write is in
// flight at a time (gRPC's rule); the rest wait in `queue_`.
class WorkspaceServiceImpl::WatchReactor final
    : public grpc::ServerWriteReactor<v1::GetCurrentResponse> {
 public:
  WatchReactor(WorkspaceServiceImpl* service, v1::WorkspaceRef workspace)
      : service_(service), workspace_(std::move(workspace)) {
    ++service_->active_watches_;
    absl::StatusOr<v1::GetCurrentResponse> first = service_->resolver_->GetCurrent(workspace_);
    if (!first.ok() && first.status().code() != absl::StatusCode::kInvalidArgument) {
      // A workspace that does not exist cannot be watched: end at once.
      FinishOnce(ToGrpcStatus(first.status()));
      return;
    }
    absl::StatusOr<std::set<std::filesystem::path>> dirs =
        service_->resolver_->WatchedDirs(workspace_);
    if (!dirs.ok()) {
      FinishOnce(ToGrpcStatus(dirs.status()));
      return;
    }
    absl::StatusOr<uint64_t> token = service_->watcher_->Subscribe(
        *dirs, [this](const std::filesystem::path&, const std::string&) { Recompute(); });
    if (!token.ok()) {
      FinishOnce(ToGrpcStatus(token.status()));
      return;
    }
    std::lock_guard lock(mu_);
    token_ = *token;
    QueueLocked(AsUpdate(first));
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {  // the client went away; OnDone unsubscribes
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    queue_.pop_front();
    if (!queue_.empty()) StartWriteLocked();
  }

  void OnCancel() override {
    // Unsubscribe without holding mu_: a running callback may be waiting
    // for mu_, and Unsubscribe waits for running callbacks.
    uint64_t token;
    {
      std::lock_guard lock(mu_);
      token = token_;
      token_ = 0;
    }
    if (token) service_->watcher_->Unsubscribe(token);
    std::lock_guard lock(mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    uint64_t token;
    {
      std::lock_guard lock(mu_);
      token = token_;
      token_ = 0;
    }
    if (token) service_->watcher_->Unsubscribe(token);
    --service_->active_watches_;
    delete this;
  }

 private:
  static v1::GetCurrentResponse AsUpdate(const absl::StatusOr<v1::GetCurrentResponse>& r) {
    if (r.ok()) return *r;
    v1::GetCurrentResponse out;
    out.set_error(std::string(r.status().message()));
    return out;
  }

  // Runs on the watcher thread.
  void Recompute() {
    v1::GetCurrentResponse next = AsUpdate(service_->resolver_->GetCurrent(workspace_));
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (google::protobuf::util::MessageDifferencer::Equals(next, last_queued_)) return;
    QueueLocked(std::move(next));
  }

  void QueueLocked(v1::GetCurrentResponse response) {
    last_queued_ = response;
    queue_.push_back(std::move(response));
    if (!writing_) StartWriteLocked();
  }

  void StartWriteLocked() {
    writing_ = true;
    StartWrite(&queue_.front());
  }

  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  void FinishOnce(const grpc::Status& status) {
    std::lock_guard lock(mu_);
    FinishLocked(status);
  }

  WorkspaceServiceImpl* service_;
  const v1::WorkspaceRef workspace_;
  std::mutex mu_;
  uint64_t token_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  std::deque<v1::GetCurrentResponse> queue_;
  v1::GetCurrentResponse last_queued_;
};

WorkspaceServiceImpl::WorkspaceServiceImpl(WorkspaceResolver* resolver, DirWatcher* watcher)
    : resolver_(resolver), watcher_(watcher) {}

grpc::ServerUnaryReactor* WorkspaceServiceImpl::GetCurrent(grpc::CallbackServerContext* ctx,
                                                           const v1::GetCurrentRequest* req,
                                                           v1::GetCurrentResponse* resp) {
  // Served inline: on a warm cache this is a few stat() calls and no reads,
  // far below what would justify handing it to another thread.
  v1::WorkspaceRef ws = RequestedWorkspace(*req);
  absl::StatusOr<v1::GetCurrentResponse> r = resolver_->GetCurrent(ws);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (r.ok()) {
    resp->Swap(&*r);
    reactor->Finish(grpc::Status::OK);
  } else {
    common::LogDebug("GetCurrent(", ws.workspace_dir(), "): ", r.status().message());
    reactor->Finish(ToGrpcStatus(r.status()));
  }
  return reactor;
}

grpc::ServerUnaryReactor* WorkspaceServiceImpl::GetConfig(grpc::CallbackServerContext* ctx,
                                                          const v1::GetConfigRequest* req,
                                                          v1::GetConfigResponse* resp) {
  absl::StatusOr<common::Config> config = resolver_->LoadConfig(RequestedWorkspace(*req));
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (!config.ok()) {
    reactor->Finish(ToGrpcStatus(config.status()));
    return reactor;
  }
  for (const common::ConfigEntry& e : config->entries()) {
    v1::ConfigValue* v = resp->add_values();
    v->set_key(e.key);
    const common::ConfigKey* key = common::FindConfigKey(e.key);
    v->set_value(key && key->secret && !e.value.empty() ? std::string(common::kMask) : e.value);
    v->mutable_origin()->set_kind(ToProtoOriginKind(e.origin.kind));
    v->mutable_origin()->set_location(e.origin.location);
    if (key) v->set_description(std::string(key->description));
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<v1::GetCurrentResponse>* WorkspaceServiceImpl::WatchCurrent(
    grpc::CallbackServerContext*, const v1::GetCurrentRequest* req) {
  return new WatchReactor(this, RequestedWorkspace(*req));
}

}  // namespace ds::daemon
