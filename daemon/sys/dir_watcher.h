// Tells subscribers when files in a directory change, using one inotify
// descriptor and one thread for the whole daemon.
//
// Directories are watched rather than files because editors and ds itself
// replace files by rename, which gives the path a new inode that a watch on
// the old file would never see.
#ifndef DS_DAEMON_SYS_DIR_WATCHER_H_
#define DS_DAEMON_SYS_DIR_WATCHER_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace ds::daemon {

class DirWatcher {
 public:
  // Called on the watcher thread with the directory and the name of the
  // entry that changed. Must not block for long.
  using Callback = std::function<void(const std::filesystem::path& dir, const std::string& name)>;

  DirWatcher();
  ~DirWatcher();  // stops the thread
  DirWatcher(const DirWatcher&) = delete;
  DirWatcher& operator=(const DirWatcher&) = delete;

  absl::Status Start();
  void Stop();

  // Subscribes `callback` to changes of any entry in each of `dirs`.
  absl::StatusOr<uint64_t> Subscribe(const std::set<std::filesystem::path>& dirs,
                                     Callback callback);
  // After Unsubscribe returns, the callback is not running and will not run.
  void Unsubscribe(uint64_t token);

  size_t subscription_count() const;

 private:
  void Run();

  struct Subscription {
    std::set<std::filesystem::path> dirs;
    Callback callback;
  };

  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  // Held while callbacks run, so Unsubscribe can wait for a running one.
  mutable std::mutex mu_;
  uint64_t next_token_ = 1;
  std::map<uint64_t, Subscription> subscriptions_;
  std::map<int, std::filesystem::path> dir_by_wd_;
  std::map<std::filesystem::path, std::pair<int, int>> wd_by_dir_;  // dir -> (wd, refs)
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_SYS_DIR_WATCHER_H_
