#include "daemon/tasks/migrate_request.h"

#include <cmath>

#include "common/conninfo.h"
#include "common/strings.h"

namespace ds::daemon {
namespace {

// The folder: the request's, else config `migrations_dir`, else the first
// of drizzle/ and backend/drizzle/ that exists.
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

}  // namespace

std::string DatabaseKey(const common::ConnInfo& info) {
  std::string host = AsciiToLower(info.host.empty() ? "/var/run/postgresql" : info.host);
  std::string port = info.port.empty() ? "5432" : info.port;
  if (host == "localhost") host = "127.0.0.1";
  return StrCat(host, ":", port, "/", info.dbname.empty() ? info.user : info.dbname);
}

absl::StatusOr<PreparedMigrate> PrepareMigrate(const v1::MigrateRequest& req,
                                               WorkspaceResolver& resolver,
                                               const ProviderRegistry& providers) {
  v1::GetCurrentRequest ws;
  ws.set_workspace_dir(req.workspace().workspace_dir());
  *ws.mutable_overrides() = req.workspace().overrides();
  std::filesystem::path env_file;
  std::shared_ptr<const WorkspaceResolver::DotenvEntries> env;
  absl::StatusOr<common::Config> config = resolver.LoadConfig(ws, &env_file, &env);
  if (!config.ok()) return config.status();
  const std::filesystem::path workspace = req.workspace().workspace_dir();

  if (!req.connection_string().empty() && !req.branch().empty()) {
    return absl::InvalidArgumentError("give --db or a branch (--target), not both");
  }
  std::string conninfo;
  std::string source;  // for messages: where the database came from
  if (!req.connection_string().empty()) {
    conninfo = req.connection_string();
    source = "--db";
  } else if (!req.branch().empty()) {
    absl::StatusOr<Provider*> provider = providers.ForConfig(*config);
    if (!provider.ok()) return provider.status();
    absl::StatusOr<std::string> uri = (*provider)->ConnectionUri(
        req.project().empty() ? config->Get("project") : req.project(), req.branch());
    if (!uri.ok()) return uri.status();
    conninfo = *uri;
    source = StrCat("branch ", req.branch());
  } else {
    const std::string& var = config->Get("target_var");
    const common::DotenvEntry* e = common::FindDotenvKey(*env, var);
    if (!e || e->value.empty()) {
      return absl::FailedPreconditionError(
          StrCat(var, " is not set in ", env_file.string(),
                 "; run `ds setup` to create your branch, or pass --db URL or --target STAGE"));
    }
    conninfo = e->value;
    source = StrCat(var, " in ", env_file.string(), ":", e->line);
  }
  absl::StatusOr<common::ConnInfo> info = common::ParseConnInfo(conninfo);
  if (!info.ok()) {
    return absl::InvalidArgumentError(
        StrCat("the database from ", source,
               " is not a valid connection string: ", info.status().message()));
  }

  absl::StatusOr<std::filesystem::path> dir = MigrationsDir(req.dir(), *config, workspace);
  if (!dir.ok()) return dir.status();

  PreparedMigrate out;
  MigrateOptions& o = out.options;
  o.conninfo = conninfo;
  o.target_redacted = common::RedactedUri(*info);
  o.dir = *dir;
  o.schema =
      req.migrations_schema().empty() ? config->Get("migrations_schema") : req.migrations_schema();
  o.table =
      req.migrations_table().empty() ? config->Get("migrations_table") : req.migrations_table();
  if (o.schema.empty() || o.table.empty()) {
    return absl::InvalidArgumentError("the migrations schema and table must not be empty");
  }
  o.plan.allow_out_of_order = req.allow_out_of_order();
  o.plan.ignore_checksums = req.ignore_checksums();
  if (req.lock_timeout_seconds() < 0 || !std::isfinite(req.lock_timeout_seconds())) {
    return absl::InvalidArgumentError("--lock-timeout takes a number of seconds, 0 or more");
  }
  if (req.lock_timeout_seconds() > 0) {
    o.lock_timeout =
        std::chrono::milliseconds(static_cast<int64_t>(req.lock_timeout_seconds() * 1000.0));
  }
  o.applied_by = req.started_by().empty() ? "ds" : req.started_by();

  JobSpec& job = out.job;
  job.kind = "migrate";
  job.target_key = DatabaseKey(*info);
  job.target_redacted = o.target_redacted;
  Resolution r = providers.Resolve(*info);
  if (r.branch) {
    job.branch.set_provider(r.branch->provider);
    job.branch.set_project_id(r.branch->project_id);
    job.branch.set_project_name(r.branch->project_name);
    job.branch.set_branch_id(r.branch->branch_id);
    job.branch.set_branch_name(r.branch->branch_name);
  }
  job.workspace_dir = workspace.string();
  job.started_by = o.applied_by;
  job.description = StrCat("migrate ", o.dir.string());
  job.wait = req.wait();
  return out;
}

}  // namespace ds::daemon
