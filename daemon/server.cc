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
#include <memory>
#include <mutex>
#include <optional>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/strings.h"
#include "common/version.h"
#include "daemon/external/external_steps.h"
#include "daemon/jobs/jobs.h"
#include "daemon/pg/pg_pool.h"
#include "daemon/providers/local/local_provider.h"
#include "daemon/providers/neon/neon_provider.h"
#include "daemon/providers/provider.h"
#include "daemon/rpc/branch_service.h"
#include "daemon/rpc/daemon_service.h"
#include "daemon/rpc/job_service.h"
#include "daemon/rpc/workspace_service.h"
#include "daemon/sys/dir_watcher.h"
#include "daemon/sys/listener.h"
#include "daemon/sys/pid_lock.h"
#include "daemon/sys/sd_notify.h"
#include "daemon/tasks/external_steps.h"
#include "daemon/workspace/branches.h"
#include "daemon/workspace/workspace.h"

namespace ds::daemon {
namespace {

// Start-up errors go to the log (which ds shows when a spawned daemon
// dies) and to stderr (for a daemon started by hand or by systemd).
int Die(const absl::Status& s) {
  common::LogError("dsd: ", s.message());
  return 1;
}

// gRPC logs to stderr by default; dsd's log is the one place to look.
void RouteGrpcLog(gpr_log_func_args* args) {
  common::LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR  ? common::LogLevel::kError
                           : args->severity == GPR_LOG_SEVERITY_INFO ? common::LogLevel::kInfo
                                                                     : common::LogLevel::kDebug;
  common::Log(level, StrCat("grpc: ", args->message, " (", args->file, ":", args->line, ")"));
}

// Under systemd, stderr goes to the journal: it is the log.
bool UnderJournald() { return std::getenv("JOURNAL_STREAM") != nullptr; }

// Why dsd stops: a signal, or what a Shutdown RPC asked for (it raises
// SIGUSR1; the main thread reads the request after sigwait).
struct StopRequest {
  std::string reason;
  bool keep_databases = false;
};
std::mutex g_stop_mu;
StopRequest g_stop_request;

void RequestStop(const std::string& reason, bool keep_databases) {
  {
    std::lock_guard l(g_stop_mu);
    g_stop_request = {reason, keep_databases};
  }
  ::kill(::getpid(), SIGUSR1);
}

// Daemon-wide settings: defaults, the user's config.toml, dsd's own DS_*
// environment. Workspace layers do not apply to what dsd serves to all.
absl::StatusOr<common::Config> DaemonConfig(const common::Paths& paths) {
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
  if (absl::Status s = common::CheckConfigLayer(layers.back()); !s.ok()) return s;
  return common::Config::Build(layers);
}

absl::StatusOr<common::LogLevel> ConfiguredLogLevel(const common::Config& config) {
  const std::string& name = config.Get("log_level");
  std::optional<common::LogLevel> level = common::ParseLogLevel(name);
  if (!level) {
    return absl::InvalidArgumentError(StrCat("log_level \"", name, "\" (from ",
                                             config.OriginOf("log_level").location,
                                             ") is not a level; use debug, info, warning or "
                                             "error"));
  }
  return *level;
}

// Creates the state dir and opens the log in it, with stderr too until dsd
// serves so that start-up errors show. Then settles the level: --log-level,
// else the daemon config's log_level.
absl::StatusOr<common::Config> OpenLog(const ServerOptions& options, common::LogOptions& log) {
  log.min_level = options.log_level.value_or(common::LogLevel::kInfo);
  log.to_stderr = true;
  if (absl::Status s = common::EnsurePrivateDir(options.paths.state_dir); !s.ok()) {
    common::InitLogging(log);  // no log file yet: stderr is all there is
    return s;
  }
  log.file = options.paths.log_file();
  log.syslog_prefix = UnderJournald();
  common::InitLogging(log);
  gpr_set_log_function(RouteGrpcLog);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);

