// Layered configuration where every value remembers where it came from
// (ccache's model). Layers, highest first:
//
//   flags (--set key=value and dedicated flags)
//   DS_* environment variables of the caller
//   DS_* variables in the workspace .env
//   <workspace>/ds.toml
//   $XDG_CONFIG_HOME/ds/config.toml
//   built-in defaults
//
// Each layer is built on its own (so dsd can cache the parsed files) and
// BuildConfig stacks them. All keys live in one table (kConfigKeys).
#ifndef DS_COMMON_CONFIG_H_
#define DS_COMMON_CONFIG_H_

#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/dotenv.h"

namespace ds::common {

enum class OriginKind {
  kDefault,
  kUserConfig,
  kWorkspaceToml,
  kDotenv,
  kEnvironment,
  kFlag,
};

std::string_view OriginKindName(OriginKind kind);  // "default", "flag", ...

struct ConfigOrigin {
  OriginKind kind = OriginKind::kDefault;
  std::string location;  // "/w/ds.toml:3", "DS_STAGE", "--set stage=ci"
};

struct ConfigKey {
  std::string_view name;     // "stage", "neon_api_host"
  std::string_view env_var;  // "DS_STAGE"
  std::string_view default_value;
  std::string_view description;
  bool secret = false;  // shown masked, never logged
  // A second variable read when env_var is absent from the same layer (the
  // seed's own names, e.g. DEVSTRIDE_STAGE); env_var wins over it.
  std::string_view alias_env_var = {};
};

// The provider a configuration selects: `provider` unless it is "auto",
// in which case "neon" when a Neon API key is set, else "local".
std::string EffectiveProvider(const class Config& config);

// The two databases a workspace's .env names: the target
// (DB_CONNECTION_STRING, `target_var`) and the source
// (SOURCE_DB_CONNECTION_STRING, `source_var`).
enum class DbRole { kTarget, kSource };

// The command that points a role's variable at a branch, for hints:
// "ds db set target-db" or "ds db set source-db". Every hint about a
// variable is built from its role, never from a fixed name.
std::string_view SetDbCommand(DbRole role);

// The table of every configuration key ds knows.
std::span<const ConfigKey> ConfigKeys();
const ConfigKey* FindConfigKey(std::string_view name);
const ConfigKey* FindConfigKeyByEnvVar(std::string_view env_var);

struct ConfigEntry {
  std::string key;
  std::string value;
  ConfigOrigin origin;
};

// One source of values. Keys are validated when the layer is built.
struct ConfigLayer {
  OriginKind kind = OriginKind::kDefault;
  std::vector<ConfigEntry> entries;
};

ConfigLayer DefaultsLayer();
// Parses a TOML file's text. Unknown keys and non-scalar values are errors
// naming the file and line; `kind` is kUserConfig or kWorkspaceToml.
absl::StatusOr<ConfigLayer> TomlLayer(std::string_view text, const std::filesystem::path& file,
                                      OriginKind kind);
// Whether `value` is allowed for `key`. The error starts with `location`
// ("/w/ds.toml:3", "DS_LOG_LEVEL", "--set stage") and names the allowed
// values; a secret key's value is never shown.
absl::Status CheckConfigValue(const ConfigKey& key, std::string_view value,
                              std::string_view location);
// Every entry of a layer checked with CheckConfigValue; the first error.
// TomlLayer and FlagLayer check their own; the others' callers do.
absl::Status CheckConfigLayer(const ConfigLayer& layer);

// "known keys: a, b, ..." for error messages.
std::string UnknownConfigKeyHint();

// DS_* assignments found in a workspace .env (other keys are ignored).
ConfigLayer DotenvLayer(const std::vector<DotenvEntry>& entries, const std::filesystem::path& file);
// DS_* variables (name -> value) from a caller's environment; unknown DS_*
// names are ignored so that unrelated tools' variables do not break ds.
ConfigLayer EnvironmentLayer(const std::map<std::string, std::string>& vars);
// key -> value pairs from flags; `flag_name` says how they were given.
absl::StatusOr<ConfigLayer> FlagLayer(const std::map<std::string, std::string>& values);

// DS_* variables of this process's environment (name -> value), with the
// variables config keys read and the forwarded credentials below.
std::map<std::string, std::string> ProcessDsEnvironment();

// Variables the cloud steps read (AWS_*, STRIPE_*, GITHUB_TOKEN,
// GITHUB_API_URL): forwarded from the caller with each request, like
// NEON_API_KEY, and never inherited by a dsd that ds spawns. Secrets.
bool IsForwardedCredential(std::string_view env_var);

// Those variables for one request: the workspace .env's, overridden by the
// caller's environment.
std::map<std::string, std::string> ExternalCredentials(
    const std::map<std::string, std::string>& caller_env, const std::vector<DotenvEntry>& dotenv);

class Config {
 public:
  // Stacks `layers` in order: later layers override earlier ones.
  static Config Build(std::span<const ConfigLayer> layers);

  const std::string& Get(std::string_view key) const;
  const ConfigOrigin& OriginOf(std::string_view key) const;
  // Every key, in table order, with its effective value and origin.
  const std::vector<ConfigEntry>& entries() const { return entries_; }

 private:
  std::vector<ConfigEntry> entries_;  // one per ConfigKeys() entry, same order
};

// The branch name a stage maps to: `pattern` with {developer} and {stage}
// replaced, e.g. "dev-{developer}-{stage}" -> "dev-phil-local".
std::string BranchForStage(std::string_view pattern, std::string_view developer,
                           std::string_view stage);

}  // namespace ds::common

#endif  // DS_COMMON_CONFIG_H_
