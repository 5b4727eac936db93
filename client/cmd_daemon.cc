// `ds daemon start|status|stop|logs` and `ds version`.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/daemon_client.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "common/clock.h"
#include "common/version.h"
#include "common/strings.h"

namespace ds::client {
namespace {

std::string Uptime(int64_t started_ms) {
  int64_t s = std::max<int64_t>(0, (common::UnixMillisNow() - started_ms) / 1000);
  if (s < 60) return StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

int PrintStatus(const v1::PingResponse& p, bool json) {
  if (json) {
    std::cout << ToJson(p);
    return kExitOk;
  }
  std::cout << StrCat("dsd ", p.version(), " running (pid ", p.pid(), ", up ",
                            Uptime(p.started_at_unix_ms()),
                            p.socket_activated() ? ", socket-activated" : "", ")\n",
                            "Socket:    ", p.socket_path(), "\n",
                            "State dir: ", p.state_dir(), "\n",
                            "Log:       ", p.log_file(), "\n",
                            "Watches:   ", p.active_watches(), "\n");
  return kExitOk;
}

}  // namespace

int RunDaemonStart(const Invocation& inv) {
  absl::StatusOr<DaemonClient> client =
      DaemonClient::Connect(inv.paths, {.state_dir_override = inv.global.state_dir,
                                        .need_ping = true});
  if (!client.ok()) return ReportStatus(client.status());
  return PrintStatus(client->ping(), inv.options.json);
}

int RunDaemonStatus(const Invocation& inv) {
  absl::StatusOr<DaemonClient> client = DaemonClient::Connect(
      inv.paths, {.spawn = false, .restart_on_skew = false,
                  .state_dir_override = inv.global.state_dir, .need_ping = true});
  if (!client.ok()) return ReportStatus(client.status());
  return PrintStatus(client->ping(), inv.options.json);
}

int RunDaemonStop(const Invocation& inv) {
  if (absl::Status s = StopDaemon(inv.paths, "ds daemon stop", inv.options.keep_databases);
      !s.ok()) {
    return ReportStatus(s);
  }
  std::cout << "dsd stopped\n";
  return kExitOk;
}

int RunDaemonLogs(const Invocation& inv) {
  const std::filesystem::path log = inv.paths.log_file();
  int fd = ::open(log.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return PrintError(StrCat("no log at ", log.string(),
                                   ": dsd has not run with this state dir yet"),
                      kExitFailed);
  }
  // Read the tail: the whole log would be slow to print and rarely wanted.
  off_t size = ::lseek(fd, 0, SEEK_END);
  off_t from = std::max<off_t>(0, size - 256 * 1024);
  std::string text(static_cast<size_t>(size - from), '\0');
  ssize_t n = ::pread(fd, text.data(), text.size(), from);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  size_t start = text.size();
  int wanted = inv.options.lines;
  if (!text.empty() && text.back() == '\n') --start;
  while (start > 0 && wanted > 0) {
    --start;
    if (text[start] == '\n' && --wanted == 0) {
      ++start;
      break;
    }
  }
  if (inv.options.lines == 0) start = text.size();
  std::cout << std::string_view(text).substr(start) << std::flush;
  off_t pos = from + static_cast<off_t>(text.size());
  while (inv.options.follow) {
    char buf[8192];
    ssize_t r = ::pread(fd, buf, sizeof buf, pos);
    if (r > 0) {
      std::cout.write(buf, r).flush();
      pos += r;
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ::close(fd);
  return kExitOk;
}

int RunVersion(const Invocation& inv) {
  absl::StatusOr<DaemonClient> client = DaemonClient::Connect(
      inv.paths, {.spawn = false, .restart_on_skew = false,
                  .state_dir_override = inv.global.state_dir, .need_ping = true});
  std::string dsd = client.ok() ? client->ping().version() : "";
  if (inv.options.json) {
    v1::VersionInfo info;
    info.set_client_version(std::string(common::Version()));
    info.set_daemon_version(dsd);
    std::cout << ToJson(info);
    return kExitOk;
  }
  std::cout << "ds  " << common::Version() << "\n"
            << "dsd " << (client.ok() ? dsd : "(not running)") << "\n";
  return kExitOk;
}

}  // namespace ds::client
