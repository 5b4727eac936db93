#include "client/daemon_client.h"

#include <fcntl.h>
#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/atomic_file.h"
#include "common/config.h"
#include "common/strings.h"
#include "common/version.h"

extern char** environ;

namespace ds::client {
namespace {

using Clock = std::chrono::steady_clock;

enum class SocketState { kAnswers, kNobody, kOtherUser };

// Who owns what, when Probe finds another user's socket.
struct Foreign {
  std::filesystem::path path;  // the socket or its directory
  uid_t uid = 0;
};

// Whose dsd is behind `path`: another user's when the socket or its
// directory belongs to another uid (seen before connecting: without root,
// connecting would only fail with EACCES), or when the listener's
// credentials say so (SO_PEERCRED; root may connect anywhere, and that dsd
// would then close the connection unanswered). A plain connect() also
// tells "nobody listens" in microseconds, where a gRPC channel would sit in
// its reconnect backoff.
SocketState Probe(const std::filesystem::path& path, Foreign* foreign = nullptr) {
  const uid_t me = ::geteuid();
  struct stat st;
  // Another user's runtime directory (0700) hides what is inside it: then
  // the directory that shuts us out is the one to name.
  const std::filesystem::path dir = path.parent_path();
  for (const std::filesystem::path& p : {dir.parent_path(), dir, path}) {
    if (::lstat(p.c_str(), &st) != 0) continue;
    const bool shuts_us_out =
        p == dir.parent_path() && ::access(dir.c_str(), F_OK) != 0 && errno == EACCES;
    if (st.st_uid != me && (p != dir.parent_path() || shuts_us_out)) {
      if (foreign) *foreign = {p, st.st_uid};
      return SocketState::kOtherUser;
    }
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) return SocketState::kNobody;
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketState::kNobody;
  SocketState state = SocketState::kNobody;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    state = SocketState::kAnswers;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid != me) {
      if (foreign) *foreign = {path, cred.uid};
      state = SocketState::kOtherUser;
    }
  }
  ::close(fd);
  return state;
}

bool SocketAnswers(const std::filesystem::path& path) {
  return Probe(path) == SocketState::kAnswers;
}

absl::Status OtherUsersSocket(const Foreign& foreign) {
  return absl::UnavailableError(absl::StrFormat(
      "%s belongs to another user (uid %d), not to you (uid %d): that is not your dsd, and "
      "ds talks only to your own. Unset XDG_RUNTIME_DIR or point it at your own runtime "
      "directory",
      foreign.path.string(), foreign.uid, ::geteuid()));
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::filesystem::path& socket) {
  // A reference on gRPC that is never released: when the last channel goes
  // away gRPC would otherwise shut down and join its threads, which costs
  // milliseconds on every call. ds ends with _exit instead. Taken here, not
  // in main, so commands that never talk to dsd do not start gRPC at all.
  static const bool initialised = [] {
    grpc_init();
    return true;
  }();
  (void)initialised;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  // A channel of its own per connect: with gRPC's global subchannel pool a
  // new channel would reuse the connection to a daemon ds just replaced.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // If the first attempt races a starting daemon, retry quickly rather than
  // after gRPC's default one-second backoff. (The minimum backoff is left
  // alone: gRPC also uses it as the connect timeout, and a daemon that
  // systemd is just starting may take longer than a small value to answer.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  // dsd is on this machine: no bandwidth-delay product to probe for, and
  // each probe PING costs dsd an acknowledgement.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto channel = grpc::CreateCustomChannel("unix:" + socket.string(),
                                           grpc::InsecureChannelCredentials(), args);
  // Channels live until the process ends with _exit: destroying one waits
  // for gRPC to wind down its connection, milliseconds per call for nothing.
  static auto* keep_alive = new std::vector<std::shared_ptr<grpc::Channel>>;
  keep_alive->push_back(channel);
  return channel;
}

absl::StatusOr<v1::PingResponse> Ping(v1::DaemonService::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(UnaryDeadline());
  v1::PingRequest req;
  req.set_client_version(std::string(common::Version()));
  v1::PingResponse resp;
  grpc::Status s = stub.Ping(&ctx, req, &resp);
  if (!s.ok()) {
    return absl::UnavailableError(StrCat("dsd did not answer: ", s.error_message()));
  }
  return resp;
}

