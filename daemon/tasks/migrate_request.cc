#include "daemon/tasks/migrate_request.h"

#include <cmath>

#include "common/conninfo.h"
#include "common/strings.h"
#include "common/usage_error.h"

namespace ds::daemon {
namespace {

// The workspace's configuration and .env, as the request's client sees them.
struct Workspace {
  std::filesystem::path dir;
  common::Config config;
  std::filesystem::path env_file;
  std::shared_ptr<const WorkspaceResolver::DotenvEntries> env;
};

absl::StatusOr<Workspace> LoadWorkspace(const v1::MigrateRequest& req,
                                        WorkspaceResolver& resolver) {
  Workspace out;
  absl::StatusOr<common::Config> config =
      resolver.LoadConfig(req.workspace(), &out.env_file, &out.env);
  if (!config.ok()) return config.status();
  out.dir = req.workspace().workspace_dir();
  out.config = std::move(*config);
  return out;
}

// The database to migrate and where it came from, for messages.
struct Target {
  std::string conninfo;   // holds the password
  std::string source;     // "--db", "branch dev-x", "DB_CONNECTION_STRING in /w/.env:3"
  common::ConnInfo info;  // parsed last, by ResolveTarget
};

Target UnparsedTarget(std::string conninfo, std::string source) {
  Target t;
  t.conninfo = std::move(conninfo);
  t.source = std::move(source);
  return t;
}

// --target STAGE (or the picker's choice): the provider's URI of the branch.
absl::StatusOr<Target> BranchTarget(const v1::MigrateRequest& req, const Workspace& ws,
                                    const ProviderRegistry& providers) {
  absl::StatusOr<Provider*> provider = providers.ForConfig(ws.config);
  if (!provider.ok()) return provider.status();
  absl::StatusOr<std::string> uri = (*provider)->ConnectionUri(
      req.project().empty() ? ws.config.Get("project") : req.project(), req.branch());
  if (!uri.ok()) return uri.status();
  return UnparsedTarget(*uri, StrCat("branch ", req.branch()));
}

// Neither --db nor a branch: the workspace's target variable in .env.
absl::StatusOr<Target> DotenvTarget(const Workspace& ws) {
  const std::string& var = ws.config.Get("target_var");
  const common::DotenvEntry* e = common::FindDotenvKey(*ws.env, var);
  if (!e || e->value.empty()) {
    return absl::FailedPreconditionError(
        StrCat(var, " is not set in ", ws.env_file.string(),
               "; run `ds setup` to create your branch, or pass --db URL or --target STAGE"));
  }
  return UnparsedTarget(e->value, StrCat(var, " in ", ws.env_file.string(), ":", e->line));
}

// --db, else a branch, else .env; parsed, so that a bad string is reported
// with where it came from.
absl::StatusOr<Target> ResolveTarget(const v1::MigrateRequest& req, const Workspace& ws,
                                     const ProviderRegistry& providers) {
  if (!req.connection_string().empty() && !req.branch().empty()) {
    return common::UsageError("give --db or a branch (--target), not both");
  }
  absl::StatusOr<Target> target;
  if (!req.connection_string().empty()) {
    target = UnparsedTarget(req.connection_string(), "--db");
  } else if (!req.branch().empty()) {
    target = BranchTarget(req, ws, providers);
  } else {
    target = DotenvTarget(ws);
  }
  if (!target.ok()) return target.status();
  absl::StatusOr<common::ConnInfo> info = common::ParseConnInfo(target->conninfo);
  if (!info.ok()) {
    // A bad --db is the command line's fault; a bad .env value the file's.
    std::string message = StrCat("the database from ", target->source,
                                 " is not a valid connection string: ", info.status().message());
    return req.connection_string().empty() ? absl::FailedPreconditionError(message)
                                           : common::UsageError(message);
  }
  target->info = std::move(*info);
  return target;
}

// drizzle's migrationsSchema and migrationsTable: the request's, else config.
absl::Status SetTrackingTable(const v1::MigrateRequest& req, const common::Config& config,
                              MigrateOptions* o) {
  o->schema =
      req.migrations_schema().empty() ? config.Get("migrations_schema") : req.migrations_schema();
  o->table =
      req.migrations_table().empty() ? config.Get("migrations_table") : req.migrations_table();
  if (o->schema.empty() || o->table.empty()) {
    return absl::InvalidArgumentError("the migrations schema and table must not be empty");
  }
  return absl::OkStatus();
}

// --lock-timeout; 0 keeps the default.
absl::Status SetLockTimeout(const v1::MigrateRequest& req, MigrateOptions* o) {
  if (req.lock_timeout_seconds() < 0 || !std::isfinite(req.lock_timeout_seconds())) {
    return common::UsageError("--lock-timeout takes a number of seconds, 0 or more");
  }
  if (req.lock_timeout_seconds() > 0) {
    o->lock_timeout =
        std::chrono::milliseconds(static_cast<int64_t>(req.lock_timeout_seconds() * 1000.0));
  }
  return absl::OkStatus();
}

// The job's record: redacted target, database key, branch, who.
JobSpec MigrateJobSpec(const v1::MigrateRequest& req, const Target& target, const MigrateOptions& o,
                       const Workspace& ws, const std::optional<BranchLocation>& branch) {
  JobSpec job;
  job.kind = "migrate";
  job.target_key = DatabaseKey(target.info);
  job.target_redacted = o.target_redacted;
  if (branch) job.branch = ToBranchRef(*branch);
  job.workspace_dir = ws.dir.string();
  job.started_by = o.applied_by;
  job.description = StrCat("migrate ", o.dir.string());
  job.wait = req.wait();
  return job;
}

}  // namespace

absl::StatusOr<std::filesystem::path> MigrationsDir(const std::string& requested,
                                                    const common::Config& config,
                                                    const std::filesystem::path& workspace) {
  auto resolve = [&](const std::string& p) {
    std::filesystem::path path(p);
    return (path.is_absolute() ? path : workspace / path).lexically_normal();
  };
  if (!requested.empty()) return resolve(requested);
  if (const std::string& configured = config.Get("migrations_dir"); !configured.empty()) {
    return resolve(configured);
  }
  std::error_code ec;
  for (const char* candidate : {"drizzle", "backend/drizzle"}) {
    if (std::filesystem::is_directory(workspace / candidate, ec)) return workspace / candidate;
  }
  return absl::FailedPreconditionError(
      StrCat("no Drizzle migrations folder: neither drizzle/ nor backend/drizzle/ exists in ",
             workspace.string(), "; pass --dir, or set migrations_dir in ds.toml"));
}

std::string DatabaseKey(const common::ConnInfo& info) {
  std::string host = AsciiToLower(info.host.empty() ? "/var/run/postgresql" : info.host);
  std::string port = info.port.empty() ? "5432" : info.port;
  if (host == "localhost") host = "127.0.0.1";
  return StrCat(host, ":", port, "/", info.dbname.empty() ? info.user : info.dbname);
}

absl::StatusOr<PreparedMigrate> PrepareMigrate(const v1::MigrateRequest& req,
                                               WorkspaceResolver& resolver,
                                               const ProviderRegistry& providers) {
  absl::StatusOr<Workspace> ws = LoadWorkspace(req, resolver);
  if (!ws.ok()) return ws.status();
  absl::StatusOr<Target> target = ResolveTarget(req, *ws, providers);
  if (!target.ok()) return target.status();
  // The local cluster may have stopped (killed, or the machine rebooted):
  // it is started here, as a branch command would, not left to fail the
  // connection.
  if (absl::Status s = providers.PrepareToConnect(target->info); !s.ok()) return s;
  absl::StatusOr<std::filesystem::path> dir = MigrationsDir(req.dir(), ws->config, ws->dir);
  if (!dir.ok()) return dir.status();

  PreparedMigrate out;
  MigrateOptions& o = out.options;
  o.conninfo = target->conninfo;
  o.target_redacted = common::RedactedUri(target->info);
  o.dir = *dir;
  if (absl::Status s = SetTrackingTable(req, ws->config, &o); !s.ok()) return s;
  o.plan.allow_out_of_order = req.allow_out_of_order();
  o.plan.ignore_checksums = req.ignore_checksums();
  if (absl::Status s = SetLockTimeout(req, &o); !s.ok()) return s;
  o.applied_by = req.started_by().empty() ? "ds" : req.started_by();
  out.branch = providers.Resolve(target->info).branch;
  out.job = MigrateJobSpec(req, *target, o, *ws, out.branch);
  out.config = std::move(ws->config);
  return out;
}

}  // namespace ds::daemon
