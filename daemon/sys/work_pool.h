// A few threads for RPC work that blocks (template copies, cluster start):
// gRPC's callback reactors must not block, so such handlers hand their work
// here and Finish from the worker thread.
#ifndef DS_DAEMON_SYS_WORK_POOL_H_
#define DS_DAEMON_SYS_WORK_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ds::daemon {

class WorkPool {
 public:
  explicit WorkPool(int threads);
  ~WorkPool();  // runs what is queued, then joins
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  void Post(std::function<void()> work);

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_SYS_WORK_POOL_H_