  absl::StatusOr<common::Config> config = DaemonConfig(options.paths);
  if (!config.ok() || options.log_level) return config;
  absl::StatusOr<common::LogLevel> level = ConfiguredLogLevel(*config);
  if (!level.ok()) return level.status();
  log.min_level = *level;
  common::InitLogging(log);
  return config;
}

// The socket systemd passed (socket activation), else one dsd binds.
absl::StatusOr<Listener> OpenListener(const common::Paths& paths) {
  absl::StatusOr<std::optional<Listener>> activated = Listener::FromSystemd();
  if (!activated.ok()) return activated.status();
  if (*activated) return std::move(**activated);
  if (absl::Status s = common::EnsurePrivateDir(paths.runtime_dir); !s.ok()) return s;
  return Listener::Bind(paths.socket());
}

LocalProvider* AddLocalProvider(ProviderRegistry& providers, const common::Paths& paths,
                                const std::string& local_project) {
  const char* pg_bin = std::getenv("DS_PG_BIN");
  auto local =
      std::make_unique<LocalProvider>(LocalClusterOptions{.data_dir = paths.data_dir,
                                                          .socket_dir = paths.runtime_dir / "pg",
                                                          .bin_dir_override = pg_bin ? pg_bin : ""},
                                      local_project);
  LocalProvider* raw = local.get();
  providers.Add(std::move(local));
  // Neon providers are made per API host and key, when a workspace asks.
  providers.AddFactory("neon", NeonProviderFactory(paths.state_dir / "neon"));
  return raw;
}

// What dsd serves with, built in dependency order (members are destroyed
// in the reverse order, after the gRPC server is gone).
struct Core {
  Core(const common::Paths& paths, const common::Config& config, DaemonIdentity identity)
      : local(AddLocalProvider(providers, paths, config.Get("local_project"))),
        resolver(paths, &providers),
        workspace_service(&resolver, &watcher),
        env_history(paths.state_dir / "env-history"),
        branch_manager(&resolver, &providers, &env_history),
        audit_task(&resolver, &providers),
        branch_service(&branch_manager, &audit_task),
        jobs(paths.jobs_dir()),
        job_service(&jobs, &resolver, &providers, &job_connections, &external_steps),
        daemon_service(
            std::move(identity), [this] { return workspace_service.active_watches(); },
            RequestStop) {
    // One listener slot: both kinds of stream hear every provider change
    // (a branch list for WatchBranches, an endpoint a .env names for
    // WatchCurrent). Stop replaces it before the services go.
    // Cognito users before the migrations, Stripe products after: each
    // step decides per job from the workspace's settings whether it runs.
    for (std::unique_ptr<ExternalStep>& step : external::MakeExternalSteps()) {
      external_steps.Register(std::move(step));
    }
    providers.SetChangeListener([this] {
      branch_service.OnProviderChanged();
      workspace_service.OnProviderChanged();
    });
  }

  absl::Status Start() {
    if (absl::Status s = watcher.Start(); !s.ok()) return s;
    return jobs.Load();
  }

