#include "daemon/server.h"

#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_posix.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>

#include "common/atomic_file.h"
#include "common/config.h"
#include "common/version.h"
#include "daemon/rpc/daemon_service.h"
#include "daemon/sys/dir_watcher.h"
#include "daemon/rpc/branch_service.h"
#include "daemon/workspace/branches.h"
#include "daemon/rpc/job_service.h"
#include "daemon/jobs/jobs.h"
#include "daemon/sys/listener.h"
#include "daemon/providers/local/local_provider.h"
#include "daemon/providers/neon/neon_provider.h"
#include "daemon/sys/pid_lock.h"
#include "daemon/providers/provider.h"
#include "daemon/sys/sd_notify.h"
#include "daemon/workspace/workspace.h"
#include "daemon/rpc/workspace_service.h"
#include "common/strings.h"

namespace ds::daemon {
namespace {

// gRPC logs to stderr by default; dsd's log is the one place to look.
void RouteGrpcLog(gpr_log_func_args* args) {
  common::LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR ? common::LogLevel::kError
                           : args->severity == GPR_LOG_SEVERITY_INFO ? common::LogLevel::kInfo
                                                                     : common::LogLevel::kDebug;
  common::Log(level, StrCat("grpc: ", args->message, " (", args->file, ":", args->line, ")"));
}

// What a Shutdown RPC asked for, read by the main thread after SIGUSR1.
std::mutex g_shutdown_mu;
std::string g_shutdown_reason;
bool g_keep_databases = false;

// A daemon-wide setting: defaults, the user's config.toml, dsd's own DS_*
// environment (workspace layers do not apply to what dsd serves to all).
absl::StatusOr<std::string> DaemonSetting(const common::Paths& paths, std::string_view key) {
  std::vector<common::ConfigLayer> layers = {common::DefaultsLayer()};
  absl::StatusOr<std::string> text = common::ReadFile(paths.user_config());
  if (text.ok()) {
    absl::StatusOr<common::ConfigLayer> user =
        common::TomlLayer(*text, paths.user_config(), common::OriginKind::kUserConfig);
    if (!user.ok()) return user.status();
    layers.push_back(std::move(*user));
  } else if (!absl::IsNotFound(text.status())) {
    return text.status();
  }
  layers.push_back(common::EnvironmentLayer(common::ProcessDsEnvironment()));
  return common::Config::Build(layers).Get(key);
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int RunServer(const ServerOptions& options) {
  const common::Paths& paths = options.paths;
  // Start-up errors go to the log (which ds shows when a spawned daemon
  // dies) and to stderr (for a daemon started by hand or by systemd).
  auto die = [](const absl::Status& s) {
    common::LogError("dsd: ", s.message());
    return 1;
  };

  common::LogOptions log;
  log.min_level = options.log_level;
  log.to_stderr = true;
  if (absl::Status s = common::EnsurePrivateDir(paths.state_dir); !s.ok()) {
    common::InitLogging(log);  // no log file yet: stderr is all there is
    return die(s);
  }
  const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  log.file = paths.log_file();
  log.syslog_prefix = journal;
  common::InitLogging(log);  // stderr too until serving: start-up errors show
  gpr_set_log_function(RouteGrpcLog);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);

  absl::StatusOr<PidLock> lock = PidLock::Acquire(paths.pid_file());
  if (!lock.ok()) return die(lock.status());

  absl::StatusOr<std::optional<Listener>> activated = Listener::FromSystemd();
  if (!activated.ok()) return die(activated.status());
  std::optional<Listener> listener = std::move(*activated);
  if (!listener) {
    if (absl::Status s = common::EnsurePrivateDir(paths.runtime_dir); !s.ok()) return die(s);
    absl::StatusOr<Listener> bound = Listener::Bind(paths.socket());
    if (!bound.ok()) return die(bound.status());
    listener.emplace(std::move(*bound));
  }

  DirWatcher watcher;
  if (absl::Status s = watcher.Start(); !s.ok()) return die(s);
  ProviderRegistry providers;
  absl::StatusOr<std::string> local_project = DaemonSetting(paths, "local_project");
  if (!local_project.ok()) return die(local_project.status());
  const char* pg_bin = std::getenv("DS_PG_BIN");
  auto local = std::make_unique<LocalProvider>(
      LocalClusterOptions{.data_dir = paths.data_dir,
                          .socket_dir = paths.runtime_dir / "pg",
                          .bin_dir_override = pg_bin ? pg_bin : ""},
      *local_project);
  LocalProvider* local_provider = local.get();
  providers.Add(std::move(local));
  // Neon providers are made per API host and key, when a workspace asks.
  providers.AddFactory("neon", NeonProviderFactory(paths.state_dir / "neon"));
  WorkspaceResolver resolver(paths, &providers);
  WorkspaceServiceImpl workspace_service(&resolver, &watcher);
  BranchManager branch_manager(&resolver, &providers);
  BranchServiceImpl branch_service(&branch_manager, &providers);
  JobManager jobs(paths.jobs_dir());
  if (absl::Status s = jobs.Load(); !s.ok()) return die(s);
  PgConnectionPool job_connections;
  JobServiceImpl job_service(&jobs, &resolver, &providers, &job_connections);
  DaemonServiceImpl daemon_service(
      DaemonIdentity{.pid = ::getpid(),
                     .started_at_unix_ms = NowUnixMs(),
                     .state_dir = paths.state_dir.string(),
                     .socket_path = paths.socket().string(),
                     .log_file = paths.log_file().string(),
                     .socket_activated = listener->activated()},
      [&] { return workspace_service.active_watches(); },
      [](const std::string& reason, bool keep_databases) {
        {
          std::lock_guard l(g_shutdown_mu);
          g_shutdown_reason = reason;
          g_keep_databases = keep_databases;
        }
        ::kill(::getpid(), SIGUSR1);
      });

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.RegisterService(&daemon_service);
  builder.RegisterService(&workspace_service);
  builder.RegisterService(&branch_service);
  builder.RegisterService(&job_service);
  // No listening ports: connections arrive through the listener below.
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return die(absl::InternalError("the gRPC server failed to start"));
  if (auto* health = server->GetHealthCheckService()) {
    health->SetServingStatus("ds.v1.DaemonService", true);
    health->SetServingStatus("ds.v1.WorkspaceService", true);
    health->SetServingStatus("ds.v1.BranchService", true);
    health->SetServingStatus("ds.v1.JobService", true);
  }
  grpc::Server* raw_server = server.get();
  listener->Start([raw_server](int fd) { grpc::AddInsecureChannelFromFd(raw_server, fd); });

  log.to_stderr = options.foreground || journal;
  common::InitLogging(log);
  SdNotify("READY=1");
  common::LogInfo("dsd ", common::Version(), " serving on ", paths.socket().string(), " (pid ",
                  ::getpid(), listener->activated() ? ", socket-activated" : "", ")");

  sigset_t wait_set;
  sigemptyset(&wait_set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&wait_set, sig);
  int sig = 0;
  for (;;) {
    if (sigwait(&wait_set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      // Reopen the log (logrotate) and carry on.
      common::InitLogging(log);
      continue;
    }
    break;
  }
  std::string reason;
  bool keep_databases = false;
  if (sig == SIGUSR1) {
    std::lock_guard l(g_shutdown_mu);
    reason = g_shutdown_reason;
    keep_databases = g_keep_databases;
  } else {
    reason = sig == SIGTERM ? "SIGTERM" : "SIGINT";
  }
  common::LogInfo("shutting down (", reason, ")");
  SdNotify("STOPPING=1");
  // Stop taking connections first, then give in-flight calls a moment;
  // streams still open after the deadline are cancelled.
  listener->Stop();
  // Running jobs are cancelled (their transactions roll back) and recorded
  // as interrupted before the streams that follow them are closed.
  jobs.Shutdown(StrCat("dsd stopped (", reason, ")"));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  watcher.Stop();
  if (!keep_databases) {
    if (absl::Status s = local_provider->StopCluster(); !s.ok()) {
      common::LogError("stopping local PostgreSQL: ", s.message());
    }
  }
  common::LogInfo("stopped");
  return 0;
}

}  // namespace ds::daemon
