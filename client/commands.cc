#include "client/commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "client/exit_codes.h"
#include "client/secret_args.h"
#include "client/usage.h"
#include "common/config.h"
#include "common/strings.h"
#include "common/version.h"

namespace ds::client {
namespace {

void JsonFlag(CLI::App& app, CommandOptions& o) {
  app.add_flag("--json", o.json, "Print the answer as JSON (the gRPC reply's shape)");
}

void LogsOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("-n,--lines", o.lines, "How many lines to show")
      ->type_name("N")
      ->check(WholeNumberAtLeast(0));
  app.add_flag("-f,--follow", o.follow, "Keep printing lines as dsd writes them");
}

void ProjectOnly(CLI::App& app, CommandOptions& o) {
  app.add_option("--project", o.project, "Project id or name")->type_name("PROJECT");
}

void StageOption(CLI::App& app, CommandOptions& o) {
  app.add_option("--target", o.target, "The stage's branch: dev-{developer}-<stage>")
      ->type_name("STAGE");
}

void CreateOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("name", o.name, "Branch name (default: asked for on a terminal)")
      ->type_name("NAME");
  app.add_option("--parent", o.parent, "Branch to copy (default: the default branch, main)")
      ->type_name("BRANCH");
  ProjectOnly(app, o);
  app.add_option("--target", o.target, "Name the branch after a stage: dev-{developer}-<stage>")
      ->type_name("STAGE");
  app.add_flag("--force", o.force, "Terminate sessions that keep the parent busy");
  app.add_flag("-y,--yes", o.yes,
               "Point .env at an existing protected or default branch without asking");
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
  app.add_option("name", o.name, "Branch name (default: picked on a terminal)")
      ->type_name("BRANCH");
  ProjectOnly(app, o);
  StageOption(app, o);
  app.add_flag("--force", o.force, "Terminate sessions connected to the branch");
  app.add_flag("-y,--yes", o.yes, "Do not ask for confirmation");
}

void ProjectOption(CLI::App& app, CommandOptions& o) {
  ProjectOnly(app, o);
  JsonFlag(app, o);
}

void SetDbOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("previous", o.name,
                 "`-`: switch back to the value before the last change, as `cd -` does");
  app.add_option("--branch", o.branch, "Branch to use (without it: a picker on a terminal)")
      ->type_name("BRANCH");
  app.add_flag("-y,--yes", o.yes,
               "Point DB_CONNECTION_STRING at a protected or default branch without asking");
  ProjectOnly(app, o);
  StageOption(app, o);
  JsonFlag(app, o);
}

void StopOptions(CLI::App& app, CommandOptions& o) {
  app.add_flag("--keep-databases", o.keep_databases, "Leave the local PostgreSQL cluster running");
}

void MigrateOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("--db", o.db,
                 "Connection string of the database to migrate; - reads it from stdin "
                 "(default: $DS_DB, else the workspace's DB_CONNECTION_STRING)")
      ->type_name("URL");
  app.add_option("--target", o.target, "Migrate the stage's branch: dev-{developer}-<stage>")
      ->type_name("STAGE");
  app.add_option("--project", o.project, "Project id or name (with --target)")
      ->type_name("PROJECT");
  app.add_option("--dir", o.dir,
                 "Drizzle migrations folder (default: migrations_dir, else drizzle/ or "
                 "backend/drizzle/)")
      ->type_name("DIR");
  app.add_option("--schema", o.schema, "Schema of the tracking table (default: drizzle)")
      ->type_name("SCHEMA");
  app.add_option("--table", o.table, "Tracking table (default: __drizzle_migrations)")
      ->type_name("TABLE");
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
      ->type_name("SECONDS")
      ->check(NonNegativeSeconds());
  app.add_flag("-y,--yes", o.yes,
               "Do not ask which database on a terminal; migrate a protected or default "
               "branch without asking");
  JsonFlag(app, o);
}

