// ds.v1.WorkspaceService: GetCurrent, GetConfig and the WatchCurrent stream.
#ifndef DS_DAEMON_RPC_WORKSPACE_SERVICE_H_
#define DS_DAEMON_RPC_WORKSPACE_SERVICE_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "daemon/sys/dir_watcher.h"
#include "daemon/sys/work_pool.h"
#include "daemon/workspace/workspace.h"
#include "ds/v1/workspace.grpc.pb.h"

namespace ds::daemon {

class WorkspaceServiceImpl final : public v1::WorkspaceService::CallbackService {
 public:
  WorkspaceServiceImpl(WorkspaceResolver* resolver, DirWatcher* watcher);

  grpc::ServerUnaryReactor* GetCurrent(grpc::CallbackServerContext* ctx,
                                       const v1::GetCurrentRequest* req,
                                       v1::GetCurrentResponse* resp) override;
  grpc::ServerUnaryReactor* GetConfig(grpc::CallbackServerContext* ctx,
                                      const v1::GetConfigRequest* req,
                                      v1::GetConfigResponse* resp) override;
  grpc::ServerWriteReactor<v1::GetCurrentResponse>* WatchCurrent(
      grpc::CallbackServerContext* ctx, const v1::GetCurrentRequest* req) override;

  int64_t active_watches() const { return active_watches_.load(); }
  // A provider's data changed (a Neon refresh found an endpoint, say):
  // every WatchCurrent stream computes its answer again. Only schedules, so
  // it may be called from any thread, including a provider's own.
  void OnProviderChanged();

 private:
  class CurrentWatch;
  WorkspaceResolver* resolver_;
  DirWatcher* watcher_;
  std::atomic<int64_t> active_watches_{0};
  std::mutex watches_mu_;
  uint64_t next_watch_ = 0;
  std::map<uint64_t, std::weak_ptr<CurrentWatch>> watches_;
  // Resolving asks the providers, which may wait a bounded time (a first
  // load, a refresh): GetCurrent answers that may wait, and every
  // WatchCurrent answer, are computed here, never on gRPC's callback
  // threads or the directory watcher's thread. Last, so that it is joined
  // before the rest goes.
  WorkPool pool_{4};
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_RPC_WORKSPACE_SERVICE_H_
