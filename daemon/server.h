// Everything one running dsd owns, wired together: the pid lock, the
// listener, the gRPC server and its services, the directory watcher.
#ifndef DS_DAEMON_SERVER_H_
#define DS_DAEMON_SERVER_H_

#include <optional>
#include <string>

#include "common/log.h"
#include "common/paths.h"

namespace ds::daemon {

struct ServerOptions {
  common::Paths paths;
  bool foreground = false;  // also log to stderr
  // --log-level; without it, config `log_level` from the user's
  // config.toml or dsd's environment (DS_LOG_LEVEL), read at start.
  std::optional<common::LogLevel> log_level;
};

// Runs dsd until SIGTERM, SIGINT or a Shutdown RPC; returns the exit code.
// The caller must have blocked SIGTERM, SIGINT, SIGHUP and SIGUSR1 in every
// thread before calling (this function waits for them with sigwait).
int RunServer(const ServerOptions& options);

}  // namespace ds::daemon

#endif  // DS_DAEMON_SERVER_H_