// Shared by reset and copy-org: which organization, from where, to where.
void OrgCopyEndpointOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("-o,--organization", o.organization,
                 "Id of the organization to copy (default: the `organization` setting)");
  app.add_option("--source-db", o.source_db,
                 "Connection string to copy from, or - to read it from stdin (default: "
                 "SOURCE_DB_CONNECTION_STRING)");
  app.add_option("--target-db", o.target_db,
                 "Connection string to write to, or - to read it from stdin (default: --target's "
                 "branch, else DB_CONNECTION_STRING)");
  app.add_option("--target", o.target, "Write to the stage's branch: dev-{developer}-<stage>");
  app.add_option("--project", o.project, "Project id or name (with --target)");
  app.add_flag("--wait", o.wait, "Queue behind a job already running on the target");
  app.add_flag("--detach", o.detach, "Start the job, print its id and return; it runs on in dsd");
  app.add_flag("-y,--yes", o.yes, "Do not ask for confirmation (needed without a terminal)");
  JsonFlag(app, o);
}

void ResetOptions(CLI::App& app, CommandOptions& o) {
  OrgCopyEndpointOptions(app, o);
  app.add_option("--dir", o.dir,
                 "Drizzle migrations folder (default: migrations_dir, else drizzle/ or "
                 "backend/drizzle/)");
  app.add_flag("--dry-run", o.dry_run,
               "Run the checks and print the plan with the copy's row counts; change nothing");
}

void CopyOrgOptions(CLI::App& app, CommandOptions& o) {
  OrgCopyEndpointOptions(app, o);
  app.add_flag("--dry-run", o.dry_run,
               "Print the rows per table that would be copied; change nothing");
  app.add_flag("--explain", o.explain,
               "Print the FK graph: tables, FKs followed down+up or up only, cycles and how each "
               "is loaded; change nothing");
}

void CurrentOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("--format", o.format,
                 "Print one line from a template, e.g. '{branch}@{provider}' (fields in "
                 "ds(1)); nothing, and exit 0, when the database is not set")
      ->type_name("TEMPLATE");
  JsonFlag(app, o);
  app.get_option("--json")->excludes("--format");
}

void CompletionOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("shell", o.shell, "bash, zsh or fish")
      ->type_name("SHELL")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
}

void CompleteWordsOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("what", o.shell, "branches or jobs")
      ->required()
      ->check(CLI::IsMember({"branches", "jobs"}));
  ProjectOnly(app, o);
}

void ManPageOptions(CLI::App&, CommandOptions&) {}

void RefreshStagingOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("-o,--organization", o.organization,
                 "Organization to copy into staging (default: demo_organization)");
  app.add_option("--ref", o.ref, "Git ref the workflow runs on (default: refresh_staging_ref)");
  app.add_flag("--no-wait", o.no_wait, "Return once the run is dispatched, printing its URL");
  app.add_option("--poll-interval", o.poll_seconds, "Seconds between looks at the run (default 5)")
      ->check(CLI::PositiveNumber);
  JsonFlag(app, o);
}

void JobIdOption(CLI::App& app, CommandOptions& o) {
  app.add_option("id", o.name, "Job id (`ds jobs list` shows them)")->type_name("JOB")->required();
  JsonFlag(app, o);
}

void JobIdOnly(CLI::App& app, CommandOptions& o) {
  app.add_option("id", o.name, "Job id (`ds jobs list` shows them)")->type_name("JOB")->required();
}

void JobsListOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("-n,--limit", o.limit, "How many jobs to show, newest first")
      ->type_name("N")
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
    {"db", "current", "Show which databases this workspace's .env points at", CurrentOptions,
     RunDbCurrent},
    {"db", "history",
     "List the values ds wrote into DB_CONNECTION_STRING and SOURCE_DB_CONNECTION_STRING", JsonFlag,
     RunDbHistory},
    {"db", "audit", "Find stale, orphaned, expiring and surplus branches; --prune deletes them",
     AuditOptions, RunAudit},
    {"db", "set-expiry", "Make a branch expire (7d, 36h) or not (never)", SetExpiryOptions,
     RunSetExpiry},
    {"db", "migrate", "Apply the Drizzle migrations that are pending, as a job", MigrateOptions,
     RunMigrate},
    {"db", "reset", "Wipe and rebuild a database: drop, migrate, copy one organization (a job)",
     ResetOptions, RunReset},
    {"db", "copy-org", "Copy one organization into a database that has the schema (a job)",
     CopyOrgOptions, RunCopyOrg},
    {"db", "refresh-staging",
     "Run the GitHub workflow that copies an organization into staging, and follow it",
     RefreshStagingOptions, RunRefreshStaging},
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
    {"", "completion", "Print the shell completion script for bash, zsh or fish", CompletionOptions,
     RunCompletion},
    {"", "__complete", "Words for the completion scripts, from dsd's memory (never starts dsd)",
     CompleteWordsOptions, RunCompleteWords, /*hidden=*/true},
    {"", "__man", "Print ds(1) as roff (the build writes ds.1 with it)", ManPageOptions, RunManPage,
     /*hidden=*/true},
};

}  // namespace

std::span<const Command> Commands() { return kCommands; }

std::map<CLI::App*, const Command*> BuildCommandTree(CLI::App& app, GlobalOptions& global,
                                                     CommandOptions& options) {
  std::string description = "ds: per-developer PostgreSQL branches.\nExit codes:";
  for (const ExitCodeDoc& e : kExitCodeDocs) {
    StrAppend(&description, e.code == 0 ? " " : ", ", e.code, " ", e.meaning);
  }
  app.description(description + ".");
  app.name("ds");
  app.require_subcommand(1);
  // Global options (-C, --set, ...) may follow the subcommand too.
  app.fallthrough();
  app.set_version_flag("--version", std::string(common::Version()));
  app.add_option("-C,--workspace", global.workspace,
                 "Workspace directory (default: nearest folder with ds.toml or .env)")
      ->type_name("DIR")
      ->configurable(false);
  app.add_option("--state-dir", global.state_dir,
                 "dsd state directory (default: $DS_STATE_DIR, else $XDG_STATE_HOME/ds)")
      ->type_name("DIR");
  app.add_option("--set", global.settings, "Override a setting: --set key=value (repeatable)")
      ->type_name("KEY=VALUE");

  // Groups ("db", "db set") are created on first use from the table.
  static const std::map<std::string, std::string> kGroupHelp = {
      {"db", "Database branches of this workspace"},
      {"db set", "Point .env's target or source database at a branch"},
      {"daemon", "Control the dsd daemon"},
      {"jobs", "Migrations and other long work that dsd runs as jobs"},
      {"config", "Configuration"}};
  std::map<std::string, CLI::App*> groups;
  std::map<CLI::App*, const Command*> leaves;
  for (const Command& c : Commands()) {
    CLI::App* parent = &app;
    std::string path;
    for (std::string_view word : SplitSkipEmpty(c.group, ' ')) {
      path = path.empty() ? std::string(word) : path + " " + std::string(word);
      auto [it, fresh] = groups.try_emplace(path, nullptr);
      if (fresh) {
        auto help = kGroupHelp.find(path);
        it->second =
            parent->add_subcommand(std::string(word), help == kGroupHelp.end() ? "" : help->second);
        it->second->require_subcommand(1);
      }
      parent = it->second;
    }
    CLI::App* sub = parent->add_subcommand(c.name, c.summary);
    if (c.hidden) sub->group("");
    c.add_options(*sub, options);
    leaves[sub] = &c;
  }
  return leaves;
}

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
    const common::ConfigKey* known = common::FindConfigKey(key);
    if (!known) {
      return absl::InvalidArgumentError(
          StrCat("unknown config key '", key, "' in --set; `ds config show` lists them"));
    }
    // A bad value is a usage error here, as a bad key is (dsd checks again).
    if (absl::Status s = common::CheckConfigValue(*known, kv.substr(eq + 1), StrCat("--set ", key));
        !s.ok()) {
      return s;
    }
    (*o.mutable_flags())[key] = kv.substr(eq + 1);
  }
  return o;
}

}  // namespace ds::client
