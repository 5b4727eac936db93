#include "daemon/pg/test_server.h"

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/strings.h"

extern char** environ;

namespace ds::daemon {

namespace fs = std::filesystem;

TestServer::~TestServer() { Stop(); }

// Runs argv (through setpriv when root) with its output in run.log.
// (daemon/sys's RunProcess is not for daemon/pg to include.)
absl::Status TestServer::Run(std::vector<std::string> argv) {
  argv.insert(argv.begin(), as_user_.begin(), as_user_.end());
  const fs::path log = root_ / "run.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  int err = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return absl::InternalError(StrCat("cannot run ", argv[0], ": ", strerror(err)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  std::ostringstream output;
  output << std::ifstream(log).rdbuf();
  return absl::InternalError(StrCat(argv[as_user_.size()], " failed (status ", status,
                                    "): ", TrimAsciiWhitespace(output.str())));
}

absl::Status TestServer::Start() {
  const char* override_dir = std::getenv("DS_PG_BIN");
  bin_ = override_dir && *override_dir ? override_dir : "/usr/lib/postgresql/15/bin";
  for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
    if (::access((bin_ / tool).c_str(), X_OK) != 0) {
      return absl::NotFoundError(
          StrCat("no PostgreSQL server binaries in ", bin_.string(), " (install postgresql-15)"));
    }
  }
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  if (uid == 0) {
    const char* env_user = std::getenv("DS_TEST_USER");
    const std::string user = env_user && *env_user ? env_user : "ds-test";
    const passwd* pw = ::getpwnam(user.c_str());
    if (!pw) {
      return absl::FailedPreconditionError(
          StrCat("running as root, the test server runs as user ", user,
                 ", which does not exist: run scripts/ensure-test-user.sh ", user));
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    as_user_ = {"/usr/bin/setpriv", StrCat("--reuid=", uid), StrCat("--regid=", gid),
                "--init-groups", "--"};
  }
  // Short: the socket path must fit in 108 bytes.
  std::string root_template = "/tmp/ds-pgtest-XXXXXX";
  if (!::mkdtemp(root_template.data())) return absl::InternalError("mkdtemp failed");
  root_ = root_template;
  ::chmod(root_.c_str(), 0755);
  for (const char* dir : {"data", "sock"}) {
    fs::path p = root_ / dir;
    if (::mkdir(p.c_str(), 0700) != 0 || ::chown(p.c_str(), uid, gid) != 0) {
      return absl::InternalError(StrCat("cannot make ", p.string()));
    }
  }
  if (absl::Status s =
          Run({(bin_ / "initdb").string(), "-D", (root_ / "data").string(), "-U", "postgres", "-A",
               "trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"});
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          Run({(bin_ / "pg_ctl").string(), "-D", (root_ / "data").string(), "-l",
               (root_ / "data" / "server.log").string(), "-w", "-t", "120", "-o",
               StrCat("-c listen_addresses='' -k ", (root_ / "sock").string(), " -c fsync=off"),
               "start"});
      !s.ok()) {
    return s;
  }
  running_ = true;
  return absl::OkStatus();
}

void TestServer::Stop() {
  if (running_) {
    (void)Run({(bin_ / "pg_ctl").string(), "-D", (root_ / "data").string(), "-m", "immediate", "-w",
               "stop"});
    running_ = false;
  }
  if (!root_.empty()) {
    std::error_code ec;
    fs::remove_all(root_, ec);
    root_.clear();
  }
}

std::string TestServer::Conninfo(const std::string& dbname) const {
  return StrCat("host=", (root_ / "sock").string(), " port=5432 user=postgres dbname=", dbname);
}

}  // namespace ds::daemon
