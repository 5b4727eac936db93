#include "common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status_testing.h"
#include "common/strings.h"

namespace ds::common {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Sets an environment variable for the life of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

const ConfigEntry* FindEntry(const ConfigLayer& layer, const std::string& key) {
  const ConfigEntry* found = nullptr;
  for (const ConfigEntry& e : layer.entries) {
    if (e.key == key) found = &e;
  }
  return found;
}

// ---------------------------------------------------------------------------
// The key table
// ---------------------------------------------------------------------------

TEST(ConfigKeysTest, LookupsAgree) {
  ASSERT_FALSE(ConfigKeys().empty());
  for (const ConfigKey& k : ConfigKeys()) {
    EXPECT_EQ(FindConfigKey(k.name), &k) << k.name;
    EXPECT_EQ(FindConfigKeyByEnvVar(k.env_var), &k) << k.env_var;
    if (!k.alias_env_var.empty()) {
      EXPECT_EQ(FindConfigKeyByEnvVar(k.alias_env_var), &k);
    }
    // DS_* for ds's own settings; the Neon ones read neonctl's variables.
    EXPECT_TRUE(k.env_var.starts_with("DS_") || k.env_var.starts_with("NEON_")) << k.env_var;
    EXPECT_EQ(k.secret, k.name == "neon_api_key") << k.name;
    EXPECT_FALSE(k.description.empty()) << k.name;
  }
}

TEST(ConfigKeysTest, ExpectedKeysExist) {
  for (const char* name : {"provider", "developer", "stage", "branch_pattern", "env_file",
                           "target_var", "source_var", "project", "log_level"}) {
    EXPECT_NE(FindConfigKey(name), nullptr) << name;
  }
  EXPECT_EQ(FindConfigKey("DS_STAGE"), nullptr) << "an env var name is not a key";
}

TEST(ConfigKeysTest, UnknownNamesNotFound) {
  EXPECT_EQ(FindConfigKey(""), nullptr);
  EXPECT_EQ(FindConfigKey("colour"), nullptr);
  EXPECT_EQ(FindConfigKey("Stage"), nullptr);
  EXPECT_EQ(FindConfigKeyByEnvVar("DS_COLOUR"), nullptr);
  EXPECT_EQ(FindConfigKeyByEnvVar("stage"), nullptr);
}

TEST(ConfigKeysTest, HintListsEveryKey) {
  std::string hint = UnknownConfigKeyHint();
  EXPECT_THAT(hint, HasSubstr("known keys"));
  for (const ConfigKey& k : ConfigKeys()) EXPECT_THAT(hint, HasSubstr(std::string(k.name)));
}

TEST(OriginKindNameTest, EveryKindNamed) {
  EXPECT_EQ(OriginKindName(OriginKind::kDefault), "default");
  EXPECT_EQ(OriginKindName(OriginKind::kFlag), "flag");
  EXPECT_EQ(OriginKindName(OriginKind::kEnvironment), "environment");
  std::vector<std::string> names;
  for (OriginKind k : {OriginKind::kDefault, OriginKind::kUserConfig, OriginKind::kWorkspaceToml,
                       OriginKind::kDotenv, OriginKind::kEnvironment, OriginKind::kFlag}) {
    std::string n(OriginKindName(k));
    EXPECT_NE(n, "?");
    EXPECT_FALSE(n.empty());
    for (const std::string& other : names) EXPECT_NE(n, other);
    names.push_back(n);
  }
}

// ---------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------

TEST(DefaultsLayerTest, BuiltInValues) {
  ConfigLayer d = DefaultsLayer();
  EXPECT_EQ(d.kind, OriginKind::kDefault);
  ASSERT_EQ(d.entries.size(), ConfigKeys().size());
  const ConfigEntry* stage = FindEntry(d, "stage");
  ASSERT_NE(stage, nullptr);
  EXPECT_EQ(stage->value, "local");
  EXPECT_EQ(stage->origin.kind, OriginKind::kDefault);
  EXPECT_EQ(FindEntry(d, "branch_pattern")->value, "dev-{developer}-{stage}");
  EXPECT_EQ(FindEntry(d, "env_file")->value, ".env");
  EXPECT_EQ(FindEntry(d, "target_var")->value, "DB_CONNECTION_STRING");
  EXPECT_EQ(FindEntry(d, "source_var")->value, "SOURCE_DB_CONNECTION_STRING");
  EXPECT_EQ(FindEntry(d, "provider")->value, "auto");
}

TEST(EffectiveProviderTest, AutoPicksNeonOnlyWhenAKeyIsSet) {
  std::vector<ConfigLayer> layers = {DefaultsLayer()};
  EXPECT_EQ(EffectiveProvider(Config::Build(layers)), "local");
  layers.push_back(EnvironmentLayer({{"NEON_API_KEY", "napi_x"}}));
  EXPECT_EQ(EffectiveProvider(Config::Build(layers)), "neon");
  layers.push_back(EnvironmentLayer({{"DS_PROVIDER", "local"}}));
  EXPECT_EQ(EffectiveProvider(Config::Build(layers)), "local");
}

TEST(DefaultsLayerTest, DeveloperFromUserIsSlugged) {
  ScopedEnv user("USER", "Phil O'Brien_2");
  ConfigLayer d = DefaultsLayer();
  const ConfigEntry* dev = FindEntry(d, "developer");
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->value, "phil-o-brien-2");
  EXPECT_EQ(dev->origin.kind, OriginKind::kDefault);
  EXPECT_EQ(dev->origin.location, "$USER");
}

