// dsd's own accept loop on the Unix socket.
//
// gRPC 1.51 cannot tell who is on the other end of a Unix socket, so dsd
// accepts connections itself, checks the peer's uid with SO_PEERCRED and
// only then hands the fd to gRPC (AddInsecureChannelFromFd). Connections
// from any other uid are closed and logged. This is also what makes systemd
// socket activation possible: the listening fd may come from systemd.
#ifndef DS_DAEMON_SYS_LISTENER_H_
#define DS_DAEMON_SYS_LISTENER_H_

#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include "absl/status/statusor.h"

namespace ds::daemon {

class Listener {
 public:
  // Binds `socket_path` (0600, in a private directory checked by the
  // caller). Refuses when another daemon answers there; removes a stale
  // socket left by a crashed one.
  static absl::StatusOr<Listener> Bind(const std::filesystem::path& socket_path);
  // Adopts a listening socket passed by systemd (LISTEN_FDS), or returns
  // nullopt when dsd was not socket-activated.
  static absl::StatusOr<std::optional<Listener>> FromSystemd();

  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&&) = delete;
  ~Listener();

  // Accepts connections on a thread until Stop(); `serve` receives each
  // connection that passed the uid check and owns its fd from then on.
  void Start(std::function<void(int fd)> serve);
  // Stops accepting and, when dsd bound the socket itself, removes it.
  void Stop();

  bool activated() const { return activated_; }

 private:
  Listener(int fd, std::filesystem::path path, bool activated);
  void Run(const std::function<void(int)>& serve);

  int fd_ = -1;
  int wake_fd_ = -1;
  std::filesystem::path path_;
  bool activated_ = false;
  std::thread thread_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_SYS_LISTENER_H_
