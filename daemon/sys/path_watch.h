// Tells, with one system call, that nothing a file cache has checked can
// have changed since it checked it: the stat() per cached file per request
// (ParsedFileCache) becomes one epoll_wait() per request.
//
// Why this cannot give a stale answer after an edit: the kernel queues an
// inotify event inside the very system call that changes a directory entry,
// writes, closes or chmods a file, before that call returns. A client that
// edits .env and then asks dsd therefore finds the event already queued when
// its request is read, and Epoch() drains the queue on the request's own
// thread (a watcher thread's wake-up would be asynchronous). Mounts are
// covered the same way through /proc/self/mountinfo, which becomes readable
// in the mount() call itself.
//
// A path is only vouched for when inotify sees every change to it: every
// directory on the way is watched for the next name (so renaming or
// replacing a parent counts), no component is a symlink (a change to a
// link's target elsewhere would go unseen), and every directory is on a
// local filesystem (inotify misses changes another NFS/FUSE client makes).
// Otherwise Watch() says no and the caller keeps stat()ing.
#ifndef DS_DAEMON_SYS_PATH_WATCH_H_
#define DS_DAEMON_SYS_PATH_WATCH_H_

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>

#include "absl/status/statusor.h"

namespace ds::daemon {

class PathWatch {
 public:
  static absl::StatusOr<std::unique_ptr<PathWatch>> Create();
  ~PathWatch();
  PathWatch(const PathWatch&) = delete;
  PathWatch& operator=(const PathWatch&) = delete;

  // Watches what could change what the absolute `path` names. Returns false
  // when it cannot vouch for the path (see above; a missing directory on the
  // way is fine, watched through its deepest existing ancestor), and for
  // that path from then on. Call it before the stat() that an epoch read
  // after it will cover.
  bool Watch(const std::filesystem::path& path);

  // Drains the pending changes and returns the epoch, which moves with every
  // change that may concern a watched path (or when events were lost). A
  // check made after Epoch() returned e is still true while Epoch() returns
  // e. nullopt when it cannot tell: another thread was draining at the same
  // moment and may not have counted what it took yet.
  std::optional<uint64_t> Epoch();

  // Whether inotify sees every change made to entries of `dir` (a local
  // filesystem); exposed for tests.
  static bool OnLocalFilesystem(const std::filesystem::path& dir);

 private:
  explicit PathWatch(int inotify_fd);
  bool WatchAllTheWay(const std::filesystem::path& path);
  // Reads every queued inotify event; true when one may concern a path.
  bool DrainInotify();

  const uint64_t id_;  // tells the threads' descriptors which watch they serve
  const int inotify_fd_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> draining_{0};  // threads reading the inotify queue now
  // Watched directories by watch descriptor, with the names in each that
  // lead to a watched path. Epoch() reads it; Watch() (rare: a path not
  // seen before, or after a change) writes it for a few syscalls.
  struct Dir {
    std::filesystem::path path;
    std::set<std::string> names;
  };
  std::shared_mutex mu_;
  std::map<int, Dir> dirs_;
  // Paths Watch() said no to, asked again on every call that stat()s them:
  // the answer is remembered (it costs only the stat() it already costs).
  std::set<std::string> refused_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_SYS_PATH_WATCH_H_
