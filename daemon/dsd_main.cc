// dsd: the per-user ds daemon. See docs/architecture.md.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "common/cli_doc.h"
#include "common/paths.h"
#include "common/version.h"
#include "daemon/server.h"
#include "daemon/sys/inherited_fds.h"

namespace {

// dsd(8), written at build time by `dsd --man` from the App below.
std::string ManPage(const CLI::App& app) {
  using ds::common::RoffOptions;
  std::string out = ds::common::RoffTitle("DSD", 8, ds::common::Version(), "ds");
  out += R"(.SH NAME
dsd \- the per\-user ds daemon
.SH SYNOPSIS
.B dsd
[\fIOPTIONS\fR]
.SH DESCRIPTION
.B dsd
serves the ds gRPC API (package ds.v1) on a Unix socket only its user may
connect to (the peer's uid is checked), caches what it knows about
workspaces, providers and branches, and runs long operations (migrations) as
tracked jobs.
It is started by
.BR ds (1)
when its socket does not answer, or by systemd through the user units
dsd.socket and dsd.service (socket activation, Type=notify).
A dsd whose version differs from the calling ds is stopped and replaced.
.SH OPTIONS
)";
  out += RoffOptions(app);
  out += R"(.SH SIGNALS
.TP
.B SIGTERM\fR, \fBSIGINT
Stop: refuse new calls, give calls in flight a moment, mark running jobs
interrupted (PostgreSQL rolls back what they had open) and stop the local
PostgreSQL cluster.
.TP
.B SIGHUP
Reopen the log file (for logrotate).
.SH ENVIRONMENT
.TP
.B XDG_RUNTIME_DIR
Holds ds/dsd.sock; without it /tmp/ds\-\fIUID\fR.
.TP
.B DS_STATE_DIR\fR, \fBXDG_STATE_HOME
The state directory (see FILES).
.TP
.B XDG_CONFIG_HOME\fR, \fBXDG_DATA_HOME
Where config.toml, credentials and the local clusters live.
.TP
.B DS_LOG_LEVEL
Log level when \-\-log\-level is not given.
.TP
.B DS_PG_BIN
PostgreSQL server binaries for the local provider (else pg_config \-\-bindir,
else the newest /usr/lib/postgresql/*/bin).
.TP
.B NEON_API_KEY\fR, \fBNEON_API_HOST\fR, \fBNEON_ORG_ID
Neon settings dsd uses when a workspace sets none (see ds(1), SETTINGS).
.TP
.B LISTEN_FDS\fR, \fBLISTEN_PID\fR, \fBNOTIFY_SOCKET
Set by systemd: the inherited socket and the readiness notification.
.SH FILES
.TP
.I $XDG_RUNTIME_DIR/ds/dsd.sock
The socket (mode 0600, in a 0700 directory).
.TP
.I $XDG_STATE_HOME/ds/dsd.pid
Held locked (flock) while dsd runs; holds its pid and version.
.TP
.I $XDG_STATE_HOME/ds/dsd.log
The log.
.TP
.I $XDG_STATE_HOME/ds/jobs/
One JSON record per job (the newest 200).
.TP
.I $XDG_STATE_HOME/ds/neon/
The Neon snapshot cache.
.TP
.I $XDG_DATA_HOME/ds/pg/
The embedded local PostgreSQL cluster.
.TP
.I ~/.config/systemd/user/dsd.socket\fR, \fIdsd.service
User units, when installed (lib/systemd/user in the package).
.SH SEE ALSO
.BR ds (1),
.BR systemctl (1)
)";
  return out;
}

}  // namespace

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
  app.add_option("--state-dir", state_dir,
                 "State directory (default: $DS_STATE_DIR, else "
                 "$XDG_STATE_HOME/ds)")
      ->type_name("DIR");
  app.add_option("--log-level", log_level,
                 "debug, info, warning or error (default: config log_level, from "
                 "$DS_LOG_LEVEL or the user's config.toml, else info)")
      ->type_name("LEVEL");
  app.add_flag("--version", version, "Print the version and exit");
  bool man = false;
  // Hidden (no group): the build writes dsd.8 with it.
  app.add_flag("--man", man, "Print this man page as roff")->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (man) {
    std::cout << ManPage(app);
    return 0;
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
  return ds::daemon::RunServer(
      {.paths = ds::common::ResolvePaths(state_dir), .foreground = foreground, .log_level = level});
}
