#include "daemon/workspace/known_workspaces.h"

#include <sstream>
#include <system_error>

#include "common/atomic_file.h"
#include "common/log.h"

namespace ds::daemon {

KnownWorkspaces::KnownWorkspaces(std::filesystem::path file) : file_(std::move(file)) {
  if (file_.empty()) return;
  absl::StatusOr<std::string> text = common::ReadFile(file_);
  if (!text.ok()) return;  // none known yet
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.front() == '/') dirs_.insert(line);
  }
}

void KnownWorkspaces::Add(const std::string& dir) {
  std::string text;
  {
    std::lock_guard lock(mu_);
    if (!dirs_.insert(dir).second || file_.empty()) return;
    for (const std::string& d : dirs_) text += d + "\n";
    // Written under the lock so that two new workspaces at once cannot
    // leave the older list on disk.
    absl::Status s =
        common::ReplaceFileAtomically(file_, text, 0600, common::Durability::kProcessCrash);
    if (!s.ok()) common::LogWarning("cannot record the known workspaces: ", s.message());
  }
}

std::vector<std::string> KnownWorkspaces::List() const {
  std::vector<std::string> out;
  std::lock_guard lock(mu_);
  for (const std::string& d : dirs_) {
    std::error_code ec;
    if (std::filesystem::is_directory(d, ec)) out.push_back(d);
  }
  return out;
}

}  // namespace ds::daemon
