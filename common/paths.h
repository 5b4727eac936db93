// Every file and directory ds and dsd use derives from the functions here
// (watchman's rule: one place decides where state lives).
//
//   runtime dir  $XDG_RUNTIME_DIR/ds, else /tmp/ds-<uid>     socket, spawn lock
//   state dir    $DS_STATE_DIR, else $XDG_STATE_HOME/ds,      pid lock, log,
//                else ~/.local/state/ds                        caches, jobs
//   config dir   $XDG_CONFIG_HOME/ds, else ~/.config/ds       config.toml
//   data dir     $XDG_DATA_HOME/ds, else ~/.local/share/ds    local clusters
#ifndef DS_COMMON_PATHS_H_
#define DS_COMMON_PATHS_H_

#include <filesystem>
#include <string>

#include "absl/status/status.h"

namespace ds::common {

struct Paths {
  std::filesystem::path runtime_dir;
  std::filesystem::path state_dir;
  std::filesystem::path config_dir;
  std::filesystem::path data_dir;

  std::filesystem::path socket() const { return runtime_dir / "dsd.sock"; }
  // Held (flock) by ds while it decides whether to start dsd, so that many
  // concurrent ds calls start exactly one daemon.
  std::filesystem::path spawn_lock() const { return runtime_dir / "spawn.lock"; }
  // Held (flock) by the running dsd for its whole life.
  std::filesystem::path pid_file() const { return state_dir / "dsd.pid"; }
  std::filesystem::path log_file() const { return state_dir / "dsd.log"; }
  // One JSON record per job (<id>.json), kept across daemons.
  std::filesystem::path jobs_dir() const { return state_dir / "jobs"; }
  std::filesystem::path user_config() const { return config_dir / "config.toml"; }
};

// Computes the paths from the environment. `state_dir_override` (from
// --state-dir) wins over DS_STATE_DIR when non-empty.
Paths ResolvePaths(const std::string& state_dir_override = "");

// Creates `dir` (and parents) with mode 0700 if missing, then insists that it
// is a directory owned by the current user and not writable by group or
// others. This is what keeps other users away from the socket: socket-file
// permissions alone are not honoured everywhere.
absl::Status EnsurePrivateDir(const std::filesystem::path& dir);

// Checks an existing directory the same way without creating it.
absl::Status CheckPrivateDir(const std::filesystem::path& dir);

}  // namespace ds::common

#endif  // DS_COMMON_PATHS_H_
