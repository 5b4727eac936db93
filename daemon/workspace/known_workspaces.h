// The workspaces dsd has served, kept in <state dir>/workspaces (one
// absolute path a line) so that a restarted dsd still knows them: audit
// and prune read their .env files (which branches are in use) and their
// git repositories (which git branches exist).
#ifndef DS_DAEMON_WORKSPACE_KNOWN_WORKSPACES_H_
#define DS_DAEMON_WORKSPACE_KNOWN_WORKSPACES_H_

#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace ds::daemon {

class KnownWorkspaces {
 public:
  // Reads `file` (missing = none known yet); "" keeps the list in memory.
  explicit KnownWorkspaces(std::filesystem::path file);

  // Records `dir`; the file is rewritten only when it is new, so the
  // usual call is a set lookup.
  void Add(const std::string& dir);
  // Sorted; directories that no longer exist are left out (and kept in
  // the file: a moved checkout may come back).
  std::vector<std::string> List() const;

 private:
  const std::filesystem::path file_;
  mutable std::mutex mu_;
  std::set<std::string> dirs_;
};

}  // namespace ds::daemon

#endif  // DS_DAEMON_WORKSPACE_KNOWN_WORKSPACES_H_
