// What ds wrote into (and replaced in) each workspace's .env database
// variables, so that a value overwritten by `setup`, `create-branch` or
// `set` can be listed and restored (`ds db set target-db -`, as `cd -`).
//
// One file in dsd's state directory (0700), itself 0600 and replaced
// atomically: the values are connection strings with passwords, kept so
// they can be written back; listings show them redacted. The newest
// `keep` values per .env file and variable are kept.
#ifndef DS_DAEMON_WORKSPACE_ENV_HISTORY_H_
#define DS_DAEMON_WORKSPACE_ENV_HISTORY_H_

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ds::daemon {

struct EnvHistoryEntry {
  std::string env_file;  // absolute path of the .env
  std::string variable;
  int64_t unix_ms = 0;  // when ds wrote the value, or found it and replaced it
  std::string value;    // holds the password
};

class EnvHistory {
 public:
  explicit EnvHistory(std::filesystem::path file, size_t keep = 10)
      : file_(std::move(file)), keep_(keep) {}
  EnvHistory(const EnvHistory&) = delete;
  EnvHistory& operator=(const EnvHistory&) = delete;

  // `variable` in `env_file` changes from `old_value` ("" when unset) to
  // `new_value`. The old value is recorded too when the history does not
  // end with it (the user edited .env by hand, or it predates ds), so that
  // it can be switched back to.
  absl::Status Record(const std::string& env_file, const std::string& variable,
                      const std::string& old_value, const std::string& new_value, int64_t unix_ms);

  // The entries of `env_file` (of one variable, or all when empty), newest
  // first.
  absl::StatusOr<std::vector<EnvHistoryEntry>> List(const std::string& env_file,
                                                    const std::string& variable = "");

  // What `cd -` would go back to: the newest recorded value of the variable
  // that differs from `current`; nullopt when there is none.
  absl::StatusOr<std::optional<std::string>> Previous(const std::string& env_file,
                                                      const std::string& variable,
                                                      const std::string& current);

 private:
  absl::StatusOr<std::vector<EnvHistoryEntry>> Load() const;  // oldest first
  absl::Status Save(const std::vector<EnvHistoryEntry>& entries) const;

  const std::filesystem::path file_;
  const size_t keep_;
  std::mutex mu_;  // one read-modify-write at a time (one dsd per state dir)
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_WORKSPACE_ENV_HISTORY_H_
