#include "daemon/sys/inherited_fds.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace ds::daemon {
namespace {

constexpr int kFirstFd = 3;        // after stdin, stdout, stderr
constexpr int kMaxListenFds = 64;  // far more than any unit passes

bool ParsePositive(const char* s, long* out) {
  if (s == nullptr) return false;
  std::string_view v(s);
  auto r = std::from_chars(v.data(), v.data() + v.size(), *out);
  return r.ec == std::errc() && r.ptr == v.data() + v.size() && *out > 0;
}

}  // namespace

int FirstUnwantedFd(const char* listen_pid, const char* listen_fds, pid_t self) {
  long pid = 0, fds = 0;
  if (!ParsePositive(listen_pid, &pid) || pid != self) return kFirstFd;
  if (!ParsePositive(listen_fds, &fds) || fds > kMaxListenFds) return kFirstFd;
  return kFirstFd + static_cast<int>(fds);
}

void CloseInheritedFds() {
  // closefrom uses close_range where the kernel has it and walks
  // /proc/self/fd otherwise.
  ::closefrom(FirstUnwantedFd(std::getenv("LISTEN_PID"), std::getenv("LISTEN_FDS"), ::getpid()));
}

}  // namespace ds::daemon