TEST(DefaultsLayerTest, DeveloperFallsBackToLoginName) {
  ScopedEnv user("USER", nullptr);
  ConfigLayer d = DefaultsLayer();
  const ConfigEntry* dev = FindEntry(d, "developer");
  ASSERT_NE(dev, nullptr);
  EXPECT_FALSE(dev->value.empty());
  EXPECT_EQ(dev->origin.location, "login name");
  for (char c : dev->value) {
    EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') << dev->value;
  }
}

// ---------------------------------------------------------------------------
// TOML layer
// ---------------------------------------------------------------------------

TEST(TomlLayerTest, ScalarValuesWithFileAndLine) {
  absl::StatusOr<ConfigLayer> layer = TomlLayer(
      "# ds settings\n"
      "\n"
      "stage = \"ci\"\n"
      "developer = 'phil'\n"
      "\n"
      "project = 42\n"
      "log_level = \"debug\"\n",
      "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ(layer->kind, OriginKind::kWorkspaceToml);
  ASSERT_EQ(layer->entries.size(), 4u);
  const ConfigEntry* stage = FindEntry(*layer, "stage");
  ASSERT_NE(stage, nullptr);
  EXPECT_EQ(stage->value, "ci");
  EXPECT_EQ(stage->origin.kind, OriginKind::kWorkspaceToml);
  EXPECT_EQ(stage->origin.location, "/w/ds.toml:3");
  EXPECT_EQ(FindEntry(*layer, "developer")->value, "phil");
  EXPECT_EQ(FindEntry(*layer, "developer")->origin.location, "/w/ds.toml:4");
  EXPECT_EQ(FindEntry(*layer, "project")->value, "42");
  EXPECT_EQ(FindEntry(*layer, "project")->origin.location, "/w/ds.toml:6");
  EXPECT_EQ(FindEntry(*layer, "log_level")->value, "debug");
  EXPECT_EQ(FindEntry(*layer, "log_level")->origin.location, "/w/ds.toml:7");
}

TEST(TomlLayerTest, BooleansAreTrueAndFalse) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("project = true\nstage = false\n", "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ(FindEntry(*layer, "project")->value, "true");
  EXPECT_EQ(FindEntry(*layer, "stage")->value, "false");
}

TEST(TomlLayerTest, NegativeInteger) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("project = -7\n", "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ(FindEntry(*layer, "project")->value, "-7");
}

TEST(TomlLayerTest, UserConfigKind) {
  absl::StatusOr<ConfigLayer> layer = TomlLayer(
      "developer = \"phil\"\n", "/home/p/.config/ds/config.toml", OriginKind::kUserConfig);
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ(layer->kind, OriginKind::kUserConfig);
  ASSERT_EQ(layer->entries.size(), 1u);
  EXPECT_EQ(layer->entries[0].origin.kind, OriginKind::kUserConfig);
  EXPECT_EQ(layer->entries[0].origin.location, "/home/p/.config/ds/config.toml:1");
}

TEST(TomlLayerTest, EmptyAndCommentOnlyFiles) {
  for (const char* text : {"", "\n\n", "# nothing here\n"}) {
    absl::StatusOr<ConfigLayer> layer = TomlLayer(text, "/w/ds.toml", OriginKind::kWorkspaceToml);
    ASSERT_TRUE(layer.ok()) << layer.status();
    EXPECT_TRUE(layer->entries.empty());
  }
}

TEST(TomlLayerTest, UnknownKeyNamesFileLineAndKnownKeys) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("stage = \"ci\"\n\ncolour = \"blue\"\n", "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.status().code(), absl::StatusCode::kInvalidArgument);
  std::string msg = Msg(layer.status());
  EXPECT_THAT(msg, HasSubstr("/w/ds.toml:3"));
  EXPECT_THAT(msg, HasSubstr("colour"));
  EXPECT_THAT(msg, HasSubstr("known keys"));
  for (const ConfigKey& k : ConfigKeys()) EXPECT_THAT(msg, HasSubstr(std::string(k.name)));
}

TEST(TomlLayerTest, EnvVarNameIsNotAKey) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("DS_STAGE = \"ci\"\n", "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_FALSE(layer.ok());
  EXPECT_THAT(Msg(layer.status()), HasSubstr("DS_STAGE"));
}

TEST(TomlLayerTest, NestedTableOfUnknownKeysIsUnknownKey) {
  // No key of the table has a dot in it (yet), so [neon] api_host is unknown.
  absl::StatusOr<ConfigLayer> layer = TomlLayer("stage = \"ci\"\n[neon]\napi_host = \"x\"\n",
                                                "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_FALSE(layer.ok());
  std::string msg = Msg(layer.status());
  EXPECT_THAT(msg, HasSubstr("neon.api_host"));
  EXPECT_THAT(msg, HasSubstr("/w/ds.toml:3"));
  EXPECT_THAT(msg, HasSubstr("known keys"));
}

TEST(TomlLayerTest, DottedKeyIsUnknownKey) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("neon.api_host = \"x\"\n", "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_FALSE(layer.ok());
  EXPECT_THAT(Msg(layer.status()), HasSubstr("neon.api_host"));
}

TEST(TomlLayerTest, TableNamedLikeAKeyIsNotThatKey) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("[stage]\nname = \"ci\"\n", "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_FALSE(layer.ok());
  EXPECT_THAT(Msg(layer.status()), HasSubstr("stage.name"));
}

TEST(TomlLayerTest, ArrayValueIsError) {
  absl::StatusOr<ConfigLayer> layer = TomlLayer("stage = \"ci\"\ndeveloper = [\"a\", \"b\"]\n",
                                                "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.status().code(), absl::StatusCode::kInvalidArgument);
  std::string msg = Msg(layer.status());
  EXPECT_THAT(msg, HasSubstr("/w/ds.toml:2"));
  EXPECT_THAT(msg, HasSubstr("developer"));
  EXPECT_THAT(msg, HasSubstr("string"));
}

TEST(TomlLayerTest, InlineTableValueIsError) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("stage = { name = \"ci\" }\n", "/w/ds.toml", OriginKind::kWorkspaceToml);
  EXPECT_FALSE(layer.ok());
}

TEST(TomlLayerTest, DateValueIsError) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("\nstage = 2024-01-02\n", "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_FALSE(layer.ok());
  EXPECT_THAT(Msg(layer.status()), HasSubstr("/w/ds.toml:2"));
}

TEST(TomlLayerTest, SyntaxErrorNamesLine) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("stage = \"ci\"\ndeveloper = \"phil\"\nproject = \n", "/w/ds.toml",
                OriginKind::kWorkspaceToml);
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.status().code(), absl::StatusCode::kInvalidArgument);
  std::string msg = Msg(layer.status());
  EXPECT_THAT(msg, HasSubstr("/w/ds.toml:3"));
  EXPECT_THAT(msg, HasSubstr("TOML"));
}

