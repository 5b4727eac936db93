#include "daemon/sys/listener.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "common/strings.h"

namespace ds::daemon {
namespace {

constexpr int kSystemdFirstFd = 3;  // SD_LISTEN_FDS_START

bool ParseInt(std::string_view s, int* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

absl::StatusOr<sockaddr_un> SocketAddress(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& s = path.native();
  if (s.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(StrCat(
        "socket path ", s, " is longer than the ", sizeof addr.sun_path - 1,
        " bytes a Unix socket allows; use a shorter XDG_RUNTIME_DIR"));
  }
  std::memcpy(addr.sun_path, s.data(), s.size());
  return addr;
}

// True when something accepts connections on `path` right now.
bool SomeoneListens(const sockaddr_un& addr) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return live;
}

}  // namespace

Listener::Listener(int fd, std::filesystem::path path, bool activated)
    : fd_(fd), path_(std::move(path)), activated_(activated) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Listener::Listener(Listener&& o) noexcept
    : fd_(o.fd_), wake_fd_(o.wake_fd_), path_(std::move(o.path_)), activated_(o.activated_) {
  o.fd_ = o.wake_fd_ = -1;
}

Listener::~Listener() {
  Stop();
  if (fd_ >= 0) ::close(fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

absl::StatusOr<Listener> Listener::Bind(const std::filesystem::path& socket_path) {
  absl::StatusOr<sockaddr_un> addr = SocketAddress(socket_path);
  if (!addr.ok()) return addr.status();
  struct stat st;
  if (::lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(StrCat(
          socket_path.string(), " exists and is not a socket; remove it and start dsd again"));
    }
    // Never steal a live socket: another dsd (perhaps with another state
    // dir) is serving there.
    if (SomeoneListens(*addr)) {
      return absl::FailedPreconditionError(StrCat(
          "another dsd is already listening on ", socket_path.string(),
          "; stop it with `ds daemon stop`"));
    }
    ::unlink(socket_path.c_str());  // stale, left by a crash
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(StrCat("socket: ", std::strerror(errno)));
  // bind() creates the socket file with mode ~umask: make it 0600 from birth.
  mode_t old = ::umask(0177);
  int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  int err = errno;
  ::umask(old);
  if (rc != 0 || ::listen(fd, 128) != 0) {
    if (rc == 0) err = errno;
    ::close(fd);
    return absl::FailedPreconditionError(
        StrCat("cannot listen on ", socket_path.string(), ": ", std::strerror(err)));
  }
  return Listener(fd, socket_path, /*activated=*/false);
}

absl::StatusOr<std::optional<Listener>> Listener::FromSystemd() {
  const char* pid_s = std::getenv("LISTEN_PID");
  const char* fds_s = std::getenv("LISTEN_FDS");
  if (!pid_s || !fds_s) return std::nullopt;
  int pid = 0, nfds = 0;
  bool ours = ParseInt(pid_s, &pid) && pid == ::getpid();
  // The variables are meant for us alone: children must not inherit them.
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!ours) return std::nullopt;
  if (!ParseInt(fds_s, &nfds) || nfds != 1) {
    return absl::FailedPreconditionError(StrCat(
        "systemd passed ", fds_s, " sockets; dsd.socket must define exactly one ListenStream"));
  }
  int fd = kSystemdFirstFd;
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  sockaddr_un addr{};
  socklen_t len = sizeof addr;
  std::filesystem::path path;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.sun_path[0]) {
    path = addr.sun_path;
  }
  return std::optional<Listener>(Listener(fd, path, /*activated=*/true));
}

void Listener::Start(std::function<void(int fd)> serve) {
  thread_ = std::thread([this, serve = std::move(serve)] { Run(serve); });
}

void Listener::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  // A socket systemd created belongs to systemd (RemoveOnStop=yes): leave it.
  if (!activated_ && !path_.empty() && fd_ >= 0) {
    ::unlink(path_.c_str());
    ::close(fd_);
    fd_ = -1;
  }
}

void Listener::Run(const std::function<void(int)>& serve) {
  const uid_t me = ::geteuid();
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      common::LogError("listener: poll: ", std::strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    // gRPC serves only non-blocking fds: a blocking one hangs every call.
    int conn = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        common::LogWarning("listener: accept: ", std::strerror(errno));
        if (errno == EMFILE || errno == ENFILE) ::usleep(100 * 1000);
      }
      continue;
    }
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      common::LogWarning("listener: SO_PEERCRED failed (", std::strerror(errno),
                         "); closing the connection");
      ::close(conn);
      continue;
    }
    if (cred.uid != me) {
      common::LogWarning("refused a connection from uid ", cred.uid, " (pid ", cred.pid,
                         "): dsd serves only its owner, uid ", me);
      ::close(conn);
      continue;
    }
    common::LogDebug("accepted a connection from pid ", cred.pid);
    serve(conn);
  }
}

}  // namespace ds::daemon
