#include "daemon/rpc/workspace_service.h"

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "common/conninfo.h"
#include "common/log.h"
#include "daemon/rpc/requested_workspace.h"
#include "daemon/rpc/rpc_status.h"
#include "daemon/rpc/stream_writer.h"

namespace ds::daemon {
namespace {

// WatchCurrent's answer: an error travels in the message, not as the end
// of the stream, so the stream can recover when the file is fixed.
v1::GetCurrentResponse AsUpdate(absl::StatusOr<v1::GetCurrentResponse> r) {
  if (r.ok()) return std::move(*r);
  v1::GetCurrentResponse out;
  out.set_error(std::string(r.status().message()));
  return out;
}

absl::StatusOr<v1::GetCurrentResponse> LoggedIfFailed(const v1::WorkspaceRef& ws,
                                                      absl::StatusOr<v1::GetCurrentResponse> r) {
  if (!r.ok()) common::LogDebug("GetCurrent(", ws.workspace_dir(), "): ", r.status().message());
  return r;
}

}  // namespace

// What feeds one WatchCurrent stream. The first answer is computed on the
// pool; then every change in a watched directory, and every change a
// provider reports, computes a new one there,
// written when it differs from the last. One computation runs at a time
// per stream and changes that arrive meanwhile fold into one more, so
// answers are written in the order they were computed.
class WorkspaceServiceImpl::CurrentWatch
    : public std::enable_shared_from_this<WorkspaceServiceImpl::CurrentWatch> {
 public:
  using Writer = StreamWriter<v1::GetCurrentResponse>;
  friend class WorkspaceServiceImpl;  // OnProviderChanged calls Changed

  CurrentWatch(WorkspaceServiceImpl* service, v1::WorkspaceRef workspace, Writer::Handle out)
      : service_(service), workspace_(std::move(workspace)), out_(std::move(out)) {}

  // On gRPC's thread: counts the watch and hands the rest to the pool.
  void Start() {
    ++service_->active_watches_;
    out_.OnEnd([service = service_] { --service->active_watches_; });
    running_ = true;
    service_->pool_.Post([self = shared_from_this()] { self->Begin(); });
  }

 private:
  // On the pool: the subscription, then the first answer, so that a change
  // while it is computed makes one more.
  void Begin() {
    absl::StatusOr<std::set<std::filesystem::path>> dirs =
        service_->resolver_->WatchedDirs(workspace_);
    if (!dirs.ok()) {
      out_.Finish(ToGrpcStatus(dirs.status()));
      return;
    }
    // The callback runs on the watcher thread, which serves every watch:
    // it only schedules.
    absl::StatusOr<uint64_t> token = service_->watcher_->Subscribe(
        *dirs, [self = shared_from_this()](const std::filesystem::path&, const std::string&) {
          self->Changed();
        });
    if (!token.ok()) {
      out_.Finish(ToGrpcStatus(token.status()));
      return;
    }
    // Unsubscribe waits for a running callback; the writer calls it
    // outside its lock, before Finish when the client cancels.
    out_.OnEnd([watcher = service_->watcher_, t = *token] { watcher->Unsubscribe(t); });
    // Providers' changes too: what a watched .env names may resolve now.
    uint64_t id;
    {
      std::lock_guard lock(service_->watches_mu_);
      id = service_->next_watch_++;
      service_->watches_[id] = weak_from_this();
    }
    out_.OnEnd([service = service_, id] {
      std::lock_guard lock(service->watches_mu_);
      service->watches_.erase(id);
    });
    absl::StatusOr<v1::GetCurrentResponse> first = service_->resolver_->GetCurrent(workspace_);
    if (!first.ok() && first.status().code() != absl::StatusCode::kInvalidArgument) {
      // A workspace whose configuration cannot be read at all (a
      // credentials file others can read, say) cannot be watched.
      out_.Finish(ToGrpcStatus(first.status()));
      return;
    }
    out_.WriteIfChanged(AsUpdate(std::move(first)));
    if (TakeChange()) Recompute();
  }

  // On the watcher thread, or a provider's changing thread.
  void Changed() {
    {
      std::lock_guard lock(mu_);
      if (running_) {
        changed_ = true;
        return;
      }
      running_ = true;
    }
    service_->pool_.Post([self = shared_from_this()] { self->Recompute(); });
  }

  // On the pool, while running_.
  void Recompute() {
    do {
      out_.WriteIfChanged(AsUpdate(service_->resolver_->GetCurrent(workspace_)));
    } while (TakeChange());
  }

  // Whether a change arrived while computing; clears running_ if not.
  bool TakeChange() {
    std::lock_guard lock(mu_);
    if (!changed_) {
      running_ = false;
      return false;
    }
    changed_ = false;
    return true;
  }

  WorkspaceServiceImpl* const service_;
  const v1::WorkspaceRef workspace_;
  const Writer::Handle out_;
  std::mutex mu_;
  bool running_ = false;  // a computation is scheduled or running
  bool changed_ = false;  // a change arrived meanwhile
};

WorkspaceServiceImpl::WorkspaceServiceImpl(WorkspaceResolver* resolver, DirWatcher* watcher)
    : resolver_(resolver), watcher_(watcher) {}

void WorkspaceServiceImpl::OnProviderChanged() {
  std::vector<std::shared_ptr<CurrentWatch>> live;
  {
    std::lock_guard lock(watches_mu_);
    for (auto& [id, w] : watches_) {
      if (std::shared_ptr<CurrentWatch> s = w.lock()) live.push_back(std::move(s));
    }
  }
  // Outside watches_mu_, which a stream's end takes.
  for (const std::shared_ptr<CurrentWatch>& w : live) w->Changed();
}

grpc::ServerUnaryReactor* WorkspaceServiceImpl::GetCurrent(grpc::CallbackServerContext* ctx,
                                                           const v1::GetCurrentRequest* req,
                                                           v1::GetCurrentResponse* resp) {
  // The request's own WorkspaceRef when it has one: no copy on the hot path.
  v1::WorkspaceRef legacy;
  const v1::WorkspaceRef& ws =
      req->has_workspace() ? req->workspace() : (legacy = RequestedWorkspace(*req));
  // Inline when no provider may wait: a warm answer is a few stat() calls,
  // and handing it to the pool would cost more than computing it.
  if (std::optional<absl::StatusOr<v1::GetCurrentResponse>> now =
          resolver_->GetCurrentWithoutWaiting(ws)) {
    absl::StatusOr<v1::GetCurrentResponse> r = LoggedIfFailed(ws, std::move(*now));
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (r.ok()) resp->Swap(&*r);
    reactor->Finish(ToGrpcStatus(r.status()));
    return reactor;
  }
  return Offload(pool_, ctx, resp, [this, ws = v1::WorkspaceRef(ws)] {
    return LoggedIfFailed(ws, resolver_->GetCurrent(ws));
  });
}

grpc::ServerUnaryReactor* WorkspaceServiceImpl::GetConfig(grpc::CallbackServerContext* ctx,
                                                          const v1::GetConfigRequest* req,
                                                          v1::GetConfigResponse* resp) {
  // Configuration only (cached files, no provider): served inline.
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
  auto* stream = new CurrentWatch::Writer();
  std::make_shared<CurrentWatch>(this, RequestedWorkspace(*req), stream->handle())->Start();
  return stream;
}

}  // namespace ds::daemon