TEST(TomlLayerTest, UnterminatedStringNamesLine) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("\n\nstage = \"ci\n", "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_FALSE(layer.ok());
  EXPECT_THAT(Msg(layer.status()), HasSubstr("/w/ds.toml:3"));
}

TEST(TomlLayerTest, DuplicateKeyIsError) {
  absl::StatusOr<ConfigLayer> layer =
      TomlLayer("stage = \"a\"\nstage = \"b\"\n", "/w/ds.toml", OriginKind::kWorkspaceToml);
  ASSERT_FALSE(layer.ok());
  EXPECT_THAT(Msg(layer.status()), HasSubstr("/w/ds.toml:2"));
}

// ---------------------------------------------------------------------------
// .env, environment and flag layers
// ---------------------------------------------------------------------------

TEST(DotenvLayerTest, TakesOnlyKnownDsVariables) {
  std::vector<DotenvEntry> entries = {
      {"DB_CONNECTION_STRING", "postgresql://h/db", 1},
      {"DS_STAGE", "ci", 2},
      {"DS_UNKNOWN_THING", "x", 3},
      {"stage", "not-this", 4},
      {"DS_PROJECT", "proj", 5},
  };
  ConfigLayer layer = DotenvLayer(entries, "/w/.env");
  EXPECT_EQ(layer.kind, OriginKind::kDotenv);
  ASSERT_EQ(layer.entries.size(), 2u);
  EXPECT_EQ(layer.entries[0].key, "stage");
  EXPECT_EQ(layer.entries[0].value, "ci");
  EXPECT_EQ(layer.entries[0].origin.kind, OriginKind::kDotenv);
  EXPECT_EQ(layer.entries[0].origin.location, "/w/.env:2");
  EXPECT_EQ(layer.entries[1].key, "project");
  EXPECT_EQ(layer.entries[1].origin.location, "/w/.env:5");
}

