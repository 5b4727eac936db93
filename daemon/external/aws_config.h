// Where AWS credentials, region and endpoint come from, as the AWS SDKs and
// CLI find them: the caller's environment first (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), else the shared credentials
// file (~/.aws/credentials or AWS_SHARED_CREDENTIALS_FILE) at the profile
// AWS_PROFILE names ("default" otherwise). `env` is what the caller
// forwarded (or the workspace .env set), never dsd's own environment: one
// dsd serves every workspace and every shell.
#ifndef DS_DAEMON_EXTERNAL_AWS_CONFIG_H_
#define DS_DAEMON_EXTERNAL_AWS_CONFIG_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/config.h"

namespace ds::daemon::external {

using Env = std::map<std::string, std::string>;

// The value of `name` in `env`; empty when it is not set.
std::string EnvValue(const Env& env, std::string_view name);

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;  // secret
  std::string session_token;      // secret; empty for long-term keys
  // Where they came from, for messages: "AWS_ACCESS_KEY_ID",
  // "/home/me/.aws/credentials [dev]".
  std::string source;
};

// `home` is the user's home directory (dsd's, which is the caller's: dsd
// serves its own user only). NotFound names every place looked at.
absl::StatusOr<AwsCredentials> FindAwsCredentials(const Env& env, const std::string& home);

// The credentials of [profile] in a shared credentials file's `text`
// (named `file` in messages and the source). Errors name the profile and
// the file, never a value from it.
absl::StatusOr<AwsCredentials> AwsCredentialsFromFile(std::string_view text,
                                                      const std::string& file,
                                                      const std::string& profile);

// The region: the `aws_region` setting, else AWS_REGION, else
// AWS_DEFAULT_REGION, else the profile's region in ~/.aws/config.
absl::StatusOr<std::string> FindAwsRegion(const common::Config& config, const Env& env,
                                          const std::string& home);

// The service's base URL: AWS_ENDPOINT_URL_<SERVICE> (e.g.
// AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER), else AWS_ENDPOINT_URL, else
// https://<host_prefix>.<region>.amazonaws.com. No trailing slash.
std::string AwsEndpoint(const Env& env, std::string_view service_env_suffix,
                        std::string_view host_prefix, std::string_view region);

// The sections of an INI file as the AWS tools write them:
// "[name]" -> key -> value; comments (# ;) and blank lines skipped.
std::map<std::string, std::map<std::string, std::string>> ParseAwsIni(std::string_view text);

}  // namespace ds::daemon::external

#endif  // DS_DAEMON_EXTERNAL_AWS_CONFIG_H_
