// Connection strings on ds's command line without showing their passwords
// to other users: `ps` and /proc/<pid>/cmdline show every process's
// arguments to everyone, so ds overwrites the secrets in its own argument
// memory first thing (as database clients do), and also takes a
// connection string from an environment variable (readable only by the
// same user) or from stdin (`--db -`), which never show in `ps`.
#ifndef DS_CLIENT_SECRET_ARGS_H_
#define DS_CLIENT_SECRET_ARGS_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ds::client {

// An option that takes a connection string, and the environment variable
// that stands for it when the option is not given.
struct ConnectionOption {
  std::string_view flag;     // "--db"
  std::string_view env_var;  // "DS_DB"
};

inline constexpr ConnectionOption kDbOption{"--db", "DS_DB"};
inline constexpr ConnectionOption kSourceDbOption{"--source-db", "DS_SOURCE_DB"};
inline constexpr ConnectionOption kTargetDbOption{"--target-db", "DS_TARGET_DB"};
inline constexpr ConnectionOption kConnectionOptions[] = {kDbOption, kSourceDbOption,
                                                          kTargetDbOption};

// True for the environment variables above: ds never forwards them to dsd
// as configuration (they are secrets, and no config key).
bool IsConnectionEnvVar(std::string_view name);

// The arguments as given (without argv[0]), then every secret in argv's own
// memory overwritten: passwords in connection strings, `password=` values,
// Neon API keys (common::ScrubSecrets decides what is secret). A masked
// argument that comes out longer than the original is cut to its length, the
// rest is zeroed. Call first thing in main and parse the returned copy.
std::vector<std::string> CopyAndScrubArgs(int argc, char** argv);

// The connection string `option` stands for: `value` as given; for "-",
// one line read from stdin (without echo on a terminal, after a prompt on
// stderr); for "" (the option not given), the environment variable, or ""
// when that is unset too. Errors (stdin empty or unreadable) are usage
// errors that name the option.
absl::StatusOr<std::string> ResolveConnectionOption(const ConnectionOption& option,
                                                    const std::string& value);

}  // namespace ds::client

#endif  // DS_CLIENT_SECRET_ARGS_H_