TEST(DotenvLayerTest, LastDuplicateWinsWhenBuilt) {
  std::vector<DotenvEntry> entries = {{"DS_STAGE", "first", 1}, {"DS_STAGE", "second", 7}};
  ConfigLayer layers[] = {DefaultsLayer(), DotenvLayer(entries, "/w/.env")};
  Config c = Config::Build(layers);
  EXPECT_EQ(c.Get("stage"), "second");
  EXPECT_EQ(c.OriginOf("stage").location, "/w/.env:7");
}

TEST(EnvironmentLayerTest, IgnoresUnknownAndNonDsVariables) {
  ConfigLayer layer = EnvironmentLayer({{"DS_STAGE", "ci"},
                                        {"DS_NOT_A_KEY", "x"},
                                        {"DS_", "y"},
                                        {"HOME", "/root"},
                                        {"stage", "config-name-is-not-an-env-var"}});
  EXPECT_EQ(layer.kind, OriginKind::kEnvironment);
  ASSERT_EQ(layer.entries.size(), 1u);
  EXPECT_EQ(layer.entries[0].key, "stage");
  EXPECT_EQ(layer.entries[0].value, "ci");
  EXPECT_EQ(layer.entries[0].origin.kind, OriginKind::kEnvironment);
  EXPECT_EQ(layer.entries[0].origin.location, "DS_STAGE");
}

// The seed names the stage DEVSTRIDE_STAGE; ds's own DS_STAGE wins over it
// in the same layer, whatever the order the variables come in.
TEST(EnvironmentLayerTest, StageAliasReadAndOverriddenByDsStage) {
  ConfigLayer alias_only = EnvironmentLayer({{"DEVSTRIDE_STAGE", "qa"}});
  ASSERT_EQ(alias_only.entries.size(), 1u);
  EXPECT_EQ(alias_only.entries[0].key, "stage");
  EXPECT_EQ(alias_only.entries[0].origin.location, "DEVSTRIDE_STAGE");
  ConfigLayer layers[] = {EnvironmentLayer({{"DS_STAGE", "ci"}, {"DEVSTRIDE_STAGE", "qa"}})};
  Config c = Config::Build(layers);
  EXPECT_EQ(c.Get("stage"), "ci");
  EXPECT_EQ(c.OriginOf("stage").location, "DS_STAGE");
}

