#include "daemon/tasks/org_endpoints.h"

#include "common/strings.h"
#include "common/usage_error.h"
#include "daemon/tasks/migrate_request.h"

namespace ds::daemon {
namespace {

ResolvedDatabase UnparsedDatabase(std::string conninfo, std::string origin) {
  ResolvedDatabase d;
  d.conninfo = std::move(conninfo);
  d.origin = std::move(origin);
  return d;
}

// A .env variable (target_var or source_var); `missing` says how to set it.
absl::StatusOr<ResolvedDatabase> FromDotenv(const OrgEndpoints& ws, const std::string& var,
                                            const std::filesystem::path& env_file,
                                            std::string_view missing) {
  const common::DotenvEntry* e = common::FindDotenvKey(*ws.env, var);
  if (!e || e->value.empty()) {
    return absl::FailedPreconditionError(
        StrCat(var, " is not set in ", env_file.string(), "; ", missing));
  }
  return UnparsedDatabase(e->value, StrCat(var, " in ", env_file.string(), ":", e->line));
}

// Parses the string and asks the providers which branch it is; the flags of
// that branch (protected, default) come from the provider's listing.
absl::Status Complete(ResolvedDatabase& d, const common::Config& config,
                      const ProviderRegistry& providers) {
  absl::StatusOr<common::ConnInfo> info = common::ParseConnInfo(d.conninfo);
  if (!info.ok()) {
    return absl::InvalidArgumentError(
        StrCat("the database from ", d.origin,
               " is not a valid connection string: ", info.status().message()));
  }
  d.info = std::move(*info);
  d.redacted = common::RedactedUri(d.info);
  // As for a migration: a stopped local cluster is started, and a string
  // that logs in as a role the provider retired says what to run instead.
  if (absl::Status s = providers.PrepareToConnect(d.info); !s.ok()) return s;
  // Make the workspace's provider first: Resolve asks only those made so far.
  absl::StatusOr<Provider*> own = providers.ForConfig(config);
  Resolution r = providers.Resolve(d.info);
  d.branch = r.branch;
  d.unresolved_reason = r.unresolved_reason;
  if (!d.branch) return absl::OkStatus();
  Provider* provider =
      own.ok() && (*own)->Name() == d.branch->provider ? *own : providers.Find(d.branch->provider);
  if (!provider) return absl::OkStatus();
  absl::StatusOr<std::vector<BranchInfo>> branches = provider->ListBranches(d.branch->project_id);
  if (!branches.ok()) {
    return absl::Status(
        branches.status().code(),
        StrCat("listing the branches of project ", d.branch->project_name, " to check ",
               d.branch->branch_name, ": ", branches.status().message()));
  }
  for (BranchInfo& b : *branches) {
    if (b.id == d.branch->branch_id ||
        (d.branch->branch_id.empty() && b.name == d.branch->branch_name)) {
      d.branch_info = std::move(b);
      break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ResolvedDatabase> ResolveTarget(const v1::OrgDataEndpoints& req,
                                               const OrgEndpoints& ws,
                                               const std::filesystem::path& env_file,
                                               const ProviderRegistry& providers) {
  if (!req.target_connection_string().empty() && !req.branch().empty()) {
    return common::UsageError("give --target-db or --target, not both");
  }
  if (!req.target_connection_string().empty()) {
    return UnparsedDatabase(req.target_connection_string(), "--target-db");
  }
  if (!req.branch().empty()) {
    absl::StatusOr<Provider*> provider = providers.ForConfig(ws.config);
    if (!provider.ok()) return provider.status();
    absl::StatusOr<std::string> uri = (*provider)->ConnectionUri(
        req.project().empty() ? ws.config.Get("project") : req.project(), req.branch());
    if (!uri.ok()) return uri.status();
    return UnparsedDatabase(*uri, StrCat("branch ", req.branch()));
  }
  return FromDotenv(ws, ws.config.Get("target_var"), env_file,
                    "run `ds setup` to create your branch, or pass --target-db or --target STAGE");
}

absl::StatusOr<ResolvedDatabase> ResolveSource(const v1::OrgDataEndpoints& req,
                                               const OrgEndpoints& ws,
                                               const std::filesystem::path& env_file) {
  if (!req.source_connection_string().empty()) {
    return UnparsedDatabase(req.source_connection_string(), "--source-db");
  }
  return FromDotenv(ws, ws.config.Get("source_var"), env_file,
                    "run `ds db set source-db` to point it at the branch to copy from, or pass "
                    "--source-db");
}

bool ListedIn(const std::string& list, const std::string& a, const std::string& b) {
  for (std::string_view item : SplitSkipEmpty(list, ',')) {
    item = TrimAsciiWhitespace(item);
    if (!item.empty() && (item == a || item == b)) return true;
  }
  return false;
}

}  // namespace

std::string ResolvedDatabase::ConfirmName() const {
  if (branch && !branch->branch_name.empty()) return branch->branch_name;
  return info.dbname.empty() ? info.user : info.dbname;
}

std::string ResolvedDatabase::Describe() const {
  if (!branch) return redacted;
  return StrCat("branch ", branch->branch_name, " of ", branch->provider, " project ",
                branch->project_name.empty() ? branch->project_id : branch->project_name, " (",
                redacted, ")");
}

absl::StatusOr<OrgEndpoints> ResolveOrgEndpoints(const v1::OrgDataEndpoints& req,
                                                 WorkspaceResolver& resolver,
                                                 const ProviderRegistry& providers) {
  OrgEndpoints out;
  std::filesystem::path env_file;
  absl::StatusOr<common::Config> config = resolver.LoadConfig(req.workspace(), &env_file, &out.env);
  if (!config.ok()) return config.status();
  out.workspace_dir = req.workspace().workspace_dir();
  out.config = std::move(*config);

  out.organization =
      req.organization().empty() ? out.config.Get("organization") : req.organization();
  if (out.organization.empty()) {
    return common::UsageError(
        "no organization: pass -o ID, or set `organization` in ds.toml (DS_ORGANIZATION)");
  }
  absl::StatusOr<ResolvedDatabase> target = ResolveTarget(req, out, env_file, providers);
  if (!target.ok()) return target.status();
  out.target = std::move(*target);
  absl::StatusOr<ResolvedDatabase> source = ResolveSource(req, out, env_file);
  if (!source.ok()) return source.status();
  out.source = std::move(*source);
  if (absl::Status s = Complete(out.target, out.config, providers); !s.ok()) return s;
  if (absl::Status s = Complete(out.source, out.config, providers); !s.ok()) return s;
  return out;
}

absl::Status CheckTargetIsNotSource(const ResolvedDatabase& target,
                                    const ResolvedDatabase& source) {
  auto refuse = [&](std::string_view why) {
    return absl::FailedPreconditionError(
        StrCat("the target is the source (", why, "): ", target.redacted,
               "; point --target-db/DB_CONNECTION_STRING at your own branch, or "
               "--source-db/SOURCE_DB_CONNECTION_STRING at the database to copy from"));
  };
  if (DatabaseKey(target.info) == DatabaseKey(source.info)) {
    return refuse("same host, port and database");
  }
  if (!target.info.neon_endpoint_id.empty() &&
      target.info.neon_endpoint_id == source.info.neon_endpoint_id &&
      target.info.dbname == source.info.dbname) {
    return refuse(StrCat("same Neon endpoint ", target.info.neon_endpoint_id));
  }
  if (target.branch && source.branch && target.branch->provider == source.branch->provider &&
      target.branch->project_id == source.branch->project_id &&
      target.branch->branch_id == source.branch->branch_id &&
      target.info.dbname == source.info.dbname) {
    return refuse(StrCat("same branch ", target.branch->branch_name));
  }
  return absl::OkStatus();
}

absl::Status CheckTargetWritable(const ResolvedDatabase& target, const common::Config& config) {
  if (target.branch_info && (target.branch_info->is_default || target.branch_info->is_protected)) {
    return absl::PermissionDeniedError(StrCat(
        "refusing to write to ", target.branch_info->is_default ? "the default" : "protected",
        " branch ", target.branch_info->name,
        "; point the target at your own branch (`ds db create-branch`, or --target-db)"));
  }
  if (target.branch && ListedIn(config.Get("protected_projects"), target.branch->project_id,
                                target.branch->project_name)) {
    const common::ConfigOrigin& origin = config.OriginOf("protected_projects");
    return absl::PermissionDeniedError(
        StrCat("refusing to write to branch ", target.branch->branch_name, ": project ",
               target.branch->project_name.empty() ? target.branch->project_id
                                                   : target.branch->project_name,
               " is listed in protected_projects (",
               origin.location.empty() ? "config" : origin.location, ")"));
  }
  return absl::OkStatus();
}

}  // namespace ds::daemon
