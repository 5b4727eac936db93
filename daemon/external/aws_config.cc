#include "daemon/external/aws_config.h"

#include <fstream>
#include <sstream>

#include "common/strings.h"

namespace ds::daemon::external {

std::string EnvValue(const Env& env, std::string_view name) {
  auto it = env.find(std::string(name));
  return it == env.end() ? std::string() : it->second;
}

namespace {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Profile(const Env& env) {
  std::string p = EnvValue(env, "AWS_PROFILE");
  return p.empty() ? "default" : p;
}

std::string CredentialsFile(const Env& env, const std::string& home) {
  std::string f = EnvValue(env, "AWS_SHARED_CREDENTIALS_FILE");
  return f.empty() ? StrCat(home, "/.aws/credentials") : f;
}

std::string ConfigFile(const Env& env, const std::string& home) {
  std::string f = EnvValue(env, "AWS_CONFIG_FILE");
  return f.empty() ? StrCat(home, "/.aws/config") : f;
}

}  // namespace

std::map<std::string, std::map<std::string, std::string>> ParseAwsIni(std::string_view text) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::string section;
  for (std::string_view line : Split(text, '\n')) {
    line = TrimAsciiWhitespace(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = std::string(TrimAsciiWhitespace(line.substr(1, line.size() - 2)));
      out[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || section.empty()) continue;
    out[section][AsciiToLower(TrimAsciiWhitespace(line.substr(0, eq)))] =
        std::string(TrimAsciiWhitespace(line.substr(eq + 1)));
  }
  return out;
}

absl::StatusOr<AwsCredentials> AwsCredentialsFromFile(std::string_view text,
                                                      const std::string& file,
                                                      const std::string& profile) {
  auto ini = ParseAwsIni(text);
  auto it = ini.find(profile);
  if (it != ini.end()) {
    AwsCredentials c;
    c.access_key_id = it->second["aws_access_key_id"];
    c.secret_access_key = it->second["aws_secret_access_key"];
    c.session_token = it->second["aws_session_token"];
    if (!c.access_key_id.empty() && !c.secret_access_key.empty()) {
      c.source = StrCat(file, " [", profile, "]");
      return c;
    }
    return absl::InvalidArgumentError(
        StrCat("profile [", profile, "] in ", file,
               " lacks aws_access_key_id or aws_secret_access_key; complete it or set "
               "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
  }
  return absl::NotFoundError(StrCat(
      "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set and ", file,
      " has no profile [", profile,
      "]; the Cognito step needs them to delete the stage's users (export them where you run "
      "ds, put them in the workspace .env, or run `aws configure`)"));
}

absl::StatusOr<AwsCredentials> FindAwsCredentials(const Env& env, const std::string& home) {
  AwsCredentials c;
  c.access_key_id = EnvValue(env, "AWS_ACCESS_KEY_ID");
  c.secret_access_key = EnvValue(env, "AWS_SECRET_ACCESS_KEY");
  if (!c.access_key_id.empty() || !c.secret_access_key.empty()) {
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
      return absl::InvalidArgumentError(StrCat(
          c.access_key_id.empty() ? "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"
                                  : "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
          "; set both (the Cognito step signs its requests with them), or neither to use "
          "~/.aws/credentials"));
    }
    c.session_token = EnvValue(env, "AWS_SESSION_TOKEN");
    c.source = "AWS_ACCESS_KEY_ID";
    return c;
  }
  const std::string file = CredentialsFile(env, home);
  return AwsCredentialsFromFile(ReadFileOrEmpty(file), file, Profile(env));
}

absl::StatusOr<std::string> FindAwsRegion(const common::Config& config, const Env& env,
                                          const std::string& home) {
  if (!config.Get("aws_region").empty()) return config.Get("aws_region");
  for (std::string_view var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (std::string v = EnvValue(env, var); !v.empty()) return v;
  }
  const std::string profile = Profile(env);
  auto ini = ParseAwsIni(ReadFileOrEmpty(ConfigFile(env, home)));
  // ~/.aws/config names profiles "[profile x]", except "[default]".
  auto it = ini.find(profile == "default" ? profile : StrCat("profile ", profile));
  if (it != ini.end() && !it->second["region"].empty()) return it->second["region"];
  return absl::NotFoundError(
      "no AWS region: set `aws_region` (ds.toml, or DS_AWS_REGION) or AWS_REGION; the Cognito "
      "step needs it to find the user pool");
}

std::string AwsEndpoint(const Env& env, std::string_view service_env_suffix,
                        std::string_view host_prefix, std::string_view region) {
  std::string url = EnvValue(env, StrCat("AWS_ENDPOINT_URL_", service_env_suffix));
  if (url.empty()) url = EnvValue(env, "AWS_ENDPOINT_URL");
  if (url.empty()) url = StrCat("https://", host_prefix, ".", region, ".amazonaws.com");
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace ds::daemon::external
