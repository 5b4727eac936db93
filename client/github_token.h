// The GitHub token ds forwards to dsd with a request that may call GitHub
// (refresh-staging; audit's pull-request check): GITHUB_TOKEN from this
// shell when set, else the GitHub CLI's login. Looked up here, not in dsd,
// because gh's login belongs to this shell's user and host.
#ifndef DS_CLIENT_GITHUB_TOKEN_H_
#define DS_CLIENT_GITHUB_TOKEN_H_

#include <string>

#include "ds/v1/common.pb.h"

namespace ds::client {

// `gh auth token`'s output; empty when gh is missing or logged out.
std::string GhAuthToken();

// Adds GITHUB_TOKEN to the workspace's forwarded environment from gh when
// the shell did not set one (a .env's token, read by dsd, still wins over
// nothing).
void ForwardGitHubToken(v1::WorkspaceRef* workspace);

}  // namespace ds::client

#endif  // DS_CLIENT_GITHUB_TOKEN_H_