  DirWatcher watcher;
  ProviderRegistry providers;
  LocalProvider* const local;
  WorkspaceResolver resolver;
  WorkspaceServiceImpl workspace_service;
  EnvHistory env_history;  // values .env writes replaced, for `ds db set target-db -`
  BranchManager branch_manager;
  AuditTask audit_task;
  BranchServiceImpl branch_service;
  JobManager jobs;
  PgConnectionPool job_connections;  // idle job connections, reused by the next job
  // The reset's external steps (Cognito users, Stripe products): those
  // daemon/external/ implements are registered here; a missing one is
  // reported "skipped: not configured".
  ExternalStepRegistry external_steps;
  JobServiceImpl job_service;
  DaemonServiceImpl daemon_service;
};

// A gRPC server without listening ports: connections arrive through the
// listener, which hands each accepted fd over.
std::unique_ptr<grpc::Server> StartGrpc(Core& core) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Every peer is on the same machine, over a Unix socket: there is no
  // bandwidth-delay product to discover, and the BDP probe's PINGs (one per
  // read burst, each acknowledged) were a measurable share of a GetCurrent.
  // The listener's fds inherit these arguments (AddInsecureChannelFromFd).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.RegisterService(&core.daemon_service);
  builder.RegisterService(&core.workspace_service);
  builder.RegisterService(&core.branch_service);
  builder.RegisterService(&core.job_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return nullptr;
  if (auto* health = server->GetHealthCheckService()) {
    for (const char* service : {"ds.v1.DaemonService", "ds.v1.WorkspaceService",
                                "ds.v1.BranchService", "ds.v1.JobService"}) {
      health->SetServingStatus(service, true);
    }
  }
  return server;
}

// Blocks until SIGTERM, SIGINT or SIGUSR1 (a Shutdown RPC); SIGHUP reopens
// the log (logrotate) meanwhile.
StopRequest WaitForStop(const common::LogOptions& log) {
  sigset_t wait_set;
  sigemptyset(&wait_set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&wait_set, sig);
  for (;;) {
    int sig = 0;
    if (sigwait(&wait_set, &sig) != 0) continue;
    switch (sig) {
      case SIGHUP: common::InitLogging(log); continue;
      case SIGUSR1: {
        std::lock_guard l(g_stop_mu);
        return g_stop_request;
      }
      default: return {sig == SIGTERM ? "SIGTERM" : "SIGINT", false};
    }
  }
}

// Stops taking connections first, then gives in-flight calls a moment;
// streams still open after the deadline are cancelled. Running jobs are
// cancelled (their transactions roll back) and recorded as interrupted
// before the streams that follow them are closed.
void Stop(const StopRequest& stop, Listener& listener, grpc::Server& server, Core& core) {
  common::LogInfo("shutting down (", stop.reason, ")");
  SdNotify("STOPPING=1");
  listener.Stop();
  core.jobs.Shutdown(StrCat("dsd stopped (", stop.reason, ")"));
  server.Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server.Wait();
  core.watcher.Stop();
  // Providers outlive the services and may report a change from their own
  // threads (Neon's refresher) until they are destroyed: tell no one.
  core.providers.SetChangeListener([] {});
  if (!stop.keep_databases) {
    if (absl::Status s = core.local->StopCluster(); !s.ok()) {
      common::LogError("stopping local PostgreSQL: ", s.message());
    }
  }
}

}  // namespace

int RunServer(const ServerOptions& options) {
  const common::Paths& paths = options.paths;
  common::LogOptions log;
  absl::StatusOr<common::Config> config = OpenLog(options, log);
  if (!config.ok()) return Die(config.status());

  absl::StatusOr<PidLock> lock = PidLock::Acquire(paths.pid_file());
  if (!lock.ok()) return Die(lock.status());
  absl::StatusOr<Listener> listener = OpenListener(paths);
  if (!listener.ok()) return Die(listener.status());

  Core core(paths, *config,
            DaemonIdentity{.pid = ::getpid(),
                           .started_at_unix_ms = common::UnixMillisNow(),
                           .state_dir = paths.state_dir.string(),
                           .socket_path = paths.socket().string(),
                           .log_file = paths.log_file().string(),
                           .socket_activated = listener->activated()});
  if (absl::Status s = core.Start(); !s.ok()) return Die(s);
  std::unique_ptr<grpc::Server> server = StartGrpc(core);
  if (!server) return Die(absl::InternalError("the gRPC server failed to start"));
  grpc::Server* raw_server = server.get();
  listener->Start([raw_server](int fd) { grpc::AddInsecureChannelFromFd(raw_server, fd); });

  log.to_stderr = options.foreground || UnderJournald();
  common::InitLogging(log);
  SdNotify("READY=1");
  common::LogInfo("dsd ", common::Version(), " serving on ", paths.socket().string(), " (pid ",
                  ::getpid(), listener->activated() ? ", socket-activated" : "", ")");

  Stop(WaitForStop(log), *listener, *server, core);
  common::LogInfo("stopped");
  return 0;
}

}  // namespace ds::daemon
