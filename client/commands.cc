#include "client/commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "common/config.h"
#include "common/strings.h"

namespace ds::client {
namespace {

void JsonFlag(CLI::App& app, CommandOptions& o) {
  app.add_flag("--json", o.json, "Print the answer as JSON (the gRPC reply's shape)");
}

void NoOptions(CLI::App&, CommandOptions&) {}

void LogsOptions(CLI::App& app, CommandOptions& o) {
  app.add_option("-n,--lines", o.lines, "How many lines to show")->check(CLI::NonNegativeNumber);
  app.add_flag("-f,--follow", o.follow, "Keep printing lines as dsd writes them");
}

constexpr Command kCommands[] = {
    {"db", "current", "Show which databases this workspace's .env points at", JsonFlag,
     RunDbCurrent},
    {"config", "show", "Show every setting with where it came from", JsonFlag, RunConfigShow},
    {"daemon", "start", "Start dsd if it is not running", JsonFlag, RunDaemonStart},
    {"daemon", "status", "Show whether dsd runs, its pid, socket and log", JsonFlag,
     RunDaemonStatus},
    {"daemon", "stop", "Stop dsd gracefully", NoOptions, RunDaemonStop},
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
    return absl::InvalidArgumentError(
        StrCat("cannot read the current directory: ", ec.message()));
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

absl::StatusOr<v1::ClientOverrides> BuildOverrides(const GlobalOptions& global) {
  v1::ClientOverrides o;
  for (const auto& [name, value] : common::ProcessDsEnvironment()) {
    (*o.mutable_environment())[name] = value;
  }
  for (const std::string& kv : global.settings) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          StrCat("--set takes key=value, got '", kv, "'"));
    }
    std::string key = kv.substr(0, eq);
    if (!common::FindConfigKey(key)) {
      return absl::InvalidArgumentError(StrCat(
          "unknown config key '", key, "' in --set; `ds config show` lists them"));
    }
    (*o.mutable_flags())[key] = kv.substr(eq + 1);
  }
  return o;
}

}  // namespace ds::client
