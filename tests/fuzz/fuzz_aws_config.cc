// The AWS shared config/credentials file reader (daemon/external/
// aws_config): ParseAwsIni and AwsCredentialsFromFile. The input is the
// file. Properties:
//   - ParseAwsIni round-trips: its sections written back as "[name]" and
//     "key = value" lines parse to the same sections;
//   - for [default] and each profile the file names, AwsCredentialsFromFile
//     returns exactly that section's keys, or an error; and no secret of
//     the file (any section's aws_secret_access_key or aws_session_token)
//     appears in an error message or in the credentials' `source`, except
//     where the same text is there without the secret (a secret that is a
//     word of the message's prose, or the profile's own name: the controls
//     below are the messages for an empty file and for an empty profile).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/strings.h"
#include "daemon/external/aws_config.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using ds::StrAppend;
using ds::StrCat;
using ds::daemon::external::AwsCredentials;
using ds::daemon::external::AwsCredentialsFromFile;
using ds::daemon::external::ParseAwsIni;
using ds::fuzz::Fail;
using Ini = std::map<std::string, std::map<std::string, std::string>>;

const std::string kFile = "/home/me/.aws/credentials";
constexpr size_t kMaxProfiles = 8;  // enough to reach every kind of section

std::string WriteIni(const Ini& ini) {
  std::string out;
  for (const auto& [section, keys] : ini) {
    StrAppend(&out, "[", section, "]\n");
    for (const auto& [k, v] : keys) StrAppend(&out, k, " = ", v, "\n");
  }
  return out;
}

std::string Shown(const absl::StatusOr<AwsCredentials>& c) {
  return c.ok() ? c->source : std::string(c.status().message());
}

void CheckProfile(std::string_view text, const Ini& ini, const std::string& profile,
                  const std::vector<std::string>& secrets) {
  absl::StatusOr<AwsCredentials> c = AwsCredentialsFromFile(text, kFile, profile);
  const std::string shown = Shown(c);
  const std::string control_missing = Shown(AwsCredentialsFromFile("", kFile, profile));
  const std::string control_empty =
      Shown(AwsCredentialsFromFile(StrCat("[", profile, "]\n"), kFile, profile));
  for (const std::string& secret : secrets) {
    if (shown.find(secret) == std::string::npos) continue;
    if (control_missing.find(secret) != std::string::npos ||
        control_empty.find(secret) != std::string::npos) {
      continue;  // the prose or the profile's name, not the secret
    }
    Fail("a secret of the credentials file is shown",
         StrCat("profile [", profile, "], secret '", secret, "' in: ", shown));
  }
  auto it = ini.find(profile);
  auto value = [&](const char* key) {
    if (it == ini.end()) return std::string();
    auto k = it->second.find(key);
    return k == it->second.end() ? std::string() : k->second;
  };
  const bool complete =
      !value("aws_access_key_id").empty() && !value("aws_secret_access_key").empty();
  if (!c.ok()) {
    if (complete)
      Fail("a complete profile was refused", StrCat(profile, ": ", c.status().ToString()));
    return;
  }
  if (it == ini.end()) Fail("credentials for a profile the file lacks", profile);
  if (c->access_key_id != value("aws_access_key_id") ||
      c->secret_access_key != value("aws_secret_access_key") ||
      c->session_token != value("aws_session_token")) {
    Fail("credentials that are not the profile's keys", profile);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const Ini ini = ParseAwsIni(text);
  const std::string written = WriteIni(ini);
  const Ini again = ParseAwsIni(written);
  if (again != ini) Fail("ParseAwsIni does not read its sections back the same", written);

  std::vector<std::string> secrets;
  for (const auto& [section, keys] : ini) {
    for (const char* key : {"aws_secret_access_key", "aws_session_token"}) {
      auto it = keys.find(key);
      if (it != keys.end() && !it->second.empty()) secrets.push_back(it->second);
    }
  }
  std::vector<std::string> profiles = {"default"};
  for (const auto& [section, keys] : ini) {
    if (profiles.size() > kMaxProfiles) break;
    if (section != "default") profiles.push_back(section);
  }
  for (const std::string& profile : profiles) CheckProfile(text, ini, profile, secrets);
  return 0;
}
