// ds.v1.DaemonService: Ping and Shutdown.
#ifndef DS_DAEMON_RPC_DAEMON_SERVICE_H_
#define DS_DAEMON_RPC_DAEMON_SERVICE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "ds/v1/daemon.grpc.pb.h"

namespace ds::daemon {

struct DaemonIdentity {
  int64_t pid = 0;
  int64_t started_at_unix_ms = 0;
  std::string state_dir;
  std::string socket_path;
  std::string log_file;
  bool socket_activated = false;
};

class DaemonServiceImpl final : public v1::DaemonService::CallbackService {
 public:
  DaemonServiceImpl(DaemonIdentity identity, std::function<int64_t()> active_watches,
                    std::function<void(const std::string& reason, bool keep_databases)> request_shutdown);

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* ctx, const v1::PingRequest* req,
                                 v1::PingResponse* resp) override;
  grpc::ServerUnaryReactor* Shutdown(grpc::CallbackServerContext* ctx,
                                     const v1::ShutdownRequest* req,
                                     v1::ShutdownResponse* resp) override;

 private:
  DaemonIdentity identity_;
  std::function<int64_t()> active_watches_;
  std::function<void(const std::string&, bool)> request_shutdown_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_RPC_DAEMON_SERVICE_H_
