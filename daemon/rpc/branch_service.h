// ds.v1.BranchService: converts between gRPC and BranchManager. Handlers
// that may block (every provider call can) run on a WorkPool.
#ifndef DS_DAEMON_RPC_BRANCH_SERVICE_H_
#define DS_DAEMON_RPC_BRANCH_SERVICE_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "daemon/tasks/audit_task.h"
#include "daemon/workspace/branches.h"
#include "daemon/sys/work_pool.h"
#include "daemon/workspace/branches.h"
#include "ds/v1/branch.grpc.pb.h"

namespace ds::daemon {

class BranchServiceImpl final : public v1::BranchService::CallbackService {
 public:
  BranchServiceImpl(BranchManager* manager, AuditTask* audit);
  ~BranchServiceImpl() override;

  // A provider's branch list changed: WatchBranches streams refresh. The
  // wiring connects it to ProviderRegistry::SetChangeListener. Providers
  // report changes from inside their own locks; watches are refreshed on
  // this service's notifier thread instead, where they may call back into
  // the providers.
  void OnProviderChanged();

  grpc::ServerUnaryReactor* ListProjects(grpc::CallbackServerContext* ctx,
                                         const v1::ListProjectsRequest* req,
                                         v1::ListProjectsResponse* resp) override;
  grpc::ServerUnaryReactor* ListBranches(grpc::CallbackServerContext* ctx,
                                         const v1::ListBranchesRequest* req,
                                         v1::ListBranchesResponse* resp) override;
  grpc::ServerUnaryReactor* CreateBranch(grpc::CallbackServerContext* ctx,
                                         const v1::CreateBranchRequest* req,
                                         v1::CreateBranchResponse* resp) override;
  grpc::ServerWriteReactor<v1::CreateBranchEvent>* CreateBranchStream(
      grpc::CallbackServerContext* ctx, const v1::CreateBranchRequest* req) override;
  grpc::ServerUnaryReactor* DeleteBranch(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteBranchRequest* req,
                                         v1::DeleteBranchResponse* resp) override;
  grpc::ServerUnaryReactor* SetDatabase(grpc::CallbackServerContext* ctx,
                                        const v1::SetDatabaseRequest* req,
                                        v1::SetDatabaseResponse* resp) override;
  grpc::ServerUnaryReactor* ListDatabaseHistory(grpc::CallbackServerContext* ctx,
                                                const v1::ListDatabaseHistoryRequest* req,
                                                v1::ListDatabaseHistoryResponse* resp) override;
  grpc::ServerWriteReactor<v1::BranchListUpdate>* WatchBranches(
      grpc::CallbackServerContext* ctx, const v1::WatchBranchesRequest* req) override;
  grpc::ServerUnaryReactor* Audit(grpc::CallbackServerContext* ctx, const v1::AuditRequest* req,
                                  v1::AuditResponse* resp) override;
  grpc::ServerUnaryReactor* SetExpiry(grpc::CallbackServerContext* ctx,
                                      const v1::SetExpiryRequest* req,
                                      v1::SetExpiryResponse* resp) override;

 private:
  struct Watch;
  void NotifierLoop();
  void Refresh(Watch& w);  // on the notifier thread
  uint64_t Subscribe(std::shared_ptr<Watch> w);
  void Unsubscribe(uint64_t token);

  BranchManager* manager_;
  AuditTask* audit_;
  WorkPool pool_{4};
  std::mutex mu_;
  std::condition_variable cv_;
  bool changed_ = false;
  bool stopping_ = false;
  uint64_t next_token_ = 1;
  std::map<uint64_t, std::shared_ptr<Watch>> watches_;
  std::thread notifier_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_RPC_BRANCH_SERVICE_H_
