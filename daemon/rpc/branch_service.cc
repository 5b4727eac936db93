#include "daemon/rpc/branch_service.h"

#include <deque>
#include <set>

#include "daemon/rpc/queued_writer.h"
#include "daemon/rpc/rpc_status.h"
#include "google/protobuf/util/message_differencer.h"

namespace ds::daemon {

// One WatchBranches stream: the list at once, then after every change that
// alters it. Same write discipline as WorkspaceService's watcher.
class BranchServiceImpl::WatchReactor final
    : public grpc::ServerWriteReactor<v1::BranchListUpdate> {
 public:
  WatchReactor(BranchServiceImpl* service, const v1::WatchBranchesRequest& req)
      : service_(service), request_(req) {
    token_ = service_->Subscribe(this);
    // The first list may take a while (cluster start): the notifier thread
    // builds it, like every later one, so Unsubscribe can wait it out.
    service_->OnProviderChanged();
  }

  // Called on the notifier thread or the pool.
  void Refresh() {
    v1::ListBranchesRequest list;
    *list.mutable_workspace() = request_.workspace();
    list.set_project(request_.project());
    absl::StatusOr<v1::ListBranchesResponse> r = service_->manager_->ListBranches(list);
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (!r.ok()) {
      if (!sent_any_) FinishLocked(ToGrpcStatus(r.status()));
      return;  // a passing failure: keep the stream, try on the next change
    }
    v1::BranchListUpdate update;
    std::set<std::string> now;
    for (const v1::Branch& b : r->branches()) now.insert(b.name());
    for (const std::string& n : now) {
      if (!names_.count(n)) update.add_added(n);
    }
    for (const std::string& n : names_) {
      if (!now.count(n)) update.add_removed(n);
    }
    *update.mutable_branches() = r->branches();
    r->clear_notices();
    if (sent_any_ && google::protobuf::util::MessageDifferencer::Equals(*r, last_)) return;
    names_ = std::move(now);
    last_ = std::move(*r);
    sent_any_ = true;
    queue_.push_back(std::move(update));
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    queue_.pop_front();
    if (!queue_.empty()) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }

  void OnCancel() override {
    Detach();
    std::lock_guard lock(mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    Detach();
    delete this;
  }

 private:
  void Detach() {
    uint64_t token;
    {
      std::lock_guard lock(mu_);
      token = token_;
      token_ = 0;
    }
    if (token) service_->Unsubscribe(token);
  }

  void FinishLocked(const grpc::Status& s) {
    if (finished_) return;
    finished_ = true;
    Finish(s);
  }

  BranchServiceImpl* service_;
  const v1::WatchBranchesRequest request_;
  std::mutex mu_;
  uint64_t token_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  bool sent_any_ = false;
  std::set<std::string> names_;
  v1::ListBranchesResponse last_;
  std::deque<v1::BranchListUpdate> queue_;
};

BranchServiceImpl::BranchServiceImpl(BranchManager* manager, ProviderRegistry* providers)
    : manager_(manager) {
  notifier_ = std::thread([this] { NotifierLoop(); });
  providers->SetChangeListener([this] { OnProviderChanged(); });
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
    // Tell watchers without holding mu_ (Refresh calls providers, which
    // may report more changes), but under delivering_ so Unsubscribe can
    // wait until no Refresh of a leaving watcher is running.
    std::lock_guard deliver(delivering_);
    std::vector<WatchReactor*> watchers;
    for (auto& [token, w] : watchers_) watchers.push_back(w);
    lock.unlock();
    for (WatchReactor* w : watchers) w->Refresh();
    lock.lock();
  }
}

uint64_t BranchServiceImpl::Subscribe(WatchReactor* r) {
  std::lock_guard lock(mu_);
  uint64_t token = next_token_++;
  watchers_[token] = r;
  return token;
}

void BranchServiceImpl::Unsubscribe(uint64_t token) {
  std::lock_guard deliver(delivering_);
  std::lock_guard lock(mu_);
  watchers_.erase(token);
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
  auto* stream = new QueuedWriter<v1::CreateBranchEvent>();
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

grpc::ServerUnaryReactor* BranchServiceImpl::SetDatabase(grpc::CallbackServerContext* ctx,
                                                         const v1::SetDatabaseRequest* req,
                                                         v1::SetDatabaseResponse* resp) {
  return Offload(pool_, ctx, resp, [this, req] { return manager_->SetDatabase(*req); });
}

grpc::ServerWriteReactor<v1::BranchListUpdate>* BranchServiceImpl::WatchBranches(
    grpc::CallbackServerContext*, const v1::WatchBranchesRequest* req) {
  return new WatchReactor(this, *req);
}

}  // namespace ds::daemon
