// dsd: the per-user ds daemon. See docs/architecture.md.
#include <signal.h>

#include <CLI/CLI.hpp>

#include "absl/synchronization/mutex.h"
#include <iostream>

#include "common/paths.h"
#include "common/version.h"
#include "daemon/server.h"
#include "daemon/sys/inherited_fds.h"

int main(int argc, char** argv) {
  // First: nothing of dsd's own is open yet, and no thread can race.
  ds::daemon::CloseInheritedFds();
  // Before any thread exists: every thread gRPC starts inherits this mask,
  // so only the main thread's sigwait sees these signals.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Debian's abseil checks every mutex acquisition for lock-order cycles
  // (a debug feature); it costs several percent of each RPC.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  CLI::App app{"dsd: the ds daemon. Usually started by ds or by systemd (dsd.socket)."};
  bool foreground = false;
  bool version = false;
  std::string state_dir;
  std::string log_level;
  app.add_flag("--foreground", foreground, "Also log to stderr");
  app.add_option("--state-dir", state_dir, "State directory (default: $DS_STATE_DIR, else "
                                           "$XDG_STATE_HOME/ds)");
  app.add_option("--log-level", log_level,
                 "debug, info, warning or error (default: config log_level, from "
                 "$DS_LOG_LEVEL or the user's config.toml, else info)");
  app.add_flag("--version", version, "Print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (version) {
    std::cout << "dsd " << ds::common::Version() << "\n";
    return 0;
  }
  std::optional<ds::common::LogLevel> level;
  if (!log_level.empty()) {
    level = ds::common::ParseLogLevel(log_level);
    if (!level) {
      std::cerr << "dsd: unknown log level '" << log_level
                << "'; use debug, info, warning or error\n";
      return 2;
    }
  }
  return ds::daemon::RunServer({.paths = ds::common::ResolvePaths(state_dir),
                                .foreground = foreground,
                                .log_level = level});
}
