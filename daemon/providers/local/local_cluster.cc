#include "daemon/providers/local/local_cluster.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/atomic_file.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/strings.h"
#include "daemon/sys/subprocess.h"

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;

std::string LastLines(const fs::path& file, size_t count) {
  absl::StatusOr<std::string> text = common::ReadFile(file);
  if (!text.ok()) return "";
  std::vector<std::string_view> lines = SplitSkipEmpty(*text, '\n');
  size_t from = lines.size() > count ? lines.size() - count : 0;
  std::string out;
  for (size_t i = from; i < lines.size(); ++i) StrAppend(&out, "\n  ", lines[i]);
  return out;
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (std::string_view dir : SplitSkipEmpty(path ? path : "/usr/bin:/bin", ':')) {
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

bool HasServerBinaries(const fs::path& dir) {
  return ::access((dir / "initdb").c_str(), X_OK) == 0 &&
         ::access((dir / "pg_ctl").c_str(), X_OK) == 0 &&
         ::access((dir / "postgres").c_str(), X_OK) == 0;
}

int ParsePort(std::string_view s) {
  s = TrimAsciiWhitespace(s);
  int port = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), port);
  return (r.ec == std::errc() && port > 0 && port < 65536) ? port : 0;
}

}  // namespace

std::string GeneratePassword() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[32];
  // getrandom opens no fd (an ifstream's would lack close-on-exec).
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string out;
  for (unsigned char b : bytes) out.push_back(kAlphabet[b % 62]);  // slight bias is harmless
  return out;
}

absl::StatusOr<int> PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return absl::InternalError(StrCat("cannot find a free port: ", std::strerror(err)));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<fs::path> LocalCluster::FindBinaries(const std::string& override_dir) {
  if (!override_dir.empty()) {
    if (HasServerBinaries(override_dir)) return fs::path(override_dir);
    return absl::FailedPreconditionError(
        StrCat("DS_PG_BIN=", override_dir,
               " holds no initdb, pg_ctl and postgres; point it at a "
               "PostgreSQL server's bin directory"));
  }
  // pg_config names the newest installed version's directory on Debian.
  if (std::string pg_config = FindOnPath("pg_config"); !pg_config.empty()) {
    absl::StatusOr<ProcessResult> r = RunProcess({pg_config, "--bindir"});
    if (r.ok() && r->exit_code == 0) {
      fs::path dir(std::string(TrimAsciiWhitespace(r->output)));
      if (HasServerBinaries(dir)) return dir;
    }
  }
  int best = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string name = entry.path().filename().string();
    int version = 0;
    auto r = std::from_chars(name.data(), name.data() + name.size(), version);
    if (r.ec == std::errc() && version > best && HasServerBinaries(entry.path() / "bin")) {
      best = version;
    }
  }
  if (best >= 0) return fs::path("/usr/lib/postgresql") / std::to_string(best) / "bin";
  return absl::FailedPreconditionError(
      "PostgreSQL server binaries were not found (looked at DS_PG_BIN, pg_config --bindir "
      "and /usr/lib/postgresql/*/bin); install them with `sudo apt-get install postgresql-15`");
}

LocalCluster::LocalCluster(LocalClusterOptions options) : options_(std::move(options)) {}

bool LocalCluster::initialized() const { return fs::exists(pgdata() / "PG_VERSION"); }

int LocalCluster::RecordedPort() const {
  absl::StatusOr<std::string> port = common::ReadFile(options_.data_dir / "pg.port");
  return port.ok() ? ParsePort(*port) : 0;
}

std::string LocalCluster::SuperuserConninfo(const std::string& dbname) const {
  // Values are quoted for libpq's key=value syntax; none holds a quote.
  return StrCat("host='", options_.socket_dir.string(), "' port=", port(), " user=", kSuperuser,
                " password='", superuser_password_, "' dbname='", dbname,
                "' application_name=dsd connect_timeout=10");
}

