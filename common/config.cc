#include "common/config.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <initializer_list>

#include "absl/strings/ascii.h"
#include "common/log.h"
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
    {"stage", "DS_STAGE", "local",
     "default stage for --target, and the stage a reset's external steps act on (also read "
     "from DEVSTRIDE_STAGE)",
     /*secret=*/false, "DEVSTRIDE_STAGE"},
    {"organization", "DS_ORGANIZATION", "",
     "organization id that `ds db reset` and `ds db copy-org` copy by default (-o)"},
    {"org_root_table", "DS_ORG_ROOT_TABLE", "public.organizations",
     "the organization copy's root table (schema.table): the row whose id -o names"},
    {"org_root_column", "DS_ORG_ROOT_COLUMN", "id", "the root table's column that -o matches"},
    {"org_copy_skip_down", "DS_ORG_COPY_SKIP_DOWN", "",
     "FK constraints (name, table.name or schema.table.name; comma-separated) the copy does not "
     "follow from parent to child"},
    {"org_copy_follow_down", "DS_ORG_COPY_FOLLOW_DOWN", "",
     "nullable FK constraints the copy follows from parent to child as if NOT NULL "
     "(comma-separated)"},
    {"reset_keep_schemas", "DS_RESET_KEEP_SCHEMAS", "",
     "schemas `ds db reset` keeps, comma-separated (it drops every other user schema)"},
    {"protected_projects", "DS_PROTECTED_PROJECTS", "",
     "projects (ids or names, comma-separated) whose branches `ds db reset` and `ds db "
     "copy-org` never write to"},
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
    {"cognito_user_pool_id", "DS_COGNITO_USER_POOL_ID", "",
     "the stage's Cognito user pool, emptied by `ds db reset` ({stage} is replaced; unset: the "
     "reset skips Cognito)"},
    {"cognito_production_markers", "DS_COGNITO_PRODUCTION_MARKERS", "prod,production",
     "words that mark a Cognito pool as production in its name or tag values: the reset refuses "
     "such a pool (comma-separated; empty: no check)"},
    {"aws_region", "DS_AWS_REGION", "",
     "AWS region of the Cognito pool (default: AWS_REGION, then the AWS profile's region)"},
    {"stripe_seed_file", "DS_STRIPE_SEED_FILE", "",
     "JSON file of Stripe products and prices that `ds db reset` creates when missing, relative "
     "to the workspace (unset: the reset skips Stripe)"},
    {"github_repository", "DS_GITHUB_REPOSITORY", "",
     "owner/name of the GitHub repository whose workflow `ds db refresh-staging` runs"},
    {"refresh_staging_workflow", "DS_REFRESH_STAGING_WORKFLOW", "refresh-staging.yml",
     "the workflow `ds db refresh-staging` dispatches: file name or numeric id"},
    {"refresh_staging_ref", "DS_REFRESH_STAGING_REF", "main",
     "git ref the refresh-staging workflow runs on"},
    {"demo_organization", "DS_DEMO_ORGANIZATION", "",
     "organization `ds db refresh-staging` copies into staging when -o is not given"},
    {"log_level", "DS_LOG_LEVEL", "info",
     "dsd's log level: debug, info, warning, error (dsd reads it at start from the user config "
     "or its own environment; one dsd serves every workspace, so ds.toml, .env and --set do not "
     "change it)"},
};

// What is wrong with a value, as the end of "<where>: <key> = "<value>" ...";
// empty when the value is fine. One rule per key that has one.
std::string OneOf(std::string_view value, std::initializer_list<std::string_view> allowed) {
  for (std::string_view a : allowed) {
    if (value == a) return "";
  }
  return StrCat("is not one of ", Join(std::vector<std::string_view>(allowed), ", "));
}

std::string NotEmpty(std::string_view value) {
  return value.empty() ? "is empty; give a value or remove the setting" : "";
}

std::string PatternProblem(std::string_view pattern) {
  if (pattern.empty()) return "is empty; the default is dev-{developer}-{stage}";
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '}') return "has a '}' without its '{'; placeholders: {developer}, {stage}";
    if (pattern[i] != '{') continue;
    size_t close = pattern.find('}', i);
    if (close == std::string_view::npos) {
      return "has a '{' that is never closed; placeholders: {developer}, {stage}";
    }
    std::string_view name = pattern.substr(i, close - i + 1);
    if (name != "{developer}" && name != "{stage}") {
      return StrCat("has the unknown placeholder ", name, "; placeholders: {developer}, {stage}");
    }
    i = close;
  }
  return "";
}

// dotenv's key characters ([\w.-]), as WriteDotenvValue accepts them.
std::string DotenvKeyProblem(std::string_view key) {
  if (key.empty()) return "is empty; give the .env variable's name";
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return "is not a .env variable name (letters, digits, _, . and - only)";
    }
  }
  return "";
}