TEST(DotenvLayerTest, StageAliasLosesToDsStageWhateverTheOrder) {
  std::vector<DotenvEntry> entries = {{"DS_STAGE", "ci", 1}, {"DEVSTRIDE_STAGE", "qa", 2}};
  ConfigLayer layers[] = {DotenvLayer(entries, "/w/.env")};
  Config c = Config::Build(layers);
  EXPECT_EQ(c.Get("stage"), "ci");
  EXPECT_EQ(c.OriginOf("stage").location, "/w/.env:1");
}

TEST(EnvironmentLayerTest, EmptyValueStillCounts) {
  ConfigLayer layer = EnvironmentLayer({{"DS_PROJECT", ""}});
  ASSERT_EQ(layer.entries.size(), 1u);
  EXPECT_EQ(layer.entries[0].value, "");
}

TEST(FlagLayerTest, KnownKeys) {
  absl::StatusOr<ConfigLayer> layer = FlagLayer({{"stage", "ci"}, {"developer", "phil"}});
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ(layer->kind, OriginKind::kFlag);
  ASSERT_EQ(layer->entries.size(), 2u);
  const ConfigEntry* stage = FindEntry(*layer, "stage");
  ASSERT_NE(stage, nullptr);
  EXPECT_EQ(stage->value, "ci");
  EXPECT_EQ(stage->origin.kind, OriginKind::kFlag);
  EXPECT_THAT(stage->origin.location, HasSubstr("stage"));
}

TEST(FlagLayerTest, UnknownKeyRejected) {
  absl::StatusOr<ConfigLayer> layer = FlagLayer({{"stage", "ci"}, {"colour", "blue"}});
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.status().code(), absl::StatusCode::kInvalidArgument);
  std::string msg = Msg(layer.status());
  EXPECT_THAT(msg, HasSubstr("colour"));
  EXPECT_THAT(msg, HasSubstr("known keys"));
}

TEST(FlagLayerTest, EnvVarNameRejected) {
  absl::StatusOr<ConfigLayer> layer = FlagLayer({{"DS_STAGE", "ci"}});
  ASSERT_FALSE(layer.ok());
  EXPECT_THAT(Msg(layer.status()), HasSubstr("DS_STAGE"));
}

TEST(FlagLayerTest, EmptyIsFine) {
  absl::StatusOr<ConfigLayer> layer = FlagLayer({});
  ASSERT_TRUE(layer.ok());
  EXPECT_TRUE(layer->entries.empty());
}

TEST(ProcessDsEnvironmentTest, ReturnsOnlyDsVariables) {
  ScopedEnv a("DS_STAGE", "from-process");
  ScopedEnv b("DS_SOMETHING_ELSE", "x=y");
  ScopedEnv c("NOT_DS_STAGE", "no");
  std::map<std::string, std::string> env = ProcessDsEnvironment();
  EXPECT_EQ(env["DS_STAGE"], "from-process");
  EXPECT_EQ(env["DS_SOMETHING_ELSE"], "x=y");
  EXPECT_EQ(env.count("NOT_DS_STAGE"), 0u);
  EXPECT_EQ(env.count("PATH"), 0u);
  for (const auto& [k, v] : env) {
    EXPECT_TRUE(k.starts_with("DS_") || FindConfigKeyByEnvVar(k) || IsForwardedCredential(k)) << k;
  }
}

TEST(ProcessDsEnvironmentTest, ForwardsTheCloudCredentials) {
  ScopedEnv a("AWS_SECRET_ACCESS_KEY", "s");
  ScopedEnv b("STRIPE_SECRET_KEY", "sk_test_x");
  ScopedEnv c("GITHUB_TOKEN", "ghp_x");
  ScopedEnv d("GITHUB_REPOSITORY", "not-ours");  // Actions sets it; not a credential
  std::map<std::string, std::string> env = ProcessDsEnvironment();
  EXPECT_EQ(env["AWS_SECRET_ACCESS_KEY"], "s");
  EXPECT_EQ(env["STRIPE_SECRET_KEY"], "sk_test_x");
  EXPECT_EQ(env["GITHUB_TOKEN"], "ghp_x");
  EXPECT_EQ(env.count("GITHUB_REPOSITORY"), 0u);
}