absl::Status LocalCluster::LoadSecrets() {
  absl::StatusOr<std::string> port = common::ReadFile(options_.data_dir / "pg.port");
  port_ = port.ok() ? ParsePort(*port) : 0;
  // Read once: other threads read the password without mu_ once
  // EnsureRunning has returned (they never change for a cluster).
  if (!superuser_password_.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> su = common::ReadFile(options_.data_dir / "pg.superuser");
  if (!su.ok()) return su.status();
  superuser_password_ = std::string(TrimAsciiWhitespace(*su));
  return absl::OkStatus();
}

absl::Status LocalCluster::Initialize() {
  common::LogInfo("creating the local PostgreSQL cluster in ", pgdata().string());
  const fs::path tmp = options_.data_dir / "pg.initializing";
  std::error_code ec;
  fs::remove_all(tmp, ec);  // left by an interrupted earlier attempt
  if (absl::Status s = common::ReplaceFileAtomically(options_.data_dir / "pg.superuser",
                                                     GeneratePassword() + "\n", 0600);
      !s.ok()) {
    return s;
  }
  // A new password for a new cluster (no one can have read the old one:
  // there was no cluster to use it with).
  superuser_password_.clear();
  if (absl::Status s = LoadSecrets(); !s.ok()) return s;
  // initdb reads the password from a file; pg.superuser is that file.
  absl::StatusOr<ProcessResult> r = RunProcess(
      {(bin_dir_ / "initdb").string(), "-D", tmp.string(), "-U", kSuperuser,
       "--pwfile=" + (options_.data_dir / "pg.superuser").string(), "--auth=scram-sha-256",
       "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions",
       // initdb fsyncs file by file, which takes seconds; one syncfs()
       // below makes the new cluster durable in a fraction of that.
       "--no-sync"});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    fs::remove_all(tmp, ec);
    return absl::InternalError(
        StrCat("initdb failed: ", std::string(TrimAsciiWhitespace(r->output))));
  }
  if (int fd = ::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::syncfs(fd);
    ::close(fd);
  }
  // The server only ever listens on loopback and on our private socket dir.
  const std::string added = StrCat("\n# Added by dsd\n", "listen_addresses = '127.0.0.1'\n",
                                   "unix_socket_directories = '", options_.socket_dir.string(),
                                   "'\n", "unix_socket_permissions = 0700\n");
  const fs::path conf = tmp / "postgresql.conf";
  int conf_fd = ::open(conf.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  const bool written = conf_fd >= 0 && ::write(conf_fd, added.data(), added.size()) ==
                                           static_cast<ssize_t>(added.size());
  if (conf_fd >= 0) ::close(conf_fd);
  if (!written) {
    fs::remove_all(tmp, ec);
    return absl::InternalError(StrCat("cannot write ", conf.string()));
  }
  // Only a complete cluster gets the real name, so a crash mid-initdb is
  // retried from scratch next time.
  fs::rename(tmp, pgdata(), ec);
  if (ec)
    return absl::InternalError(StrCat("cannot move the new cluster into place: ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<bool> LocalCluster::IsRunning() {
  absl::StatusOr<std::string> pidfile = common::ReadFile(pgdata() / "postmaster.pid");
  if (!pidfile.ok()) return false;
  // A view of the file, not of std::string::substr's temporary copy (which
  // is gone by the next line: ASan's stack-use-after-scope).
  std::string_view text = *pidfile;
  std::string_view first = text.substr(0, text.find('\n'));
  int pid = 0;
  auto r = std::from_chars(first.data(), first.data() + first.size(), pid);
  if (r.ec != std::errc() || pid <= 0) return false;
  return ::kill(pid, 0) == 0;
}

absl::Status LocalCluster::Start() {
  if (absl::Status s = common::EnsurePrivateDir(options_.socket_dir); !s.ok()) return s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (port_ == 0) {
      absl::StatusOr<int> free_port = PickFreePort();
      if (!free_port.ok()) return free_port.status();
      port_ = *free_port;
      if (absl::Status s = common::ReplaceFileAtomically(options_.data_dir / "pg.port",
                                                         StrCat(port(), "\n"), 0600);
          !s.ok()) {
        return s;
      }
    }
    const fs::path log = options_.data_dir / "pg.log";
    absl::StatusOr<ProcessResult> r =
        RunProcess({(bin_dir_ / "pg_ctl").string(), "-D", pgdata().string(), "-l", log.string(),
                    "-w", "-t", "60", "-o", StrCat("-p ", port()), "start"});
    if (!r.ok()) return r.status();
    if (r->exit_code == 0) {
      common::LogInfo("local PostgreSQL started on 127.0.0.1:", port());
      return absl::OkStatus();
    }
    std::string tail = LastLines(log, 5);
    if (tail.find("could not bind") != std::string::npos ||
        tail.find("Address already in use") != std::string::npos) {
      common::LogWarning("port ", port(), " is taken; picking another for local PostgreSQL");
      port_ = 0;
      continue;
    }
    return absl::UnavailableError(
        StrCat("local PostgreSQL failed to start (log ", log.string(), "):", tail));
  }
  return absl::UnavailableError("local PostgreSQL could not find a free port");
}

absl::StatusOr<std::string> LocalCluster::EnsureRunning() {
  std::lock_guard lock(mu_);
  if (started_once_) {
    absl::StatusOr<bool> running = IsRunning();
    if (running.ok() && *running) return std::string();
  }
  if (bin_dir_.empty()) {
    absl::StatusOr<fs::path> bin = FindBinaries(options_.bin_dir_override);
    if (!bin.ok()) return bin.status();
    bin_dir_ = *bin;
  }
  if (absl::Status s = common::EnsurePrivateDir(options_.data_dir); !s.ok()) return s;
  bool created = false;
  if (!initialized()) {
    if (absl::Status s = Initialize(); !s.ok()) return s;
    created = true;
  } else if (absl::Status s = LoadSecrets(); !s.ok()) {
    return s;
  }
  absl::StatusOr<bool> running = IsRunning();
  if (!running.ok()) return running.status();
  std::string notice;
  if (!*running) {
    if (started_once_) {
      notice = StrCat("local PostgreSQL had stopped; dsd restarted it (see ",
                      (options_.data_dir / "pg.log").string(), ")");
      common::LogWarning(notice);
    }
    if (absl::Status s = Start(); !s.ok()) return s;
  }
  started_once_ = true;
  if (created) notice = "created the local PostgreSQL cluster";
  return notice;
}

absl::Status LocalCluster::Stop() {
  std::lock_guard lock(mu_);
  absl::StatusOr<bool> running = IsRunning();
  if (!running.ok() || !*running) return absl::OkStatus();
  if (bin_dir_.empty()) {  // left running by an earlier dsd
    absl::StatusOr<fs::path> bin = FindBinaries(options_.bin_dir_override);
    if (!bin.ok()) return bin.status();
    bin_dir_ = *bin;
  }
  absl::StatusOr<ProcessResult> r = RunProcess(
      {(bin_dir_ / "pg_ctl").string(), "-D", pgdata().string(), "-m", "fast", "-w", "stop"});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::InternalError(StrCat("pg_ctl stop failed: ", TrimAsciiWhitespace(r->output)));
  }
  common::LogInfo("local PostgreSQL stopped");
  started_once_ = false;
  return absl::OkStatus();
}

}  // namespace ds::daemon