std::string RefreshSecondsProblem(std::string_view value) {
  constexpr std::string_view kWant = "is not a whole number of seconds from 10 to 86400";
  if (value.empty() || value.size() > 6) return std::string(kWant);
  int seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 10 || seconds > 86400) {
    return std::string(kWant);
  }
  return "";
}

std::string ValueProblem(std::string_view key, std::string_view value) {
  if (key == "provider") return OneOf(value, {"auto", "local", "neon"});
  if (key == "log_level") {
    return ParseLogLevel(value) ? "" : "is not one of debug, info, warning, error";
  }
  if (key == "neon_refresh_seconds") return RefreshSecondsProblem(value);
  if (key == "branch_pattern") return PatternProblem(value);
  if (key == "target_var" || key == "source_var") return DotenvKeyProblem(value);
  if (key == "neon_api_host") {
    if (value.starts_with("https://") || value.starts_with("http://")) return "";
    return "is not an http:// or https:// URL";
  }
  if (key == "stage" || key == "env_file" || key == "local_project" || key == "migrations_schema" ||
      key == "migrations_table") {
    return NotEmpty(value);
  }
  return "";  // free text: developer, project, neon_org_id, migrations_dir
}

}  // namespace

absl::Status CheckConfigValue(const ConfigKey& key, std::string_view value,
                              std::string_view location) {
  std::string problem = ValueProblem(key.name, value);
  if (problem.empty()) return absl::OkStatus();
  std::string shown = key.secret ? std::string("****") : JsonQuote(value);
  return absl::InvalidArgumentError(StrCat(location, ": ", key.name, " = ", shown, " ", problem));
}

absl::Status CheckConfigLayer(const ConfigLayer& layer) {
  for (const ConfigEntry& e : layer.entries) {
    const ConfigKey* key = FindConfigKey(e.key);
    if (key == nullptr) continue;  // layers hold known keys only
    if (absl::Status s = CheckConfigValue(*key, e.value, e.origin.location); !s.ok()) return s;
  }
  return absl::OkStatus();
}

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
    if (k.env_var == env_var || (!k.alias_env_var.empty() && k.alias_env_var == env_var)) {
      return &k;
    }
  }
  return nullptr;
}

namespace {

// A key's own variable wins over its alias when a layer holds both:
// Config::Build lets later entries override, so aliases go first.
void OrderAliasesFirst(ConfigLayer& layer, const std::vector<std::string_view>& vars) {
  std::vector<size_t> order(layer.entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto is_alias = [&](size_t i) {
    const ConfigKey* k = FindConfigKey(layer.entries[i].key);
    return k && k->env_var != vars[i];
  };
  std::stable_partition(order.begin(), order.end(), is_alias);
  std::vector<ConfigEntry> sorted;
  for (size_t i : order) sorted.push_back(std::move(layer.entries[i]));
  layer.entries = std::move(sorted);
}

}  // namespace

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
  std::vector<std::string_view> vars;
  for (const DotenvEntry& e : entries) {
    if (const ConfigKey* k = FindConfigKeyByEnvVar(e.key)) {
      layer.entries.push_back({std::string(k->name),
                               e.value,
                               {OriginKind::kDotenv, StrCat(file.string(), ":", e.line)}});
      vars.push_back(e.key);
    }
  }
  OrderAliasesFirst(layer, vars);
  return layer;
}

ConfigLayer EnvironmentLayer(const std::map<std::string, std::string>& vars) {
  ConfigLayer layer{OriginKind::kEnvironment, {}};
  std::vector<std::string_view> names;
  for (const auto& [name, value] : vars) {
    if (const ConfigKey* k = FindConfigKeyByEnvVar(name)) {
      layer.entries.push_back({std::string(k->name), value, {OriginKind::kEnvironment, name}});
      names.push_back(name);
    }
  }
  OrderAliasesFirst(layer, names);
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
  if (absl::Status s = CheckConfigLayer(layer); !s.ok()) return s;
  return layer;
}

bool IsForwardedCredential(std::string_view env_var) {
  return env_var.starts_with("AWS_") || env_var.starts_with("STRIPE_") ||
         env_var == "GITHUB_TOKEN" || env_var == "GITHUB_API_URL";
}

std::map<std::string, std::string> ExternalCredentials(
    const std::map<std::string, std::string>& caller_env, const std::vector<DotenvEntry>& dotenv) {
  std::map<std::string, std::string> out;
  for (const DotenvEntry& e : dotenv) {
    if (IsForwardedCredential(e.key)) out[e.key] = e.value;
  }
  // The caller's shell wins over the .env, as for every other setting.
  for (const auto& [name, value] : caller_env) {
    if (IsForwardedCredential(name)) out[name] = value;
  }
  return out;
}

std::map<std::string, std::string> ProcessDsEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv = *e;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = kv.substr(0, eq);
    // DS_* and the other variables config keys read (NEON_API_KEY, ...),
    // and the cloud credentials external steps use.
    if (!name.starts_with("DS_") && !FindConfigKeyByEnvVar(name) && !IsForwardedCredential(name)) {
      continue;
    }
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
