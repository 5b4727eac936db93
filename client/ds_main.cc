// ds: the command-line client of dsd. See docs/architecture.md.
#include <grpc/support/log.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "client/secret_args.h"
#include "client/usage.h"
#include "common/strings.h"
#include "common/version.h"

int main(int argc, char** argv) {
  using namespace ds::client;
  // Before anything else: other users see argv in `ps` for as long as ds
  // runs. ds parses its own copy.
  std::vector<std::string> args = CopyAndScrubArgs(argc, argv);
  // gRPC would print connection noise on stderr; ds reports errors itself.
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);

  CLI::App app{
      "ds: per-developer PostgreSQL branches.\n"
      "Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 dsd unreachable, 130 cancelled."};
  app.require_subcommand(1);
  // Global options (-C, --set, ...) may follow the subcommand too.
  app.fallthrough();
  app.set_version_flag("--version", std::string(ds::common::Version()));
  GlobalOptions global;
  CommandOptions options;
  app.add_option("-C,--workspace", global.workspace,
                 "Workspace directory (default: nearest folder with ds.toml or .env)")
      ->configurable(false);
  app.add_option("--state-dir", global.state_dir,
                 "dsd state directory (default: $DS_STATE_DIR, else $XDG_STATE_HOME/ds)");
  app.add_option("--set", global.settings, "Override a setting: --set key=value (repeatable)");

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
    for (std::string_view word : ds::SplitSkipEmpty(c.group, ' ')) {
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
    c.add_options(*sub, options);
    leaves[sub] = &c;
  }

  int rc = kExitOk;
  try {
    app.name("ds");
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    app.parse(std::move(args));
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app.exit(e);  // --help, --version: printed on stdout
      std::fflush(stdout);
      _exit(kExitOk);
    }
    _exit(PrintError(DescribeParseError(app, e), kExitUsage));
  }
  for (const auto& [sub, command] : leaves) {
    if (sub->parsed()) {
      rc = command->run({global, options, ds::common::ResolvePaths(global.state_dir)});
      break;
    }
  }
  // Skip static destructors and gRPC's teardown: nothing needs saving, and
  // tearing down gRPC's threads costs milliseconds on every call.
  std::cout.flush();
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(rc);
}
