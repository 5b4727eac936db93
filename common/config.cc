#include "common/config.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "common/strings.h"

extern char** environ;

namespace ds::common {
namespace {

// Keep sorted by importance to a reader of `ds config show`, not by name.
constexpr ConfigKey kKeys[] = {
    {"provider", "DS_PROVIDER", "auto",
     "where branches live: \"local\" (embedded PostgreSQL), \"neon\", or \"auto\" (neon "
     "when a Neon API key is set, else local)"},
    {"neon_api_key", "NEON_API_KEY", "",
     "Neon API key (from the environment, .env, dsd's environment or "
     "$XDG_CONFIG_HOME/ds/credentials; shown masked)",
     /*secret=*/true},
    {"neon_api_host", "NEON_API_HOST", "https://console.neon.tech/api/v2",
     "Neon API base URL, as neonctl reads it"},
    {"neon_org_id", "NEON_ORG_ID", "",
     "Neon organization to list projects from (needed when a personal key belongs to several)"},
    {"neon_refresh_seconds", "DS_NEON_REFRESH_SECONDS", "60",
     "how often dsd refreshes its Neon snapshot while in use (seconds, 10 or more)"},
    {"developer", "DS_DEVELOPER", "", "your name in branch names (default: $USER, slugged)"},
    {"stage", "DS_STAGE", "local", "default stage for --target"},
    {"branch_pattern", "DS_BRANCH_PATTERN", "dev-{developer}-{stage}", "branch name for a stage"},
    {"env_file", "DS_ENV_FILE", ".env", ".env file of the workspace, relative to it"},
    {"target_var", "DS_TARGET_VAR", "DB_CONNECTION_STRING",
     ".env variable holding the target database"},
    {"source_var", "DS_SOURCE_VAR", "SOURCE_DB_CONNECTION_STRING",
     ".env variable holding the source database"},
    {"project", "DS_PROJECT", "", "project to use when a provider has several"},
    {"branch_limit", "DS_BRANCH_LIMIT", "10",
     "branches per Neon project your plan includes; `ds db audit` reports the excess as "
     "OVER-LIMIT (Neon's published figures: Free and Launch 10, Scale 25; 0 = no limit)"},
    {"local_project", "DS_LOCAL_PROJECT", "local",
     "name of the embedded local provider's project (dsd reads it at start)"},
    {"migrations_dir", "DS_MIGRATIONS_DIR", "",
     "Drizzle migrations folder, relative to the workspace (default: drizzle/ or "
     "backend/drizzle/)"},
    {"migrations_schema", "DS_MIGRATIONS_SCHEMA", "drizzle",
     "schema of the migrations tracking table (drizzle's migrationsSchema)"},
    {"migrations_table", "DS_MIGRATIONS_TABLE", "__drizzle_migrations",
     "name of the migrations tracking table (drizzle's migrationsTable)"},
    {"log_level", "DS_LOG_LEVEL", "info",
     "dsd's log level: debug, info, warning, error (dsd reads it at start from the user config "
     "or its own environment; one dsd serves every workspace, so ds.toml, .env and --set do not "
     "change it)"},
};

}  // namespace

std::string UnknownConfigKeyHint() {
  std::vector<std::string_view> names;
  for (const ConfigKey& k : kKeys) names.push_back(k.name);
  return StrCat("known keys: ", Join(names, ", "));
}

std::string_view OriginKindName(OriginKind kind) {
  switch (kind) {
    case OriginKind::kDefault: return "default";
    case OriginKind::kUserConfig: return "user config";
    case OriginKind::kWorkspaceToml: return "ds.toml";
    case OriginKind::kDotenv: return ".env";
    case OriginKind::kEnvironment: return "environment";
    case OriginKind::kFlag: return "flag";
  }
  return "?";
}

std::span<const ConfigKey> ConfigKeys() { return kKeys; }

const ConfigKey* FindConfigKey(std::string_view name) {
  for (const ConfigKey& k : kKeys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

const ConfigKey* FindConfigKeyByEnvVar(std::string_view env_var) {
  for (const ConfigKey& k : kKeys) {
    if (k.env_var == env_var) return &k;
  }
  return nullptr;
}

ConfigLayer DefaultsLayer() {
  ConfigLayer layer{OriginKind::kDefault, {}};
  for (const ConfigKey& k : kKeys) {
    std::string value(k.default_value);
    std::string where = "built-in";
    if (k.name == "developer") {
      const char* user = std::getenv("USER");
      if (user && *user) {
        value = Slug(user);
        where = "$USER";
      } else if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name) {
        value = Slug(pw->pw_name);
        where = "login name";
      }
    }
    layer.entries.push_back({std::string(k.name), std::move(value), {OriginKind::kDefault, where}});
  }
  return layer;
}

ConfigLayer DotenvLayer(const std::vector<DotenvEntry>& entries,
                        const std::filesystem::path& file) {
  ConfigLayer layer{OriginKind::kDotenv, {}};
  for (const DotenvEntry& e : entries) {
    if (const ConfigKey* k = FindConfigKeyByEnvVar(e.key)) {
      layer.entries.push_back({std::string(k->name),
                               e.value,
                               {OriginKind::kDotenv, StrCat(file.string(), ":", e.line)}});
    }
  }
  return layer;
}

ConfigLayer EnvironmentLayer(const std::map<std::string, std::string>& vars) {
  ConfigLayer layer{OriginKind::kEnvironment, {}};
  for (const auto& [name, value] : vars) {
    if (const ConfigKey* k = FindConfigKeyByEnvVar(name)) {
      layer.entries.push_back({std::string(k->name), value, {OriginKind::kEnvironment, name}});
    }
  }
  return layer;
}

absl::StatusOr<ConfigLayer> FlagLayer(const std::map<std::string, std::string>& values) {
  ConfigLayer layer{OriginKind::kFlag, {}};
  for (const auto& [key, value] : values) {
    if (!FindConfigKey(key)) {
      return absl::InvalidArgumentError(
          StrCat("unknown config key '", key, "' in --set; ", UnknownConfigKeyHint()));
    }
    layer.entries.push_back({key, value, {OriginKind::kFlag, StrCat("--set ", key)}});
  }
  return layer;
}

std::map<std::string, std::string> ProcessDsEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv = *e;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = kv.substr(0, eq);
    // DS_* and the other variables config keys read (NEON_API_KEY, ...).
    if (!name.starts_with("DS_") && !FindConfigKeyByEnvVar(name)) continue;
    out.emplace(std::string(name), std::string(kv.substr(eq + 1)));
  }
  return out;
}

