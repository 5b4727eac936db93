// The one server-stream writer every ds.v1 stream uses (job events, branch
// creation progress, WatchBranches, WatchCurrent).
//
// gRPC allows one write in flight per stream; producers (a job thread, a
// worker, the directory watcher, the branch notifier) write whenever they
// have something. So messages queue up here and are written one at a time.
// Producers hold a Handle, never the reactor: the handle stays safe to use
// after gRPC is done with the stream (writes are then dropped), so a
// producer that outlives its client needs no care.
//
// What differs between streams is told through the handle:
//   WriteLast        the stream ends with OK once this message is written
//                    (a job's `finished` event, CreateBranchStream's result)
//   WriteIfChanged   drops a message equal to the last one queued
//                    (WatchCurrent sends only new answers)
//   OnEnd            what to undo when the stream ends (drop a job
//                    subscription, unsubscribe a watcher, count a watch out)
//
// Ordering: each OnEnd cleanup runs exactly once (the latest added first),
// outside the writer's lock, from OnCancel (before Finish) or OnDone,
// whichever comes first; one added after that runs at once. They run
// unlocked because one may wait for a producer that is itself waiting for
// the lock (DirWatcher::Unsubscribe waits for a running callback). Once the
// cleanup has returned, that producer no longer runs; writes that still
// arrive from elsewhere are dropped, and the reactor is never used after
// OnDone.
#ifndef DS_DAEMON_RPC_STREAM_WRITER_H_
#define DS_DAEMON_RPC_STREAM_WRITER_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "google/protobuf/util/message_differencer.h"

namespace ds::daemon {

template <typename T>
class StreamWriter final : public grpc::ServerWriteReactor<T> {
  struct Shared {
    std::mutex mu;
    StreamWriter* writer = nullptr;  // null once gRPC is done with the stream
    std::vector<std::function<void()>> cleanups;
    bool ended = false;  // the stream ended: cleanups have run or run now
  };

 public:
  class Handle {
   public:
    void Write(T message) const { Enqueue(std::move(message), /*last=*/false, /*dedupe=*/false); }
    // Writes `message` and then ends the stream with OK; later writes are
    // dropped.
    void WriteLast(T message) const {
      Enqueue(std::move(message), /*last=*/true, /*dedupe=*/false);
    }
    // Writes `message` unless it equals the last message queued.
    void WriteIfChanged(T message) const {
      Enqueue(std::move(message), /*last=*/false, /*dedupe=*/true);
    }
    // Ends the stream with `status`: the write in flight completes,
    // messages still queued behind it are dropped.
    void Finish(const grpc::Status& status) const {
      std::lock_guard lock(shared_->mu);
      if (shared_->writer) shared_->writer->FinishLocked(status);
    }
    // Adds something to undo when the stream ends (see the file comment).
    // When it has ended already, runs `cleanup` now, on the caller's thread.
    void OnEnd(std::function<void()> cleanup) const {
      {
        std::lock_guard lock(shared_->mu);
        if (!shared_->ended) {
          shared_->cleanups.push_back(std::move(cleanup));
          return;
        }
      }
      cleanup();
    }

   private:
    friend class StreamWriter;
    explicit Handle(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
    void Enqueue(T message, bool last, bool dedupe) const {
      std::lock_guard lock(shared_->mu);
      if (shared_->writer) shared_->writer->EnqueueLocked(std::move(message), last, dedupe);
    }
    std::shared_ptr<Shared> shared_;
  };

  // Made with new and returned to gRPC, which owns it from then on.
  StreamWriter() : shared_(std::make_shared<Shared>()) { shared_->writer = this; }
  Handle handle() const { return Handle(shared_); }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(shared_->mu);
    writing_ = false;
    if (!ok) {  // the client went away; OnDone runs the cleanup
      FinishLocked(grpc::Status::CANCELLED);
      return;
    }
    queue_.pop_front();
    if (!queue_.empty()) {
      StartWriteLocked();
    } else if (last_queued_) {
      FinishLocked(grpc::Status::OK);
    }
  }

  void OnCancel() override {
    RunCleanups();
    std::lock_guard lock(shared_->mu);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    RunCleanups();
    {
      std::lock_guard lock(shared_->mu);
      shared_->writer = nullptr;
    }
    delete this;
  }

 private:
  void RunCleanups() {
    std::vector<std::function<void()>> cleanups;
    {
      std::lock_guard lock(shared_->mu);
      shared_->ended = true;
      cleanups.swap(shared_->cleanups);
    }
    for (auto it = cleanups.rbegin(); it != cleanups.rend(); ++it) (*it)();
  }

  void EnqueueLocked(T message, bool last, bool dedupe) {
    if (finished_ || last_queued_) return;
    if (dedupe) {
      if (previous_ && google::protobuf::util::MessageDifferencer::Equals(message, *previous_)) {
        return;
      }
      previous_ = message;
    }
    queue_.push_back(std::move(message));
    last_queued_ = last;
    if (!writing_) StartWriteLocked();
  }

  void StartWriteLocked() {
    writing_ = true;
    this->StartWrite(&queue_.front());
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
  std::optional<T> previous_;  // the last message WriteIfChanged queued
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_RPC_STREAM_WRITER_H_
