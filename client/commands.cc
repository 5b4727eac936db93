#include "client/commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "client/secret_args.h"
#include "client/usage.h"
#include "common/config.h"
#include "common/strings.h"

namespace ds::client {
namespace {

void JsonFlag(CLI::App& app, CommandOptions& o) {
  app.add_flag("--json", o.json, "Print the answer as JSON (the gRPC reply's shape)");
}

void LogsOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("-n,--lines", o.lines, "How many lines to show")->check(WholeNumberAtLeast(0));
  app.add_flag("-f,--follow", o.follow, "Keep printing lines as dsd writes them");
}

void CreateOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("name", o.name, "Branch name (default: asked for on a terminal)");
  app.add_option("--parent", o.parent, "Branch to copy (default: the default branch, main)");
  app.add_option("--project", o.project, "Project id or name");
  app.add_option("--target", o.target, "Name the branch after a stage: dev-{developer}-<stage>");
  app.add_flag("--force", o.force, "Terminate sessions that keep the parent busy");
  app.add_option("--expires-in", o.expires_in,
                 "Delete the branch after this long: 7d, 36h (Neon: at most 30d)");
  JsonFlag(app, o);
}

void AuditOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("--project", o.project, "Only this project (id or name)");
  app.add_option("--owner", o.owner, "Only this developer's branches");
  app.add_option("--older-than", o.older_than, "STALE after this long without activity (14d)");
  app.add_flag("--refresh", o.refresh, "Fetch from the providers first (default: dsd's cache)");
  app.add_flag("--check", o.check, "Exit 1 when any branch has a finding (for CI)");
  app.add_flag("--all", o.all, "List every branch in the table (default: the first 50)");
  app.add_flag("--prune", o.prune,
               "Delete the branches with findings that nothing keeps (a dry run without --yes)");
  app.add_flag("-y,--yes", o.yes, "With --prune: really delete");
  JsonFlag(app, o);
}

void SetExpiryOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("name", o.name, "Branch name")->required();
  app.add_option("expires_in", o.expires_in, "7d, 36h, ... from now, or never")->required();
  app.add_option("--project", o.project, "Project id or name");
  JsonFlag(app, o);
}

void DeleteOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("name", o.name, "Branch name (default: picked on a terminal)");
  app.add_option("--project", o.project, "Project id or name");
  app.add_option("--target", o.target, "The stage's branch: dev-{developer}-<stage>");
  app.add_flag("--force", o.force, "Terminate sessions connected to the branch");
  app.add_flag("-y,--yes", o.yes, "Do not ask for confirmation");
}

void ProjectOption(CLI::App& app, CommandOptions& o) {
  app.add_option("--project", o.project, "Project id or name");
  JsonFlag(app, o);
}

void SetDbOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("--branch", o.branch, "Branch to use (without it: a picker on a terminal)");
  app.add_option("--project", o.project, "Project id or name");
  app.add_option("--target", o.target, "The stage's branch: dev-{developer}-<stage>");
  JsonFlag(app, o);
}

void StopOptions(CLI::App& app, CommandOptions& o) {
  app.add_flag("--keep-databases", o.keep_databases, "Leave the local PostgreSQL cluster running");
}

void MigrateOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("--db", o.db,
                 "Connection string of the database to migrate; - reads it from stdin "
                 "(default: $DS_DB, else the workspace's DB_CONNECTION_STRING)");
  app.add_option("--target", o.target, "Migrate the stage's branch: dev-{developer}-<stage>");
  app.add_option("--project", o.project, "Project id or name (with --target)");
  app.add_option("--dir", o.dir,
                 "Drizzle migrations folder (default: migrations_dir, else drizzle/ or "
                 "backend/drizzle/)");
  app.add_option("--schema", o.schema, "Schema of the tracking table (default: drizzle)");
  app.add_option("--table", o.table, "Tracking table (default: __drizzle_migrations)");
  app.add_flag("--status", o.status,
               "List every migration as applied / pending / out-of-order / drifted");
  app.add_flag("--dry-run", o.dry_run, "Print what would run, in order, and change nothing");
  app.add_flag("--allow-out-of-order", o.allow_out_of_order,
               "Apply migrations older than the newest applied one");
  app.add_flag("--ignore-checksums", o.ignore_checksums,
               "Run even though applied migration files changed");
  app.add_flag("--wait", o.wait, "Queue behind a job already running on this database");
  app.add_flag("--detach", o.detach, "Start the job, print its id and return; it runs on in dsd");
  app.add_option("--lock-timeout", o.lock_timeout,
                 "Seconds to wait for another migrator's lock (default 60)")
      ->check(NonNegativeSeconds());
  app.add_flag("-y,--yes", o.yes, "Do not ask which database on a terminal");
  JsonFlag(app, o);
}

void JobIdOption(CLI::App& app, CommandOptions& o) {
  app.add_option("id", o.name, "Job id (`ds jobs list` shows them)")->required();
  JsonFlag(app, o);
}

void JobIdOnly(CLI::App& app, CommandOptions& o) {
  app.add_option("id", o.name, "Job id (`ds jobs list` shows them)")->required();
}

void JobsListOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("-n,--limit", o.limit, "How many jobs to show, newest first")
      ->check(WholeNumberAtLeast(1));
  JsonFlag(app, o);
}

constexpr Command kCommands[] = {
    {"", "setup", "Create your dev-{developer}-local branch and point .env at it", JsonFlag,
     RunSetup},
    {"db", "create-branch", "Create a branch (from main) and point .env at it", CreateOptions,
     RunCreateBranch},
    {"db", "delete-branch", "Delete a branch (never main or protected ones)", DeleteOptions,
     RunDeleteBranch},
    {"db", "list-projects", "List projects: name, region, id, created", JsonFlag, RunListProjects},
    {"db", "branches", "List the branches of a project", ProjectOption, RunBranches},
    {"db set", "target-db", "Point DB_CONNECTION_STRING at a branch", SetDbOptions, RunSetTargetDb},
    {"db set", "source-db", "Point SOURCE_DB_CONNECTION_STRING at a branch", SetDbOptions,
     RunSetSourceDb},
    {"db", "current", "Show which databases this workspace's .env points at", JsonFlag,
     RunDbCurrent},
    {"db", "audit", "Find stale, orphaned, expiring and surplus branches; --prune deletes them",
     AuditOptions, RunAudit},
    {"db", "set-expiry", "Make a branch expire (7d, 36h) or not (never)", SetExpiryOptions,
     RunSetExpiry},
    {"db", "migrate", "Apply the Drizzle migrations that are pending, as a job", MigrateOptions,
     RunMigrate},
    {"jobs", "list", "List jobs, newest first, with their outcome", JobsListOptions, RunJobsList},
    {"jobs", "watch", "Follow a job's progress until it ends", JobIdOption, RunJobsWatch},
    {"jobs", "cancel", "Cancel a job: its open transaction is rolled back", JobIdOnly,
     RunJobsCancel},
    {"jobs", "logs", "Print a job's log", JobIdOption, RunJobsLogs},
    {"config", "show", "Show every setting with where it came from", JsonFlag, RunConfigShow},
    {"daemon", "start", "Start dsd if it is not running", JsonFlag, RunDaemonStart},
    {"daemon", "status", "Show whether dsd runs, its pid, socket and log", JsonFlag,
     RunDaemonStatus},
    {"daemon", "stop", "Stop dsd (and the local PostgreSQL) gracefully", StopOptions,
     RunDaemonStop},
    {"daemon", "logs", "Print dsd's log", LogsOptions, RunDaemonLogs},
    {"", "version", "Print the versions of ds and of the running dsd", JsonFlag, RunVersion},
};

}  // namespace

std::span<const Command> Commands() { return kCommands; }

absl::StatusOr<std::string> ResolveWorkspaceDir(const std::string& flag) {
  std::error_code ec;
  if (!flag.empty()) {
    std::filesystem::path p = std::filesystem::absolute(flag, ec).lexically_normal();
    if (ec || !std::filesystem::exists(p, ec)) {
      return absl::InvalidArgumentError(
          StrCat("workspace directory ", p.string(), " does not exist; check -C"));
    }
    if (!std::filesystem::is_directory(p, ec)) {
      return absl::InvalidArgumentError(
          StrCat(p.string(), " is not a directory; -C takes the folder holding .env"));
    }
    std::string s = p.string();
    if (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  }
  std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (ec) {
    return absl::InvalidArgumentError(StrCat("cannot read the current directory: ", ec.message()));
  }
  for (std::filesystem::path dir = cwd;; dir = dir.parent_path()) {
    if (std::filesystem::exists(dir / "ds.toml", ec) || std::filesystem::exists(dir / ".env", ec)) {
      return dir.string();
    }
    // A repository's root bounds the search: a ~/.env must not capture
    // every project under the home directory.
    if (std::filesystem::exists(dir / ".git", ec) || dir == dir.parent_path()) break;
  }
  return cwd.string();
}

absl::StatusOr<v1::WorkspaceRef> BuildWorkspaceRef(const GlobalOptions& global) {
  absl::StatusOr<std::string> dir = ResolveWorkspaceDir(global.workspace);
  if (!dir.ok()) return dir.status();
  absl::StatusOr<v1::ClientOverrides> overrides = BuildOverrides(global);
  if (!overrides.ok()) return overrides.status();
  v1::WorkspaceRef ref;
  ref.set_workspace_dir(*dir);
  *ref.mutable_overrides() = std::move(*overrides);
  return ref;
}

absl::StatusOr<v1::ClientOverrides> BuildOverrides(const GlobalOptions& global) {
  v1::ClientOverrides o;
  for (const auto& [name, value] : common::ProcessDsEnvironment()) {
    if (IsConnectionEnvVar(name)) continue;  // a secret, and no config key
    (*o.mutable_environment())[name] = value;
  }
  for (const std::string& kv : global.settings) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(StrCat("--set takes key=value, got '", kv, "'"));
    }
    std::string key = kv.substr(0, eq);
    if (!common::FindConfigKey(key)) {
      return absl::InvalidArgumentError(
          StrCat("unknown config key '", key, "' in --set; `ds config show` lists them"));
    }
    (*o.mutable_flags())[key] = kv.substr(eq + 1);
  }
  return o;
}

}  // namespace ds::client
