// ds's subcommands, declared in one table (commands.cc) as ninja does: the
// group, the name, one line of help, the options, the function that runs it.
#ifndef DS_CLIENT_COMMANDS_H_
#define DS_CLIENT_COMMANDS_H_

#include <map>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/paths.h"
#include "ds/v1/branch.pb.h"
#include "ds/v1/common.pb.h"

namespace CLI {
class App;
}

namespace ds::client {

// Options every command accepts.
struct GlobalOptions {
  std::string workspace;              // -C/--workspace
  std::string state_dir;              // --state-dir
  std::vector<std::string> settings;  // --set key=value
};

// Per-command options; each command binds the ones it uses.
struct CommandOptions {
  bool json = false;
  int lines = 50;
  bool follow = false;
  std::string name;             // positional branch name
  std::string parent;           // --parent
  std::string project;          // --project
  std::string branch;           // --branch
  std::string target;           // --target <stage>
  bool force = false;           // --force
  bool yes = false;             // --yes
  bool keep_databases = false;  // --keep-databases
  // ds db migrate
  std::string db;      // --db connection string
  std::string dir;     // --dir
  std::string schema;  // --schema
  std::string table;   // --table
  bool status = false;
  bool dry_run = false;
  bool allow_out_of_order = false;
  bool ignore_checksums = false;
  bool wait = false;
  bool detach = false;
  double lock_timeout = 0;
  int limit = 50;  // ds jobs list
  // ds db reset / copy-org
  std::string organization;  // -o
  std::string source_db;     // --source-db ("-": stdin)
  std::string target_db;     // --target-db ("-": stdin)
  bool explain = false;
  std::string format;  // ds db current --format
  std::string shell;   // ds completion SHELL; ds __complete WHAT
  // ds db refresh-staging
  std::string ref;          // --ref
  bool no_wait = false;     // --no-wait
  double poll_seconds = 0;  // --poll-interval
  // ds db audit, set-expiry, create-branch --expires-in
  std::string owner;       // --owner
  std::string older_than;  // --older-than
  bool refresh = false;
  bool check = false;
  bool prune = false;
  bool all = false;  // ds db audit --all: every row of the table
  std::string expires_in;  // --expires-in; set-expiry's second argument
};

struct Invocation {
  const GlobalOptions& global;
  const CommandOptions& options;
  common::Paths paths;
  // The whole command tree, for the commands that describe it
  // (completion scripts, the man page).
  const CLI::App* root = nullptr;
};

struct Command {
  const char* group;  // "db", "daemon", "config"; "" for a top-level command
  const char* name;
  const char* summary;
  void (*add_options)(CLI::App& app, CommandOptions& options);
  int (*run)(const Invocation& invocation);
  // Left out of --help, completion and the man page: plumbing for the
  // completion scripts and the build.
  bool hidden = false;
};

// Builds the whole command line of ds on `app` from the table: global
// options, groups and commands, bound to `global` and `options`. Returns
// each command's App.
std::map<CLI::App*, const Command*> BuildCommandTree(CLI::App& app, GlobalOptions& global,
                                                     CommandOptions& options);

std::span<const Command> Commands();

// Helpers shared by the commands.

// The workspace this call is about: -C if given (must exist), else the
// nearest ancestor of the current directory holding ds.toml or .env (not
// above a git repository's root), else the current directory. The error is
// a usage error.
absl::StatusOr<std::string> ResolveWorkspaceDir(const std::string& flag);

// What the client forwards so dsd evaluates config as this shell would.
absl::StatusOr<v1::ClientOverrides> BuildOverrides(const GlobalOptions& global);

// The workspace part of a branch request (dir and overrides).
absl::StatusOr<v1::WorkspaceRef> BuildWorkspaceRef(const GlobalOptions& global);

// The commands themselves (cmd_*.cc).
int RunSetup(const Invocation& inv);
int RunCreateBranch(const Invocation& inv);
int RunDeleteBranch(const Invocation& inv);
int RunListProjects(const Invocation& inv);
int RunBranches(const Invocation& inv);
int RunSetTargetDb(const Invocation& inv);
int RunSetSourceDb(const Invocation& inv);
int RunDbCurrent(const Invocation& inv);
int RunDbHistory(const Invocation& inv);
int RunConfigShow(const Invocation& inv);
int RunDaemonStart(const Invocation& inv);
int RunDaemonStatus(const Invocation& inv);
int RunDaemonStop(const Invocation& inv);
int RunDaemonLogs(const Invocation& inv);
int RunVersion(const Invocation& inv);
int RunMigrate(const Invocation& inv);
int RunRefreshStaging(const Invocation& inv);
int RunJobsList(const Invocation& inv);
int RunJobsWatch(const Invocation& inv);
int RunJobsCancel(const Invocation& inv);
int RunJobsLogs(const Invocation& inv);
int RunReset(const Invocation& inv);
int RunCopyOrg(const Invocation& inv);
int RunCompletion(const Invocation& inv);
int RunCompleteWords(const Invocation& inv);
int RunManPage(const Invocation& inv);
int RunAudit(const Invocation& inv);
int RunSetExpiry(const Invocation& inv);

}  // namespace ds::client

#endif  // DS_CLIENT_COMMANDS_H_
