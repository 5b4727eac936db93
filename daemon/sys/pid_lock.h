// The pid file that makes a second dsd on the same state dir refuse to start.
// The lock is an flock held for the life of the process, so a crashed dsd
// never leaves a stale lock behind (the kernel drops it with the fd).
#ifndef DS_DAEMON_SYS_PID_LOCK_H_
#define DS_DAEMON_SYS_PID_LOCK_H_

#include <filesystem>

#include "absl/status/statusor.h"

namespace ds::daemon {

class PidLock {
 public:
  // Takes the lock and writes our pid and version, one per line.
  // FailedPrecondition naming the other daemon's pid when it is held.
  static absl::StatusOr<PidLock> Acquire(const std::filesystem::path& path);

  PidLock(PidLock&& other) noexcept;
  PidLock& operator=(PidLock&&) = delete;
  ~PidLock();

 private:
  explicit PidLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_SYS_PID_LOCK_H_
