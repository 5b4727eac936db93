#include "client/github_token.h"

#include <array>
#include <cstdio>

#include "common/strings.h"

namespace ds::client {

std::string GhAuthToken() {
  FILE* p = ::popen("gh auth token 2>/dev/null", "r");
  if (!p) return {};
  std::string out;
  std::array<char, 256> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  if (::pclose(p) != 0) return {};
  return std::string(TrimAsciiWhitespace(out));
}

void ForwardGitHubToken(v1::WorkspaceRef* workspace) {
  auto& env = *workspace->mutable_overrides()->mutable_environment();
  if (env.find("GITHUB_TOKEN") != env.end()) return;
  if (std::string token = GhAuthToken(); !token.empty()) env["GITHUB_TOKEN"] = std::move(token);
}

}  // namespace ds::client