// The dsd binary that belongs to this ds: the one beside it, else PATH.
std::string FindDsd() {
  if (const char* over = std::getenv("DS_DSD"); over && *over) return over;
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    std::filesystem::path beside = std::filesystem::path(buf).parent_path() / "dsd";
    if (::access(beside.c_str(), X_OK) == 0) return beside.string();
  }
  return "dsd";  // posix_spawnp searches PATH
}

// True once no process holds dsd's pid lock. Waiting on the lock rather
// than the pid also works when the old daemon lingers as a zombie of a
// parent that has not reaped it yet: its descriptors are closed at exit.
bool PidLockFree(const std::filesystem::path& pid_file) {
  int fd = ::open(pid_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  bool free = ::flock(fd, LOCK_SH | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

// The version a running dsd wrote on the second line of its pid file, or
// "" when there is none.
std::string VersionFromPidFile(const common::Paths& paths) {
  absl::StatusOr<std::string> text = common::ReadFile(paths.pid_file());
  if (!text.ok()) return "";
  std::vector<std::string_view> lines = Split(*text, '\n');
  return lines.size() >= 2 ? std::string(lines[1]) : "";
}

// The last lines of dsd's log, to explain why a daemon did not come up.
std::string LogTail(const common::Paths& paths, size_t lines) {
  absl::StatusOr<std::string> log = common::ReadFile(paths.log_file());
  if (!log.ok()) return "";
  std::vector<std::string_view> all = SplitSkipEmpty(*log, '\n');
  size_t from = all.size() > lines ? all.size() - lines : 0;
  std::string out;
  for (size_t i = from; i < all.size(); ++i) StrAppend(&out, "\n  ", all[i]);
  return out;
}

// Starts dsd detached from this terminal (own session, stdio on /dev/null:
// it logs to its state dir) and waits until it answers.
absl::Status SpawnAndWait(const common::Paths& paths, const ConnectOptions& options) {
  std::string dsd = FindDsd();
  std::vector<std::string> args = {dsd};
  if (!options.state_dir_override.empty()) {
    args.push_back("--state-dir");
    args.push_back(paths.state_dir.string());
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  // The calling shell's other fds (an open file, a pipe a script waits on)
  // would stay open in dsd for its whole life: dsd gets 0-2 only.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  // dsd serves every workspace, so it must not adopt this shell's Neon, AWS,
  // Stripe or GitHub credentials as its own ("dsd's environment" is a layer of every
  // workspace's config): ds forwards them with each request instead.
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv = *e;
    std::string_view name = kv.substr(0, kv.find('='));
    if (name.starts_with("NEON_") && common::FindConfigKeyByEnvVar(name)) continue;
    if (common::IsForwardedCredential(name)) continue;
    envp.push_back(*e);
  }
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, dsd.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::UnavailableError(StrCat("cannot start dsd (", dsd, "): ", std::strerror(rc),
                                         "; install dsd beside ds or on PATH"));
  }

  // Poll from 5 ms, doubling to 100 ms, for up to 10 s.
  auto deadline = Clock::now() + std::chrono::seconds(10);
  std::chrono::milliseconds delay(5);
  while (Clock::now() < deadline) {
    if (SocketAnswers(paths.socket())) return absl::OkStatus();
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return absl::UnavailableError(
          StrCat("dsd exited during start-up; its log says:", LogTail(paths, 5)));
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(100));
  }
  return absl::UnavailableError(StrCat("dsd did not start listening on ", paths.socket().string(),
                                       " within 10 s; see ", paths.log_file().string()));
}

// flock on the spawn lock, released by the destructor.
class SpawnLock {
 public:
  static absl::StatusOr<SpawnLock> Take(const common::Paths& paths) {
    if (absl::Status s = common::EnsurePrivateDir(paths.runtime_dir); !s.ok()) {
      return absl::UnavailableError(StrCat("cannot start dsd: ", s.message()));
    }
    int fd = ::open(paths.spawn_lock().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
      int err = errno;
      if (fd >= 0) ::close(fd);
      return absl::UnavailableError(
          StrCat("cannot lock ", paths.spawn_lock().string(), ": ", std::strerror(err)));
    }
    return SpawnLock(fd);
  }
  SpawnLock(SpawnLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~SpawnLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit SpawnLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

std::chrono::system_clock::time_point UnaryDeadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

bool SpawnDisabledByEnvironment() {
  const char* v = std::getenv("DS_NO_SPAWN");
  return v && *v && std::string_view(v) != "0";
}

absl::Status StopDaemon(const common::Paths& paths, const std::string& reason, bool keep_databases,
                        int timeout_ms) {
  Foreign foreign;
  SocketState state = Probe(paths.socket(), &foreign);
  if (state == SocketState::kOtherUser) return OtherUsersSocket(foreign);
  if (state == SocketState::kNobody) return absl::OkStatus();
  auto channel = MakeChannel(paths.socket());
  auto stub = v1::DaemonService::NewStub(channel);
  absl::StatusOr<v1::PingResponse> ping = Ping(*stub);
  if (!ping.ok()) return ping.status();
  grpc::ClientContext ctx;
  ctx.set_deadline(UnaryDeadline());
  v1::ShutdownRequest req;
  req.set_reason(reason);
  req.set_keep_databases(keep_databases);
  v1::ShutdownResponse resp;
  if (grpc::Status s = stub->Shutdown(&ctx, req, &resp); !s.ok()) {
    return absl::UnavailableError(StrCat("dsd refused to stop: ", s.error_message()));
  }
  // Wait until the daemon has let go of its pid lock: only then can another
  // dsd start on the same state dir.
  common::Paths daemon_paths = paths;
  daemon_paths.state_dir = ping->state_dir();  // a --state-dir dsd may differ
  const std::filesystem::path pid_file = daemon_paths.pid_file();
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!PidLockFree(pid_file)) {
    if (Clock::now() > deadline) {
      return absl::DeadlineExceededError(
          StrCat("dsd (pid ", ping->pid(), ") did not exit within ", timeout_ms / 1000, " s"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::OkStatus();
}

absl::StatusOr<DaemonClient> DaemonClient::Connect(const common::Paths& paths,
                                                   const ConnectOptions& options) {
  const bool may_spawn = options.spawn && !SpawnDisabledByEnvironment();
  for (int attempt = 0; attempt < 2; ++attempt) {
    Foreign foreign;
    SocketState state = Probe(paths.socket(), &foreign);
    if (state == SocketState::kOtherUser) return OtherUsersSocket(foreign);
    if (state == SocketState::kNobody) {
      if (!may_spawn) {
        return absl::UnavailableError(
            StrCat("dsd is not running (no daemon on ", paths.socket().string(),
                   "); start it with "
                   "`ds daemon start`",
                   SpawnDisabledByEnvironment() ? " or unset DS_NO_SPAWN" : ""));
      }
      absl::StatusOr<SpawnLock> lock = SpawnLock::Take(paths);
      if (!lock.ok()) return lock.status();
      // Another ds may have started it while we waited for the lock.
      if (!SocketAnswers(paths.socket())) {
        if (absl::Status s = SpawnAndWait(paths, options); !s.ok()) return s;
      }
    }
    DaemonClient c;
    c.channel_ = MakeChannel(paths.socket());
    c.daemon_ = v1::DaemonService::NewStub(c.channel_);
    c.workspace_ = v1::WorkspaceService::NewStub(c.channel_);
    c.branches_ = v1::BranchService::NewStub(c.channel_);
    c.jobs_ = v1::JobService::NewStub(c.channel_);
    if (!options.need_ping && VersionFromPidFile(paths) == common::Version()) return c;
    absl::StatusOr<v1::PingResponse> ping = Ping(*c.daemon_);
    if (!ping.ok()) return ping.status();
    if (ping->version() != common::Version()) {
      if (!options.restart_on_skew || !may_spawn || attempt > 0) {
        return absl::FailedPreconditionError(
            StrCat("dsd ", ping->version(), " is running but this ds is ", common::Version(),
                   "; restart it with `ds daemon stop` (the next ds call starts the new one)"));
      }
      absl::StatusOr<SpawnLock> lock = SpawnLock::Take(paths);
      if (!lock.ok()) return lock.status();
      // Under the lock, look again: a ds that held it before us may already
      // have replaced the daemon, and stopping that one would be wrong.
      auto fresh = v1::DaemonService::NewStub(MakeChannel(paths.socket()));
      absl::StatusOr<v1::PingResponse> again = Ping(*fresh);
      if (again.ok() && again->version() != common::Version()) {
        if (absl::Status s = StopDaemon(paths, StrCat("version skew: ds ", common::Version(),
                                                      " replaces dsd ", again->version()));
            !s.ok()) {
          return s;
        }
      }
      if (!SocketAnswers(paths.socket())) {
        if (absl::Status s = SpawnAndWait(paths, options); !s.ok()) return s;
      }
      continue;  // connect to the matching daemon
    }
    c.ping_ = std::move(*ping);
    return c;
  }
  return absl::UnavailableError("dsd could not be started");
}

}  // namespace ds::client
