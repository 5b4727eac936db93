// A server stream that some other thread feeds: messages queue up and are
// written one at a time (gRPC allows one write in flight), and the producer
// holds a Handle that stays safe to use after the client has gone (writes
// are then dropped). For streams whose messages come from a worker thread,
// such as CreateBranchStream.
#ifndef DS_DAEMON_RPC_QUEUED_WRITER_H_
#define DS_DAEMON_RPC_QUEUED_WRITER_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <mutex>

namespace ds::daemon {

template <typename T>
class QueuedWriter final : public grpc::ServerWriteReactor<T> {
  struct Shared {
    std::mutex mu;
    QueuedWriter* writer = nullptr;  // null once gRPC is done with the stream
  };

 public:
  class Handle {
   public:
    explicit Handle(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
    void Write(T message) const { Enqueue(std::move(message), false); }
    // Writes `message` and then ends the stream with OK.
    void WriteLast(T message) const { Enqueue(std::move(message), true); }
    void Finish(const grpc::Status& status) const {
      std::lock_guard lock(shared_->mu);
      if (shared_->writer) shared_->writer->FinishLocked(status);
    }

   private:
    void Enqueue(T message, bool last) const {
      std::lock_guard lock(shared_->mu);
      if (shared_->writer) shared_->writer->EnqueueLocked(std::move(message), last);
    }
    std::shared_ptr<Shared> shared_;
  };

  QueuedWriter() : shared_(std::make_shared<Shared>()) { shared_->writer = this; }
  Handle handle() const { return Handle(shared_); }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(shared_->mu);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    queue_.pop_front();
    if (!queue_.empty()) {
      writing_ = true;
      this->StartWrite(&queue_.front());
    } else if (last_queued_) {
      FinishLocked(grpc::Status::OK);
    }
  }

  void OnCancel() override {
    std::lock_guard lock(shared_->mu);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    {
      std::lock_guard lock(shared_->mu);
      shared_->writer = nullptr;
    }
    delete this;
  }

 private:
  void EnqueueLocked(T message, bool last) {
    if (finished_ || last_queued_) return;
    queue_.push_back(std::move(message));
    last_queued_ = last;
    if (!writing_) {
      writing_ = true;
      this->StartWrite(&queue_.front());
    }
  }

  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    this->Finish(status);
  }

  std::shared_ptr<Shared> shared_;
  std::deque<T> queue_;
  bool writing_ = false;
  bool last_queued_ = false;
  bool finished_ = false;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_RPC_QUEUED_WRITER_H_