TEST(ExternalCredentialsTest, TheCallerWinsOverTheDotenv) {
  std::vector<DotenvEntry> dotenv = {{"AWS_REGION", "eu-west-1", 1},
                                     {"GITHUB_TOKEN", "from-env-file", 2},
                                     {"DB_CONNECTION_STRING", "postgres://x", 3}};
  std::map<std::string, std::string> out =
      ExternalCredentials({{"GITHUB_TOKEN", "from-shell"}, {"DS_STAGE", "x"}}, dotenv);
  EXPECT_EQ(out, (std::map<std::string, std::string>{{"AWS_REGION", "eu-west-1"},
                                                     {"GITHUB_TOKEN", "from-shell"}}));
}

// ---------------------------------------------------------------------------
// Stacking
// ---------------------------------------------------------------------------

class ConfigPrecedenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Each key is set by every layer from the bottom up to some layer, so
    // the expected winner differs per key.
    absl::StatusOr<ConfigLayer> user = TomlLayer(
        "stage = \"u\"\n"
        "branch_pattern = \"u\"\n"
        "project = \"u\"\n"
        "target_var = \"u\"\n"
        "source_var = \"u\"\n",
        "/home/p/.config/ds/config.toml", OriginKind::kUserConfig);
    ASSERT_TRUE(user.ok()) << user.status();
    absl::StatusOr<ConfigLayer> ws = TomlLayer(
        "stage = \"w\"\n"
        "branch_pattern = \"w\"\n"
        "project = \"w\"\n"
        "target_var = \"w\"\n",
        "/w/ds.toml", OriginKind::kWorkspaceToml);
    ASSERT_TRUE(ws.ok()) << ws.status();
    ConfigLayer dotenv = DotenvLayer(
        {{"DS_STAGE", "d", 1}, {"DS_BRANCH_PATTERN", "d", 2}, {"DS_PROJECT", "d", 3}}, "/w/.env");
    ConfigLayer env = EnvironmentLayer({{"DS_STAGE", "e"}, {"DS_BRANCH_PATTERN", "e"}});
    absl::StatusOr<ConfigLayer> flags = FlagLayer({{"stage", "f"}});
    ASSERT_TRUE(flags.ok()) << flags.status();
    layers_ = {DefaultsLayer(), *user, *ws, dotenv, env, *flags};
  }
  std::vector<ConfigLayer> layers_;
};

TEST_F(ConfigPrecedenceTest, EachLayerWinsOverThoseBelow) {
  Config c = Config::Build(layers_);

  EXPECT_EQ(c.Get("stage"), "f");
  EXPECT_EQ(c.OriginOf("stage").kind, OriginKind::kFlag);

  EXPECT_EQ(c.Get("branch_pattern"), "e");
  EXPECT_EQ(c.OriginOf("branch_pattern").kind, OriginKind::kEnvironment);
  EXPECT_EQ(c.OriginOf("branch_pattern").location, "DS_BRANCH_PATTERN");

  EXPECT_EQ(c.Get("project"), "d");
  EXPECT_EQ(c.OriginOf("project").kind, OriginKind::kDotenv);
  EXPECT_EQ(c.OriginOf("project").location, "/w/.env:3");

  EXPECT_EQ(c.Get("target_var"), "w");
  EXPECT_EQ(c.OriginOf("target_var").kind, OriginKind::kWorkspaceToml);
  EXPECT_EQ(c.OriginOf("target_var").location, "/w/ds.toml:4");

  EXPECT_EQ(c.Get("source_var"), "u");
  EXPECT_EQ(c.OriginOf("source_var").kind, OriginKind::kUserConfig);
  EXPECT_EQ(c.OriginOf("source_var").location, "/home/p/.config/ds/config.toml:5");

  EXPECT_EQ(c.Get("log_level"), "info");
  EXPECT_EQ(c.OriginOf("log_level").kind, OriginKind::kDefault);
  EXPECT_EQ(c.OriginOf("log_level").location, "built-in");
}

