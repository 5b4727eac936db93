#include "daemon/rpc/branch_service.h"

#include <memory>
#include <set>
#include <vector>

#include "daemon/rpc/rpc_status.h"
#include "daemon/rpc/stream_writer.h"
#include "google/protobuf/util/message_differencer.h"

namespace ds::daemon {

// One WatchBranches stream: the list at once, then after every change that
// alters it. Held by the service's registry while the stream lasts.
struct BranchServiceImpl::Watch {
  Watch(const v1::WatchBranchesRequest& request, StreamWriter<v1::BranchListUpdate>::Handle out)
      : request(request), out(std::move(out)) {}

  const v1::WatchBranchesRequest request;
  const StreamWriter<v1::BranchListUpdate>::Handle out;
  // Only the notifier thread reads and writes these.
  bool sent_any = false;
  std::set<std::string> names;
  v1::ListBranchesResponse last;  // without notices
};

void BranchServiceImpl::Refresh(Watch& w) {
  v1::ListBranchesRequest list;
  *list.mutable_workspace() = w.request.workspace();
  list.set_project(w.request.project());
  absl::StatusOr<v1::ListBranchesResponse> r = manager_->ListBranches(list);
  if (!r.ok()) {
    if (!w.sent_any) w.out.Finish(ToGrpcStatus(r.status()));
    return;  // a passing failure: keep the stream, try on the next change
  }
  r->clear_notices();
  if (w.sent_any && google::protobuf::util::MessageDifferencer::Equals(*r, w.last)) return;
  v1::BranchListUpdate update;
  std::set<std::string> now;
  for (const v1::Branch& b : r->branches()) now.insert(b.name());
  for (const std::string& n : now) {
    if (!w.names.count(n)) update.add_added(n);
  }
  for (const std::string& n : w.names) {
    if (!now.count(n)) update.add_removed(n);
  }
  *update.mutable_branches() = r->branches();
  w.names = std::move(now);
  w.last = std::move(*r);
  w.sent_any = true;
  w.out.Write(std::move(update));
}

BranchServiceImpl::BranchServiceImpl(BranchManager* manager, AuditTask* audit)
    : manager_(manager), audit_(audit) {
  notifier_ = std::thread([this] { NotifierLoop(); });
}

BranchServiceImpl::~BranchServiceImpl() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  notifier_.join();
}

void BranchServiceImpl::OnProviderChanged() {
  {
    std::lock_guard lock(mu_);
    changed_ = true;
  }
  cv_.notify_all();
}

void BranchServiceImpl::NotifierLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || changed_; });
    if (stopping_) return;
    changed_ = false;
    // Refresh without holding mu_: it calls providers, which may report
    // more changes, and streams come and go meanwhile. A stream that ends
    // during its Refresh drops what Refresh writes.
    std::vector<std::shared_ptr<Watch>> watches;
    for (auto& [token, w] : watches_) watches.push_back(w);
    lock.unlock();
    for (const std::shared_ptr<Watch>& w : watches) Refresh(*w);
    lock.lock();
  }
}

uint64_t BranchServiceImpl::Subscribe(std::shared_ptr<Watch> w) {
  std::lock_guard lock(mu_);
  uint64_t token = next_token_++;
  watches_[token] = std::move(w);
  return token;
}

void BranchServiceImpl::Unsubscribe(uint64_t token) {
  std::lock_guard lock(mu_);
  watches_.erase(token);
}

grpc::ServerUnaryReactor* BranchServiceImpl::ListProjects(grpc::CallbackServerContext* ctx,
                                                          const v1::ListProjectsRequest* req,
                                                          v1::ListProjectsResponse* resp) {
  return Offload(pool_, ctx, resp, [this, req] { return manager_->ListProjects(*req); });
}

grpc::ServerUnaryReactor* BranchServiceImpl::ListBranches(grpc::CallbackServerContext* ctx,
                                                          const v1::ListBranchesRequest* req,
                                                          v1::ListBranchesResponse* resp) {
  return Offload(pool_, ctx, resp, [this, req] { return manager_->ListBranches(*req); });
}

grpc::ServerWriteReactor<v1::CreateBranchEvent>* BranchServiceImpl::CreateBranchStream(
    grpc::CallbackServerContext*, const v1::CreateBranchRequest* req) {
  auto* stream = new StreamWriter<v1::CreateBranchEvent>();
  pool_.Post([this, out = stream->handle(), request = *req] {
    absl::StatusOr<v1::CreateBranchResponse> r =
        manager_->CreateBranch(request, [&out](std::string_view line) {
          v1::CreateBranchEvent ev;
          ev.set_progress(std::string(line));
          out.Write(std::move(ev));
        });
    if (!r.ok()) {
      out.Finish(ToGrpcStatus(r.status()));
      return;
    }
    v1::CreateBranchEvent last;
    *last.mutable_result() = std::move(*r);
    out.WriteLast(std::move(last));
  });
  return stream;
}

grpc::ServerUnaryReactor* BranchServiceImpl::CreateBranch(grpc::CallbackServerContext* ctx,
                                                          const v1::CreateBranchRequest* req,
                                                          v1::CreateBranchResponse* resp) {
  return Offload(pool_, ctx, resp, [this, req] { return manager_->CreateBranch(*req); });
}

grpc::ServerUnaryReactor* BranchServiceImpl::DeleteBranch(grpc::CallbackServerContext* ctx,
                                                          const v1::DeleteBranchRequest* req,
                                                          v1::DeleteBranchResponse* resp) {
  return Offload(pool_, ctx, resp, [this, req] { return manager_->DeleteBranch(*req); });
}

grpc::ServerUnaryReactor* BranchServiceImpl::Audit(grpc::CallbackServerContext* ctx,
                                                   const v1::AuditRequest* req,
                                                   v1::AuditResponse* resp) {
  // Reads every known workspace's .env and git refs: off gRPC's threads.
  return Offload(pool_, ctx, resp, [this, req] { return audit_->Audit(*req); });
}

grpc::ServerUnaryReactor* BranchServiceImpl::SetExpiry(grpc::CallbackServerContext* ctx,
                                                       const v1::SetExpiryRequest* req,
                                                       v1::SetExpiryResponse* resp) {
  return Offload(pool_, ctx, resp, [this, req] { return manager_->SetExpiry(*req); });
}

grpc::ServerUnaryReactor* BranchServiceImpl::SetDatabase(grpc::CallbackServerContext* ctx,
                                                         const v1::SetDatabaseRequest* req,
                                                         v1::SetDatabaseResponse* resp) {
  return Offload(pool_, ctx, resp, [this, req] { return manager_->SetDatabase(*req); });
}

grpc::ServerUnaryReactor* BranchServiceImpl::ListDatabaseHistory(
    grpc::CallbackServerContext* ctx, const v1::ListDatabaseHistoryRequest* req,
    v1::ListDatabaseHistoryResponse* resp) {
  return Offload(pool_, ctx, resp, [this, req] { return manager_->ListDatabaseHistory(*req); });
}

grpc::ServerWriteReactor<v1::BranchListUpdate>* BranchServiceImpl::WatchBranches(
    grpc::CallbackServerContext*, const v1::WatchBranchesRequest* req) {
  auto* stream = new StreamWriter<v1::BranchListUpdate>();
  uint64_t token = Subscribe(std::make_shared<Watch>(*req, stream->handle()));
  stream->handle().OnEnd([this, token] { Unsubscribe(token); });
  // The first list may take a while (cluster start): the notifier thread
  // builds it, like every later one.
  OnProviderChanged();
  return stream;
}

}  // namespace ds::daemon
