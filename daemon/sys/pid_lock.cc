#include "daemon/sys/pid_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/strings.h"
#include "common/version.h"

namespace ds::daemon {

absl::StatusOr<PidLock> PidLock::Acquire(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        StrCat("cannot open ", path.string(), ": ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      // The first line is the pid (the second, the daemon's version).
      std::string_view text(buf, n > 0 ? static_cast<size_t>(n) : 0);
      std::string pid(TrimAsciiWhitespace(text.substr(0, text.find('\n'))));
      if (pid.empty()) pid = "?";
      return absl::FailedPreconditionError(StrCat(
          "another dsd (pid ", pid, ") is already running with state dir ",
          path.parent_path().string(), "; stop it with `ds daemon stop` first"));
    }
    return absl::FailedPreconditionError(
        StrCat("cannot lock ", path.string(), ": ", std::strerror(err)));
  }
  // The second line lets ds check the daemon's version without a round
  // trip (client/daemon_client.cc).
  std::string pid = StrCat(::getpid(), "\n", common::Version(), "\n");
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    int err = errno;
    ::close(fd);
    return absl::FailedPreconditionError(
        StrCat("cannot write ", path.string(), ": ", std::strerror(err)));
  }
  return PidLock(fd);
}

PidLock::PidLock(PidLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

PidLock::~PidLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace ds::daemon