TEST_F(ConfigPrecedenceTest, EntriesInTableOrderOnePerKey) {
  Config c = Config::Build(layers_);
  ASSERT_EQ(c.entries().size(), ConfigKeys().size());
  for (size_t i = 0; i < ConfigKeys().size(); ++i) {
    EXPECT_EQ(c.entries()[i].key, ConfigKeys()[i].name);
    EXPECT_EQ(c.entries()[i].value, c.Get(c.entries()[i].key));
  }
}

TEST_F(ConfigPrecedenceTest, RemovingTopLayerExposesNext) {
  layers_.pop_back();  // no flags
  Config c = Config::Build(layers_);
  EXPECT_EQ(c.Get("stage"), "e");
  EXPECT_EQ(c.OriginOf("stage").location, "DS_STAGE");
  layers_.pop_back();  // no environment
  c = Config::Build(layers_);
  EXPECT_EQ(c.Get("stage"), "d");
  EXPECT_EQ(c.OriginOf("stage").location, "/w/.env:1");
  layers_.pop_back();  // no .env
  c = Config::Build(layers_);
  EXPECT_EQ(c.Get("stage"), "w");
  EXPECT_EQ(c.OriginOf("stage").location, "/w/ds.toml:1");
  layers_.pop_back();  // no ds.toml
  c = Config::Build(layers_);
  EXPECT_EQ(c.Get("stage"), "u");
  EXPECT_EQ(c.OriginOf("stage").location, "/home/p/.config/ds/config.toml:1");
  layers_.pop_back();  // no user config
  c = Config::Build(layers_);
  EXPECT_EQ(c.Get("stage"), "local");
  EXPECT_EQ(c.OriginOf("stage").kind, OriginKind::kDefault);
}

TEST(ConfigTest, EmptyValueFromHigherLayerStillOverrides) {
  ConfigLayer layers[] = {DefaultsLayer(), EnvironmentLayer({{"DS_ENV_FILE", ""}})};
  Config c = Config::Build(layers);
  EXPECT_EQ(c.Get("env_file"), "");
  EXPECT_EQ(c.OriginOf("env_file").kind, OriginKind::kEnvironment);
}

TEST(ConfigTest, BuildWithoutLayersGivesBuiltInDefaults) {
  Config c = Config::Build({});
  EXPECT_EQ(c.Get("stage"), "local");
  EXPECT_EQ(c.Get("target_var"), "DB_CONNECTION_STRING");
  EXPECT_EQ(c.OriginOf("stage").kind, OriginKind::kDefault);
}

TEST(ConfigTest, UnknownKeyGetsEmpty) {
  Config c = Config::Build({});
  EXPECT_EQ(c.Get("colour"), "");
  EXPECT_EQ(c.OriginOf("colour").kind, OriginKind::kDefault);
}

// ---------------------------------------------------------------------------
// Values checked where they are read
// ---------------------------------------------------------------------------

TEST(CheckConfigTest, TomlNamesFileLineValueAndAllowedValues) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"stage = \"ci\"\nneon_refresh_seconds = \"abc\"\n",
       "/w/ds.toml:2: neon_refresh_seconds = \"abc\" is not a whole number of seconds from 10 "
       "to 86400"},
      {"neon_refresh_seconds = 9\n", "/w/ds.toml:1: neon_refresh_seconds = \"9\" is not"},
      {"neon_refresh_seconds = 60.5\n", "neon_refresh_seconds = \"60.5\" is not"},
      {"log_level = \"verbose\"\n",
       "/w/ds.toml:1: log_level = \"verbose\" is not one of debug, info, warning, error"},
      {"\nbranch_pattern = \"{nope}-{stage}\"\n",
       "/w/ds.toml:2: branch_pattern = \"{nope}-{stage}\" has the unknown placeholder {nope}; "
       "placeholders: {developer}, {stage}"},
      {"branch_pattern = \"dev-{developer\"\n", "'{' that is never closed"},
      {"branch_pattern = \"dev-}\"\n", "'}' without its '{'"},
      {"provider = \"oracle\"\n",
       "/w/ds.toml:1: provider = \"oracle\" is not one of auto, local, neon"},
      {"target_var = \"DB URL\"\n", "target_var = \"DB URL\" is not a .env variable name"},
      {"neon_api_host = \"console.neon.tech\"\n", "is not an http:// or https:// URL"},
      {"stage = \"\"\n", "/w/ds.toml:1: stage = \"\" is empty"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ConfigLayer> layer = TomlLayer(c.text, "/w/ds.toml", OriginKind::kWorkspaceToml);
    ASSERT_FALSE(layer.ok()) << c.text;
    EXPECT_EQ(layer.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Msg(layer.status()), HasSubstr(c.want)) << c.text;
  }
}

