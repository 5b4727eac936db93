#include "daemon/rpc/daemon_service.h"

#include <algorithm>
#include <limits>

#include "common/log.h"
#include "common/version.h"

namespace ds::daemon {

DaemonServiceImpl::DaemonServiceImpl(DaemonIdentity identity,
                                     std::function<int64_t()> active_watches,
                                     std::function<void(const std::string&, bool)> request_shutdown)
    : identity_(std::move(identity)),
      active_watches_(std::move(active_watches)),
      request_shutdown_(std::move(request_shutdown)) {}

grpc::ServerUnaryReactor* DaemonServiceImpl::Ping(grpc::CallbackServerContext* ctx,
                                                  const v1::PingRequest* req,
                                                  v1::PingResponse* resp) {
  if (!req->client_version().empty() && req->client_version() != common::Version()) {
    common::LogInfo("ping from ds ", req->client_version(), " (dsd is ", common::Version(), ")");
  }
  resp->set_version(std::string(common::Version()));
  // pid_t is 32 bits on Linux (pid_max is at most 2^22).
  resp->set_pid(static_cast<int32_t>(identity_.pid));
  resp->set_started_at_unix_ms(identity_.started_at_unix_ms);
  resp->set_state_dir(identity_.state_dir);
  resp->set_socket_path(identity_.socket_path);
  resp->set_log_file(identity_.log_file);
  resp->set_socket_activated(identity_.socket_activated);
  resp->set_active_watches(static_cast<int32_t>(
      std::min<int64_t>(active_watches_(), std::numeric_limits<int32_t>::max())));
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(grpc::Status::OK);
  return r;
}

grpc::ServerUnaryReactor* DaemonServiceImpl::Shutdown(grpc::CallbackServerContext* ctx,
                                                      const v1::ShutdownRequest* req,
                                                      v1::ShutdownResponse*) {
  std::string reason = req->reason().empty() ? "a Shutdown request" : req->reason();
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(grpc::Status::OK);
  // Only signals the main thread: shutting the server down from inside one
  // of its own callbacks would wait for this very call.
  request_shutdown_(reason, req->keep_databases());
  return r;
}

}  // namespace ds::daemon
