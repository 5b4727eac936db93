// The branches a git repository knows, read from its files: refs/heads and
// refs/remotes (loose files and packed-refs), without running git. Audit
// uses them to tell whether a cloud branch's git branch still exists.
#ifndef DS_DAEMON_AUDIT_GIT_REFS_H_
#define DS_DAEMON_AUDIT_GIT_REFS_H_

#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"

namespace ds::daemon::audit {

struct GitBranches {
  std::filesystem::path git_dir;  // the common dir holding refs/
  std::set<std::string> local;    // "feature/x"
  std::set<std::string> remote;   // "origin/feature/x" (no "origin/HEAD")
};

// The repository holding `dir` (walking up to the first .git), or nullopt
// when `dir` is in none. A .git file (a worktree, a submodule) is
// followed to its git dir and from there to the common dir.
std::optional<std::filesystem::path> FindGitDir(const std::filesystem::path& dir);

// Every local and remote-tracking branch of the repository at `git_dir`.
absl::StatusOr<GitBranches> ReadGitBranches(const std::filesystem::path& git_dir);

}  // namespace ds::daemon::audit

#endif  // DS_DAEMON_AUDIT_GIT_REFS_H_
