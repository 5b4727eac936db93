// Who owns a branch and what kind it is, read from its name with the
// naming scheme of `branch_pattern` ("dev-{developer}-{stage}" by default):
//   default  the provider's default branch, or one called "main"
//   local    {stage} = "local": a developer's own branch (dev-phil-local)
//   ci       {developer} = "ci" and {stage} = "pr-<n>" (dev-ci-pr-42)
//   cloud    any other stage: a developer's branch for a git branch
//            (dev-phil-feature-x is git branch feature-x)
//   other    a name the pattern does not match
#ifndef DS_DAEMON_AUDIT_NAMING_H_
#define DS_DAEMON_AUDIT_NAMING_H_

#include <string>
#include <string_view>

namespace ds::daemon::audit {

enum class BranchKind { kDefault, kLocal, kCloud, kCi, kOther };

const char* BranchKindName(BranchKind kind);  // "default", "local", ...

struct ParsedName {
  BranchKind kind = BranchKind::kOther;
  std::string owner;  // the developer; "ci" for CI branches; "" otherwise
  std::string stage;  // what {stage} matched; for cloud, the git branch's slug
  int pr = 0;         // CI branches: the pull request number
};

// `pattern` holds {developer} and/or {stage}. When both could split a
// name several ways, {developer} takes the shortest part that leaves a
// match ("dev-phil-feature-x": developer phil, stage feature-x), since
// developers are slugs while stages name git branches that often hold
// dashes.
ParsedName ParseBranchName(std::string_view pattern, std::string_view name, bool is_default);

// A git branch name as it appears in a branch name: lower case, every run
// of characters other than letters and digits as one '-', none at the
// ends ("feature/Login_Form" -> "feature-login-form").
std::string GitBranchSlug(std::string_view git_branch);

}  // namespace ds::daemon::audit

#endif  // DS_DAEMON_AUDIT_NAMING_H_