TEST(CheckConfigTest, GoodValuesPass) {
  absl::StatusOr<ConfigLayer> layer = TomlLayer(
      "provider = \"neon\"\nneon_refresh_seconds = 10\nlog_level = \"WARN\"\n"
      "branch_pattern = \"{stage}/{developer}-{stage}\"\ntarget_var = \"DATABASE_URL\"\n"
      "neon_api_host = \"http://127.0.0.1:4000/api/v2\"\nneon_org_id = \"\"\n",
      "/w/ds.toml", OriginKind::kWorkspaceToml);
  EXPECT_TRUE(layer.ok()) << layer.status();
  for (const ConfigKey& k : ConfigKeys()) {
    if (k.name == "developer") continue;  // its default comes from $USER
    EXPECT_TRUE(CheckConfigValue(k, k.default_value, "built-in").ok()) << k.name;
  }
}

TEST(CheckConfigTest, FlagsEnvironmentAndDotenvNameTheirOrigin) {
  absl::StatusOr<ConfigLayer> flags = FlagLayer({{"provider", "oracle"}});
  ASSERT_FALSE(flags.ok());
  EXPECT_THAT(Msg(flags.status()),
              HasSubstr("--set provider: provider = \"oracle\" is not one of"));
  absl::Status s = CheckConfigLayer(EnvironmentLayer({{"DS_LOG_LEVEL", "verbose"}}));
  EXPECT_THAT(Msg(s), HasSubstr("DS_LOG_LEVEL: log_level = \"verbose\""));
  s = CheckConfigLayer(DotenvLayer({{"DS_NEON_REFRESH_SECONDS", "soon", 4}}, "/w/.env"));
  EXPECT_THAT(Msg(s), HasSubstr("/w/.env:4: neon_refresh_seconds = \"soon\""));
  EXPECT_TRUE(CheckConfigLayer(EnvironmentLayer({{"DS_PROJECT", ""}})).ok());
}

// ---------------------------------------------------------------------------
// BranchForStage
// ---------------------------------------------------------------------------

TEST(BranchForStageTest, DefaultPattern) {
  EXPECT_EQ(BranchForStage("dev-{developer}-{stage}", "phil", "local"), "dev-phil-local");
}

TEST(BranchForStageTest, RepeatedAndMissingPlaceholders) {
  EXPECT_EQ(BranchForStage("{stage}/{developer}/{stage}", "ann", "ci"), "ci/ann/ci");
  EXPECT_EQ(BranchForStage("main", "ann", "ci"), "main");
  EXPECT_EQ(BranchForStage("{stage}", "ann", "preview"), "preview");
  EXPECT_EQ(BranchForStage("", "ann", "ci"), "");
}

TEST(BranchForStageTest, OtherBracesKept) {
  EXPECT_EQ(BranchForStage("{team}-{developer}", "ann", "ci"), "{team}-ann");
  EXPECT_EQ(BranchForStage("{developer", "ann", "ci"), "{developer");
}

TEST(BranchForStageTest, EmptyDeveloper) {
  EXPECT_EQ(BranchForStage("dev-{developer}-{stage}", "", "ci"), "dev--ci");
}

}  // namespace
}  // namespace ds::common