std::string_view SetDbCommand(DbRole role) {
  return role == DbRole::kSource ? "ds db set source-db" : "ds db set target-db";
}

std::string EffectiveProvider(const Config& config) {
  const std::string& p = config.Get("provider");
  if (p != "auto") return p;
  return config.Get("neon_api_key").empty() ? "local" : "neon";
}

Config Config::Build(std::span<const ConfigLayer> layers) {
  Config c;
  for (const ConfigKey& k : kKeys) {
    c.entries_.push_back({std::string(k.name), std::string(k.default_value), {}});
  }
  for (const ConfigLayer& layer : layers) {
    for (const ConfigEntry& e : layer.entries) {
      for (ConfigEntry& slot : c.entries_) {
        if (slot.key == e.key) {
          slot.value = e.value;
          slot.origin = e.origin;
        }
      }
    }
  }
  return c;
}

const std::string& Config::Get(std::string_view key) const {
  for (const ConfigEntry& e : entries_) {
    if (e.key == key) return e.value;
  }
  static const std::string kEmpty;
  return kEmpty;
}

const ConfigOrigin& Config::OriginOf(std::string_view key) const {
  for (const ConfigEntry& e : entries_) {
    if (e.key == key) return e.origin;
  }
  static const ConfigOrigin kNone;
  return kNone;
}

std::string BranchForStage(std::string_view pattern, std::string_view developer,
                           std::string_view stage) {
  // One pass over the pattern, so a "{stage}" inside the developer's name
  // is not replaced in turn.
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.substr(i).starts_with("{developer}")) {
      out.append(developer);
      i += 11;
    } else if (pattern.substr(i).starts_with("{stage}")) {
      out.append(stage);
      i += 7;
    } else {
      out.push_back(pattern[i++]);
    }
  }
  return out;
}

}  // namespace ds::common
