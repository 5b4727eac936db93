// ds: the command-line client of dsd. See docs/architecture.md.
#include <grpc/support/log.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

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

namespace {

// Ends ds without static destructors or gRPC's teardown: nothing needs
// saving, and tearing down gRPC's threads costs milliseconds on every call.
[[noreturn]] void ExitNow(int rc) {
  std::cout.flush();
  std::fflush(stdout);
  std::fflush(stderr);
#ifdef __SANITIZE_ADDRESS__
  // _exit skips LeakSanitizer's check at exit, so an ASan build runs it here
  // (what is still reachable, such as the kept gRPC channels, is no leak).
  __lsan_do_leak_check();
#endif
  _exit(rc);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ds::client;
  // Before anything else: other users see argv in `ps` for as long as ds
  // runs. ds parses its own copy.
  std::vector<std::string> args = CopyAndScrubArgs(argc, argv);
  // gRPC would print connection noise on stderr; ds reports errors itself.
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);

  CLI::App app;
  GlobalOptions global;
  CommandOptions options;
  std::map<CLI::App*, const Command*> leaves = BuildCommandTree(app, global, options);

  int rc = kExitOk;
  try {
    app.name("ds");
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    app.parse(std::move(args));
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app.exit(e);  // --help, --version: printed on stdout
      ExitNow(kExitOk);
    }
    ExitNow(PrintError(DescribeParseError(app, e), kExitUsage));
  }
  for (const auto& [sub, command] : leaves) {
    if (sub->parsed()) {
      rc = command->run({global, options, ds::common::ResolvePaths(global.state_dir), &app});
      break;
    }
  }
  ExitNow(rc);
}
